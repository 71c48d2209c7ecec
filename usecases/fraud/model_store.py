"""The scoring models in the bank's workspace: XGBoost UBJ plus a JSON sidecar, never a pickle.

One folder per run (`fraud/models/<run_id>/detector.ubj` and `detector.json`), so every registered version
keeps its model; scoring loads the champion's (sandbox/lifecycle.py: the ledger says which version is the
champion and which run it came from), or an explicit version a scientist names.

The sidecar names the bank, the run that produced the model, the feature list,
the alert threshold and the SHA-256 of the model file. Loading checks all of
it: a file from another bank, a file whose bytes changed, or a sidecar that
points at a run this bank does not own is refused with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from sandbox import atomic, userfile
from sandbox.crashpoint import crash_point
from sandbox.errors import InvalidInput, NotFound, SandboxError

MODEL_FILE = "detector.ubj"
SIDECAR_FILE = "detector.json"
FORMAT = "sandbox-fraud-model/1"
MAX_MODEL_BYTES = 1 << 30  # a user-named model file is read whole; a sandbox model is a few MB
MAX_SIDECAR_BYTES = 1 << 20
RUN_TAG_SHA = "fraud.model_sha256"


class ModelRefused(SandboxError):
    exit_code = 3


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder(ctx, run_id: str, create: bool = False) -> Path:
    if not run_id or not run_id.isalnum():
        raise ModelRefused(f"{run_id!r} is not a run id", f"train a model: `sandbox fraud train {ctx.bank}`")
    return ctx.path("fraud", "models", run_id, create=create)


def save(ctx, booster, sidecar: dict) -> dict:
    """Model, then sidecar, each by rename, in the run's own folder. The new sidecar is written first as
    `detector.json.new`, so a save killed between the two renames leaves a model whose sidecar is still at hand
    (`_pending_sidecar`)."""
    raw = bytes(booster.save_raw(raw_format="ubj"))
    info = dict(sidecar, format=FORMAT, bank=ctx.bank, model_file=MODEL_FILE, sha256=sha256(raw))
    folder = _folder(ctx, str(sidecar["run_id"]), create=True)
    side = folder / SIDECAR_FILE
    pending = side.with_name(SIDECAR_FILE + ".new")
    atomic.write_json(pending, info)
    atomic.write_bytes(folder / MODEL_FILE, raw)
    crash_point("fraud.model.between_files")
    os.replace(pending, side)
    return info


def _pending_sidecar(ctx, raw: bytes, folder: Path) -> dict | None:
    """The sidecar of a save killed between its model and sidecar renames, if it is this bank's and vouches for
    exactly these model bytes; else None (and the model is refused as before)."""
    try:
        info = json.loads((folder / (SIDECAR_FILE + ".new")).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    ok = isinstance(info, dict) and info.get("format") == FORMAT and info.get("bank") == ctx.bank
    return info if ok and info.get("sha256") == sha256(raw) else None


def sidecar_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def _read_user_model(ctx, path: Path) -> tuple[bytes | None, bytes]:
    """(sidecar bytes or None, model bytes) of a model file the user names (`--model`): each file opened once and
    checked by its descriptor, then read from it. A path into another bank's workspace is refused the same way
    whether or not the file exists (no existence oracle); a refusal is audited."""
    try:
        model = ctx.user_file(path, "model")
    except userfile.FileMissing:
        raise NotFound(f"model file {path} does not exist", "check the path") from None
    with model:
        if model.size > MAX_MODEL_BYTES:
            raise ModelRefused(
                f"model file {path.name} is {model.size:,} bytes, more than a sandbox model ({MAX_MODEL_BYTES:,})",
                "use a model saved by `sandbox fraud train`",
            )
        try:
            side = ctx.user_file(sidecar_path(path), "model")
        except userfile.FileMissing:
            return None, b""
        with side:
            side_raw = side.read_bytes(MAX_SIDECAR_BYTES)
        if len(side_raw) > MAX_SIDECAR_BYTES:
            raise ModelRefused(
                f"sidecar {side.name} is too large for a model sidecar", "use a model saved by `sandbox fraud train`"
            )
        return side_raw, model.read_bytes()


def load(ctx, model_path: str | Path | None = None, version: str | int | None = None):
    """(booster, sidecar) of this bank's champion, of its registered `version`, or of a model file the user
    names (`model_path`); refuses anything else. The sidecar returned says which: `model_version` and
    `model_stage` (champion, candidate ...; "file" for a named file)."""
    import xgboost as xgb

    mv, path, side_raw, raw = _locate(ctx, model_path, version)
    info = _read_sidecar(path, side_raw)
    owner = info.get("bank")
    if owner != ctx.bank:
        ctx.audit("fraud.model.refused", reason="other bank", model_bank=str(owner)[:64])
        raise ModelRefused(
            f"model file {path.name} belongs to bank {owner}, not {ctx.bank}",
            f"score with your own bank's model (train one: `sandbox fraud train {ctx.bank}`)",
        )
    if raw is None:
        raw = path.read_bytes()
    if sha256(raw) != info.get("sha256") and model_path is None:
        info = _pending_sidecar(ctx, raw, path.parent) or info  # a save killed between its two renames
    if sha256(raw) != info.get("sha256"):
        ctx.audit("fraud.model.refused", reason="checksum mismatch")
        raise ModelRefused(
            f"model file {path.name} does not match its checksum", "the file changed after training; train again"
        )
    _check_run(ctx, path, info, mv)
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    info = dict(info, model_version=mv.version if mv else "", model_stage=mv.stage if mv else "file")
    return booster, info


def _locate(ctx, model_path, version):
    """(version, model path, sidecar bytes, model bytes or None) of the model `load` was asked for; the model's
    bytes are read later, once its sidecar passed, unless the user named the file."""
    from sandbox import lifecycle

    mv = None
    if model_path is not None and version is not None:
        raise InvalidInput("version", "a version and a model file were both given", "give one of --version and --model")
    if model_path is None:
        mv = lifecycle.resolve(ctx, "fraud", version)  # None: the champion, or a one-line error naming the command
        path = _folder(ctx, mv.run_id) / MODEL_FILE
        if not path.exists():
            raise NotFound(
                f"the model file of fraud v{mv.version} (run {mv.run_id}) is not in bank {ctx.bank}'s workspace",
                f"train again: `sandbox fraud train {ctx.bank}`",
            )
        side = sidecar_path(path)
        return mv, path, (side.read_bytes() if side.exists() else None), None
    path = Path(model_path)
    if path.suffix == ".json":
        path = path.with_suffix(".ubj")
    side_raw, raw = _read_user_model(ctx, path)
    return mv, path, side_raw, raw


def _read_sidecar(path: Path, side_raw: bytes | None) -> dict:
    """The sidecar's JSON, refused unless it is a sandbox fraud model sidecar."""
    side = sidecar_path(path)
    if side_raw is None:
        raise ModelRefused(
            f"model file {path.name} has no sidecar {side.name} (bank, features, checksum)",
            "use a model saved by `sandbox fraud train`",
        )
    try:
        info = json.loads(side_raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelRefused(
            f"sidecar {side.name} is not valid JSON", "use a model saved by `sandbox fraud train`"
        ) from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ModelRefused(
            f"{side.name} is not a sandbox fraud model sidecar", "use a model saved by `sandbox fraud train`"
        )
    return info


def _check_run(ctx, path: Path, info: dict, mv) -> None:
    """Refuse (and audit) a model whose run is not this bank's, whose run recorded another checksum, or that is
    not the run of the version asked for."""
    try:
        run = ctx.get_run(str(info.get("run_id")))
    except NotFound:
        ctx.audit("fraud.model.refused", reason="run not in bank")
        raise ModelRefused(
            f"model file {path.name} names run {info.get('run_id')}, which is not a run of {ctx.bank}",
            f"score with your own bank's model (train one: `sandbox fraud train {ctx.bank}`)",
        ) from None
    if run.data.tags.get(RUN_TAG_SHA) != info["sha256"]:
        ctx.audit("fraud.model.refused", reason="run checksum mismatch")
        raise ModelRefused(
            f"model file {path.name} is not the model run {info.get('run_id')} recorded",
            f"score with your own bank's model (train one: `sandbox fraud train {ctx.bank}`)",
        )
    if mv is not None and info.get("run_id") != mv.run_id:
        ctx.audit("fraud.model.refused", reason="not the version's run")
        raise ModelRefused(
            f"the model file of fraud v{mv.version} names run {info.get('run_id')}, not {mv.run_id}",
            f"train again: `sandbox fraud train {ctx.bank}`",
        )
