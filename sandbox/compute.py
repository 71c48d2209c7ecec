"""Device detection, compute metering and per-bank quotas.

The real sandbox allocates supercomputer time per project; this is that
ledger. Every piece of work a bank's users start (training and evaluation
runs, and outside runs: simulations, imports, ingests, questions, scores,
explanations) records who did it, what kind of work, device, wall and CPU
seconds (GPU seconds on a GPU host) to `state/usage/<bank>.jsonl`. Work that
would start with the bank's usage at or over its quota is refused before it
does any, with the usage and the limit in the message.

Nested work is counted once: the outermost metered block records it (a
simulation that runs inside an evaluation is the evaluation's time).
"""

from __future__ import annotations

import atexit
import csv
import functools
import io
import json
import os
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .audit import AuditLog
from .errors import AccessDenied, QuotaExceeded


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

    def __enter__(self) -> Meter:
        self._t0, self._c0 = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.cpu_s = _cpu_seconds() - self._c0


WORK_KINDS: tuple[str, ...] = ("run", "simulate", "import", "ingest", "ask", "score", "explain", "evaluate")
_DEPTH = threading.local()  # metered blocks open in this thread: only the outermost records


def gpu_seconds(device: str, wall_s: float) -> float:
    """Seconds of work run on a GPU host's device (the whole wall time: the centre bills the device while it is held)."""
    return wall_s if device == "cuda" else 0.0


@contextmanager
def outermost() -> Iterator[bool]:
    """True for the outermost metered block of this thread; nested work is already being counted."""
    depth = getattr(_DEPTH, "n", 0)
    _DEPTH.n = depth + 1
    try:
        yield depth == 0
    finally:
        _DEPTH.n = depth


class _Totals:
    __slots__ = ("ident", "offset", "data")

    def __init__(self) -> None:
        self.ident: tuple[int, int] | None = None
        self.offset = 0
        self.data = _empty()


def _empty() -> dict:
    return {
        "runs": 0,
        "jobs": 0,
        "wall_s": 0.0,
        "cpu_s": 0.0,
        "gpu_s": 0.0,
        "by_device": {},
        "by_usecase": {},
        "by_kind": {},
        "by_user": {},
    }


def _add(total: dict, d: dict, actor: str) -> None:
    kind = d.get("kind", "run")
    wall, cpu = float(d.get("wall_s", 0.0)), float(d.get("cpu_s", 0.0))
    total["runs" if kind == "run" else "jobs"] += 1
    total["wall_s"] += wall
    total["cpu_s"] += cpu
    total["gpu_s"] += float(d.get("gpu_s", gpu_seconds(d.get("device", "cpu"), wall)))
    for key, name in (
        ("by_device", d.get("device", "cpu")),
        ("by_usecase", d.get("usecase", "")),
        ("by_kind", kind),
        ("by_user", actor),
    ):
        total[key][name] = total[key].get(name, 0.0) + wall


_TOTALS: dict[str, _Totals] = {}
_TOTALS_LOCK = threading.Lock()


class UsageLedger:
    """Append-only usage records per bank (a hash-chained log, like the audit trail)."""

    def __init__(self, usage_dir: Path):
        self.dir = Path(usage_dir)

    def _log(self, bank: str) -> AuditLog:
        return AuditLog(self.dir / f"{bank}.jsonl")

    def record(
        self,
        bank: str,
        actor: str,
        *,
        usecase: str,
        run_id: str | None,
        meter: Meter,
        kind: str = "run",
        units: int = 1,
    ) -> None:
        """One piece of work: `units` things done (rows scored, questions asked) in `meter`'s time."""
        self._log(bank).append(
            "compute",
            actor,
            usecase=usecase,
            kind=kind,
            run_id=run_id,
            device=meter.device,
            wall_s=round(meter.wall_s, 4),
            cpu_s=round(meter.cpu_s, 4),
            gpu_s=round(gpu_seconds(meter.device, meter.wall_s), 4),
            units=int(units),
        )

    def usage(self, bank: str) -> dict:
        """Totals for the bank: runs and other jobs, wall/CPU/GPU seconds, by device, use case, kind and user.
        Kept per process and extended with the lines appended since (a quota check before every question must
        not re-read the whole log)."""
        path = self._log(bank).path
        with _TOTALS_LOCK:
            t = _TOTALS.setdefault(str(path), _Totals())
            try:
                st = os.stat(path)
            except FileNotFoundError:
                t.__init__()
                return self._rounded(bank, t.data)
            if t.ident != (st.st_dev, st.st_ino) or st.st_size < t.offset:
                t.__init__()
                t.ident = (st.st_dev, st.st_ino)
            if st.st_size > t.offset:
                with open(path, "rb") as fh:
                    fh.seek(t.offset)
                    blob = fh.read(st.st_size - t.offset)
                end = blob.rfind(b"\n") + 1  # a line being written is read next time
                for line in blob[:end].splitlines():
                    if line.strip():
                        e = json.loads(line)
                        _add(t.data, e["data"], e.get("actor", ""))
                t.offset += end
            return self._rounded(bank, t.data)

    @staticmethod
    def _rounded(bank: str, data: dict) -> dict:
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
        for k in ("wall_s", "cpu_s", "gpu_s"):
            out[k] = round(out[k], 3)
        for k in ("by_device", "by_usecase", "by_kind", "by_user"):
            out[k] = {name: round(v, 3) for name, v in sorted(out[k].items())}
        return {"bank": bank, **out}

    def records(self, bank: str, since: str | None = None, until: str | None = None) -> list[dict]:
        """Every usage record of the bank with `since <= time < until` (ISO dates or times, UTC), flat rows."""
        rows = []
        for e in self._log(bank).entries():
            ts = e["ts"]
            if (since and ts < since) or (until and ts >= until):
                continue
            d = e["data"]
            rows.append(
                {
                    "time": ts,
                    "bank": bank,
                    "user": e["actor"],
                    "usecase": d.get("usecase", ""),
                    "kind": d.get("kind", "run"),
                    "run_id": d.get("run_id") or "",
                    "device": d.get("device", ""),
                    "wall_s": d.get("wall_s", 0.0),
                    "cpu_s": d.get("cpu_s", 0.0),
                    "gpu_s": d.get("gpu_s", gpu_seconds(d.get("device", ""), d.get("wall_s", 0.0))),
                    "units": d.get("units", 1),
                    "seq": e["seq"],
                    "hash": e["hash"],
                }
            )
        return rows


USAGE_COLUMNS = (
    "time",
    "bank",
    "user",
    "usecase",
    "kind",
    "run_id",
    "device",
    "wall_s",
    "cpu_s",
    "gpu_s",
    "units",
    "seq",
    "hash",
)


def usage_csv(rows: list[dict]) -> str:
    """Usage records as CSV, the record a centre bills or audits against (each row keeps its chain hash)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=USAGE_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in USAGE_COLUMNS})
    return buf.getvalue()


F = TypeVar("F", bound=Callable[..., Any])


def metered(usecase: str, kind: str) -> Callable[[F], F]:
    """Meter a use-case function whose first argument is the bank's workspace context: refused over quota before
    it starts, its time recorded against the bank and the user after (also when it fails: the work was done)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(ctx, *args, **kwargs):
            with ctx.metered(usecase, kind):
                return fn(ctx, *args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


class BatchMeter:
    """Many small pieces of work of one kind (single-applicant explanations) counted in batches: one usage record
    per `FLUSH_N` calls or `FLUSH_S` seconds (and at exit), since a hash-chained append and a quota read per call
    would cost more than the work. Quota is checked when the batch starts and at each flush; once a check finds the
    bank over quota, every later call is refused before it starts (so refusal lags by at most one batch, as a
    long-lived fraud scorer's does). Unflushed work is missing from `usage()` until the flush."""

    FLUSH_N, FLUSH_S = 1_000, 5.0

    def __init__(self, ctx, usecase: str, kind: str):
        self.ctx, self.usecase, self.kind = ctx, usecase, kind
        self.n, self.wall_s, self.cpu_s = 0, 0.0, 0.0
        self.since = time.monotonic()
        self.over: QuotaExceeded | None = None
        self.checked = False
        self.lock = threading.Lock()

    def check(self) -> None:
        """Refuse before any work while the bank is over quota: checked on the first call and at each flush, and on
        every call once over (so a raised quota lets the work start again at once)."""
        if not self.checked or self.over is not None:
            self._check_quota()
        if self.over is not None:
            raise self.over

    def _check_quota(self) -> None:
        self.checked = True
        try:
            self.ctx.check_quota()
            self.over = None
        except QuotaExceeded as err:
            self.over = err

    def add(self, meter: Meter) -> None:
        with self.lock:
            self.n += 1
            self.wall_s += meter.wall_s
            self.cpu_s += meter.cpu_s
            due = self.n >= self.FLUSH_N or time.monotonic() - self.since >= self.FLUSH_S
        if due:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            n, wall_s, cpu_s = self.n, self.wall_s, self.cpu_s
            self.n, self.wall_s, self.cpu_s = 0, 0.0, 0.0
            self.since = time.monotonic()
        if not self.ctx.ledger.dir.parent.exists():  # a store removed meanwhile (a temporary one): nothing to bill
            return
        if n:
            self.ctx.ledger.record(
                self.ctx.bank,
                self.ctx.actor.name,
                usecase=self.usecase,
                run_id=None,
                meter=Meter(wall_s=wall_s, cpu_s=cpu_s),
                kind=self.kind,
                units=n,
            )
        self._check_quota()


_BATCHES: dict[tuple[str, str, str, str, str], BatchMeter] = {}
_BATCHES_LOCK = threading.Lock()


def batch_meter(ctx, usecase: str, kind: str) -> BatchMeter:
    """The process's batch meter of this bank, user and kind of work (flushed at exit)."""
    key = (str(ctx.ledger.dir), ctx.bank, ctx.actor.name, usecase, kind)
    with _BATCHES_LOCK:
        m = _BATCHES.get(key)
        if m is None:
            m = _BATCHES[key] = BatchMeter(ctx, usecase, kind)
    return m


@atexit.register
def flush_batches() -> None:
    """Write every pending batch's usage record (at exit; tests and long-lived apps may call it too)."""
    with _BATCHES_LOCK:
        meters = list(_BATCHES.values())
    for m in meters:
        if m.n:
            m.flush()


def metered_in_batches(usecase: str, kind: str) -> Callable[[F], F]:
    """`metered` for small, frequent work (a single applicant's reason codes): the same refusal over quota and the
    same accounting (outermost block only, nothing for a refusal at the door), recorded per batch (`BatchMeter`)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(ctx, *args, **kwargs):
            with outermost() as first:
                if not first:
                    return fn(ctx, *args, **kwargs)
                batch = batch_meter(ctx, usecase, kind)
                batch.check()
                meter = Meter()
                refused = False
                try:
                    with meter:
                        return fn(ctx, *args, **kwargs)
                except AccessDenied:
                    refused = True
                    raise
                finally:
                    if not refused:
                        batch.add(meter)

        return inner  # type: ignore[return-value]

    return wrap


def check_quota(bank: str, used_s: float, quota_s: float | None) -> None:
    """Refuse to start when the bank has used its compute allocation (wall seconds)."""
    if quota_s is not None and used_s >= quota_s:
        raise QuotaExceeded(
            f"bank {bank} has used {used_s:.1f} of its {quota_s:.1f} compute seconds; the job was not started",
            "ask an admin to raise it: `sandbox quota set BANK --seconds N`",
        )


def usage_summary(usage: dict, quota_s: float | None) -> dict:
    out = dict(usage)
    out["quota_s"] = quota_s
    out["remaining_s"] = None if quota_s is None else round(max(quota_s - usage["wall_s"], 0.0), 3)
    return out
