"""Device detection, compute metering and per-bank quotas.

The real sandbox allocates supercomputer time per project; this is that
ledger. Every run records device, wall and CPU seconds to
`state/usage/<bank>.jsonl`; a job that would start with the bank's usage at
or over its quota is refused before it does any work.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .audit import AuditLog
from .errors import QuotaExceeded


@functools.lru_cache(maxsize=1)
def detect_device() -> str:
    """'cuda' when an NVIDIA GPU answers, else 'cpu'. SANDBOX_DEVICE overrides.

    Asks nvidia-smi rather than importing torch, which would cost seconds on every CLI call.
    """
    forced = os.environ.get("SANDBOX_DEVICE", "").strip().lower()
    if forced in ("cpu", "cuda"):
        return forced
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and "GPU" in out.stdout:
                return "cuda"
        except (OSError, subprocess.TimeoutExpired):
            pass
    return "cpu"


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Meter:
    device: str = field(default_factory=detect_device)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    _t0: float = 0.0
    _c0: float = 0.0

    def __enter__(self) -> "Meter":
        self._t0, self._c0 = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.cpu_s = _cpu_seconds() - self._c0


class UsageLedger:
    """Append-only usage records per bank (a hash-chained log, like the audit trail)."""

    def __init__(self, usage_dir: Path):
        self.dir = Path(usage_dir)

    def _log(self, bank: str) -> AuditLog:
        return AuditLog(self.dir / f"{bank}.jsonl")

    def record(self, bank: str, actor: str, *, usecase: str, run_id: str | None, meter: Meter) -> None:
        self._log(bank).append("compute", actor, usecase=usecase, run_id=run_id, device=meter.device,
                               wall_s=round(meter.wall_s, 4), cpu_s=round(meter.cpu_s, 4))

    def usage(self, bank: str) -> dict:
        total = {"bank": bank, "runs": 0, "wall_s": 0.0, "cpu_s": 0.0, "by_device": {}, "by_usecase": {}}
        for e in self._log(bank).entries():
            d = e["data"]
            total["runs"] += 1
            total["wall_s"] += d["wall_s"]
            total["cpu_s"] += d["cpu_s"]
            total["by_device"][d["device"]] = total["by_device"].get(d["device"], 0.0) + d["wall_s"]
            total["by_usecase"][d["usecase"]] = total["by_usecase"].get(d["usecase"], 0.0) + d["wall_s"]
        total["wall_s"] = round(total["wall_s"], 3)
        total["cpu_s"] = round(total["cpu_s"], 3)
        return total


def check_quota(bank: str, used_s: float, quota_s: float | None) -> None:
    """Refuse to start when the bank has used its compute allocation (wall seconds)."""
    if quota_s is not None and used_s >= quota_s:
        raise QuotaExceeded(
            f"bank {bank} has used {used_s:.1f} of its {quota_s:.1f} compute seconds; the job was not started",
            "ask an admin to raise it: `sandbox quota set BANK --seconds N`")


def usage_summary(usage: dict, quota_s: float | None) -> dict:
    out = dict(usage)
    out["quota_s"] = quota_s
    out["remaining_s"] = None if quota_s is None else round(max(quota_s - usage["wall_s"], 0.0), 3)
    return out

