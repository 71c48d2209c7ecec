"""The bank's working copy of its risk models, without pickle, with a bank-stamped sidecar.

Layout inside the workspace (reached only through `ctx.path`):

    risk/models/<run_id>/xgboost.ubj      XGBoost's own binary format
    risk/models/<run_id>/scorecard.json   splits and points per variable (no OptBinning object)
    risk/models/<run_id>/model.json       sidecar: bank, run id, checksums, calibration, cut-offs

Which run is live is not a file here: it is the champion in the bank's ledger
(sandbox/lifecycle.py), promoted after a reviewer's approval. A sidecar stamped
with another bank or another run, or a file whose checksum does not match, is
refused. An interrupted save leaves a half-written folder of a run that was
never registered, and the champion untouched.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.atomic import write_bytes, write_json
from sandbox.crashpoint import crash_point
from sandbox.errors import SandboxError

from . import xgb as xgb_mod
from .scorecard import PointsTable

FORMAT = "risk-model/1"
_cache: dict[str, tuple] = {}
_lock = threading.Lock()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save(ctx, run_id: str, xgb_bytes: bytes, scorecard_spec: dict, meta: dict[str, Any]) -> dict:
    folder = ctx.path("risk", "models", run_id, create=True)
    sc_bytes = json.dumps(scorecard_spec, sort_keys=True).encode()
    write_bytes(folder / "xgboost.ubj", xgb_bytes)
    write_bytes(folder / "scorecard.json", sc_bytes)
    sidecar = {
        "format": FORMAT,
        "bank": ctx.bank,
        "run_id": run_id,
        "files": {"xgboost.ubj": _sha(xgb_bytes), "scorecard.json": _sha(sc_bytes)},
        **meta,
    }
    crash_point("risk.model.before_current")  # (the sidecar is written last: a folder without one is no model)
    write_json(folder / "model.json", sidecar)
    return sidecar


@dataclass
class LoadedModels:
    sidecar: dict
    xgboost: xgb_mod.XgbModel
    scorecard: PointsTable
    version: str = ""
    stage: str = ""  # champion, candidate ... (sandbox/lifecycle.py)

    @property
    def run_id(self) -> str:
        return self.sidecar["run_id"]


def _refuse(what: str) -> SandboxError:
    return SandboxError(f"risk model refused: {what}", "retrain in this bank: `sandbox risk train BANK`")


def _stamp(path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def load(ctx, version: str | int | None = None) -> LoadedModels:
    """The bank's champion models (or a registered `version`'s), cached while unchanged; refuses files stamped with
    another bank or run, or tampered. No champion: a one-line error naming `sandbox models promote`."""
    from dataclasses import replace

    from sandbox import lifecycle

    if version is None:
        hit = _champion_hit(ctx)
        if hit is not None:
            return hit
    mv = lifecycle.resolve(ctx, "risk", version)
    run_id = mv.run_id
    if not run_id.isalnum():
        raise _refuse(f"{run_id!r} is not a run id")
    folder = ctx.path("risk", "models", run_id)
    side_path = folder / "model.json"
    s_stamp = _stamp(side_path)
    if s_stamp is None:
        raise _refuse(f"model folder of run {run_id} (v{mv.version}) has no sidecar")
    key = str(side_path)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[1] == s_stamp:
        return _remember(ctx, version, replace(hit[0], version=mv.version, stage=mv.stage), side_path, s_stamp)
    try:
        sidecar = json.loads(side_path.read_text())
    except json.JSONDecodeError:
        raise _refuse(f"the sidecar of run {run_id} is not valid JSON") from None
    if sidecar.get("format") != FORMAT:
        raise _refuse(f"unknown model format {sidecar.get('format')!r}")
    if sidecar.get("bank") != ctx.bank:
        raise _refuse(f"the model was trained by bank {sidecar.get('bank')!r}, not {ctx.bank}")
    if sidecar.get("run_id") != run_id:
        raise _refuse(f"the sidecar in run {run_id}'s folder names run {sidecar.get('run_id')!r}")
    blobs = {}
    for name, digest in sidecar["files"].items():
        data = (folder / name).read_bytes()
        if _sha(data) != digest:
            raise _refuse(f"{name} does not match its checksum")
        blobs[name] = data
    models = LoadedModels(
        sidecar,
        xgb_mod.load(blobs["xgboost.ubj"], sidecar["calibration"]),
        PointsTable(json.loads(blobs["scorecard.json"])),
        mv.version,
        mv.stage,
    )
    with _lock:
        while len(_cache) >= 8:  # a few banks per process at most
            _cache.pop(next(iter(_cache)))
        _cache[key] = (models, s_stamp)
    return _remember(ctx, version, models, side_path, s_stamp)


# The champion's loaded models per bank, keyed by the ledger's champion entry (its State object: a promotion or a
# rollback appends a new one) and the sidecar's stamp, so an explain call skips resolving the version afresh.
_champions: dict[str, tuple[Any, LoadedModels, Any, tuple[int, int]]] = {}


def _champion_state(ctx) -> Any:
    """The ledger's latest champion entry for risk (read incrementally; lifecycle.champion's access check)."""
    from sandbox import ledger

    ctx.require("models.read")
    return ledger.read(ctx.audit_log.path).state("champion", "risk")


def _champion_hit(ctx) -> LoadedModels | None:
    with _lock:
        entry = _champions.get(str(ctx.audit_log.path))
    if entry is None:
        return None
    state, models, side_path, stamp = entry
    if _champion_state(ctx) is not state or _stamp(side_path) != stamp:
        return None
    return models


def _remember(ctx, version: Any, models: LoadedModels, side_path, stamp: tuple[int, int]) -> LoadedModels:
    from sandbox.lifecycle import CHAMPION

    if version is None and models.stage == CHAMPION:
        state = _champion_state(ctx)
        if state is not None and state.state == models.version:
            with _lock:
                while len(_champions) >= 8:
                    _champions.pop(next(iter(_champions)))
                _champions[str(ctx.audit_log.path)] = (state, models, side_path, stamp)
    return models
