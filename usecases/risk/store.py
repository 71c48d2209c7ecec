"""The bank's working copy of its risk models, without pickle, with a bank-stamped sidecar.

Layout inside the workspace (reached only through `ctx.path`):

    risk/models/<run_id>/xgboost.ubj      XGBoost's own binary format
    risk/models/<run_id>/scorecard.json   splits and points per variable (no OptBinning object)
    risk/models/<run_id>/model.json       sidecar: bank, run id, checksums, calibration, cut-offs
    risk/models/current.json              which run is live (rewritten atomically last)

A sidecar stamped with another bank, or a file whose checksum does not
match, is refused. An interrupted save leaves `current.json` on the previous
good model.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.atomic import write_bytes, write_json
from sandbox.crashpoint import crash_point
from sandbox.errors import NotFound, SandboxError

from . import xgb as xgb_mod
from .scorecard import PointsTable

FORMAT = "risk-model/1"
_cache: dict[str, tuple] = {}
_pointers: dict[str, object] = {}
_lock = threading.Lock()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save(ctx, run_id: str, xgb_bytes: bytes, scorecard_spec: dict, meta: dict[str, Any]) -> dict:
    folder = ctx.path("risk", "models", run_id, create=True)
    sc_bytes = json.dumps(scorecard_spec, sort_keys=True).encode()
    write_bytes(folder / "xgboost.ubj", xgb_bytes)
    write_bytes(folder / "scorecard.json", sc_bytes)
    sidecar = {"format": FORMAT, "bank": ctx.bank, "run_id": run_id,
               "files": {"xgboost.ubj": _sha(xgb_bytes), "scorecard.json": _sha(sc_bytes)}, **meta}
    write_json(folder / "model.json", sidecar)
    crash_point("risk.model.before_current")
    write_json(ctx.path("risk", "models", "current.json", create=True), {"bank": ctx.bank, "run_id": run_id})
    return sidecar


@dataclass
class LoadedModels:
    sidecar: dict
    xgboost: xgb_mod.XgbModel
    scorecard: PointsTable

    @property
    def run_id(self) -> str:
        return self.sidecar["run_id"]


def _refuse(what: str) -> SandboxError:
    return SandboxError(f"risk model refused: {what}", "retrain in this bank: `sandbox risk train BANK`")


def _pointer(ctx):
    """The bank's current.json path, resolved through ctx.path once per workspace root."""
    key = str(ctx.root)
    hit = _pointers.get(key)
    if hit is None:
        hit = _pointers[key] = ctx.path("risk", "models", "current.json")
    return hit


def _stamp(path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def load(ctx) -> LoadedModels:
    """The bank's live models (cached while unchanged); refuses files stamped with another bank or tampered."""
    pointer = _pointer(ctx)
    p_stamp = _stamp(pointer)
    if p_stamp is None:
        raise NotFound(f"bank {ctx.bank} has no trained risk model", f"train one: `sandbox risk train {ctx.bank}`")
    with _lock:
        hit = _cache.get(str(pointer))
    if hit is not None:
        models, stamps, side_path = hit
        if stamps == (p_stamp, _stamp(side_path)):
            return models
    try:
        current = json.loads(pointer.read_text())
    except json.JSONDecodeError:
        raise _refuse("models/current.json is not valid JSON") from None
    if current.get("bank") != ctx.bank:
        raise _refuse(f"models/current.json belongs to bank {current.get('bank')!r}, not {ctx.bank}")
    run_id = str(current.get("run_id", ""))
    folder = ctx.path("risk", "models", run_id)
    side_path = folder / "model.json"
    s_stamp = _stamp(side_path)
    if s_stamp is None:
        raise _refuse(f"model folder of run {run_id} has no sidecar")
    sidecar = json.loads(side_path.read_text())
    if sidecar.get("format") != FORMAT:
        raise _refuse(f"unknown model format {sidecar.get('format')!r}")
    if sidecar.get("bank") != ctx.bank:
        raise _refuse(f"the model was trained by bank {sidecar.get('bank')!r}, not {ctx.bank}")
    blobs = {}
    for name, digest in sidecar["files"].items():
        data = (folder / name).read_bytes()
        if _sha(data) != digest:
            raise _refuse(f"{name} does not match its checksum")
        blobs[name] = data
    models = LoadedModels(sidecar, xgb_mod.load(blobs["xgboost.ubj"], sidecar["calibration"]),
                          PointsTable(json.loads(blobs["scorecard.json"])))
    with _lock:
        while len(_cache) >= 8:  # a few banks per process at most
            _cache.pop(next(iter(_cache)))
        _cache[str(pointer)] = (models, (p_stamp, s_stamp), side_path)
    return models
