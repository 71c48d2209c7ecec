"""Platform overheads, each beside a peer measured in the same run.

- `ctx.run()` (access check, quota check, tags, metering, audit) vs a bare
  `mlflow.start_run()` logging the same params, metrics and artifact. Target: ratio <= 1.2.
  The caller's latency: the compute metrics' background write is awaited outside the timed region.
- Audit append with the lock and hash chain vs a bare JSON-lines append. Target: >= 5,000 events/s.
- Audit verify vs bare `json.loads` of every line. Target: >= 50,000 events/s.

Usage: python bench/platform_core.py [--quick] [--json]
(Not bench/platform.py: a script of that name shadows the stdlib `platform` module for every bench script.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def bench_runs(n: int, home: Path) -> dict:
    import mlflow

    from sandbox import Store, open_workspace
    from sandbox.workspace import flush_tracking

    store = Store(home)
    store.init("root", "bench-password")
    store.create_bank("bench-bank")
    actor = store.add_user("sci", "scientist", "bench-password", bank="bench-bank")
    ctx = open_workspace("bench-bank", actor, store)
    params = {f"p{i}": i for i in range(10)}
    metrics = {f"m{i}": i / 10 for i in range(10)}
    uri = f"sqlite:///{home / 'mlruns' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    bare_exp = mlflow.create_experiment("bare", artifact_location=(home / "mlruns" / "bare").as_uri())

    def bare():
        with mlflow.start_run(experiment_id=bare_exp):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            mlflow.log_text("model card", "model_card.md")

    def ours():
        with ctx.run("fraud", params=params):
            mlflow.log_metrics(metrics)
            mlflow.log_text("model card", "model_card.md")

    ours()
    bare()  # warm both paths (schema, experiment creation)
    t_bare, t_ours = [], []
    for _ in range(n):  # interleave so machine noise hits both alike
        t0 = time.perf_counter()
        bare()
        t_bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - t0)
        flush_tracking()  # the compute metrics' background write: untimed, and kept out of the next bare run
    b, o = statistics.median(t_bare) * 1000, statistics.median(t_ours) * 1000
    return {
        "bare_run_p50_ms": round(b, 2),
        "ctx_run_p50_ms": round(o, 2),
        "ctx_run_overhead_ratio": round(o / b, 3),
        "runs_each": n,
    }


def bench_audit(n: int, tmp: Path) -> dict:
    from sandbox.audit import AuditLog

    log = AuditLog(tmp / "audit.jsonl")
    t0 = time.perf_counter()
    for i in range(n):
        log.append("fraud.score", "alice", i=i, run_id="0123456789abcdef")
    ours_s = time.perf_counter() - t0

    bare = tmp / "bare.jsonl"
    t0 = time.perf_counter()
    for i in range(n):
        with open(bare, "a") as fh:
            fh.write(
                json.dumps({"event": "fraud.score", "actor": "alice", "data": {"i": i, "run_id": "0123456789abcdef"}})
                + "\n"
            )
    bare_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = log.verify()
    verify_s = time.perf_counter() - t0
    assert result.ok and result.entries == n
    t0 = time.perf_counter()
    with open(log.path, "rb") as fh:
        for line in fh:
            json.loads(line)
    parse_s = time.perf_counter() - t0
    return {
        "audit_append_events_per_s": round(n / ours_s),
        "bare_append_events_per_s": round(n / bare_s),
        "audit_append_ratio_to_bare": round(bare_s / ours_s, 3),
        "audit_verify_events_per_s": round(n / verify_s),
        "bare_parse_events_per_s": round(n / parse_s),
        "audit_verify_ratio_to_bare_parse": round(parse_s / verify_s, 3),
        "events": n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sample (about a minute on 2 cores)")
    ap.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out = {
            "runs": bench_runs(15 if args.quick else 50, tmp / "home"),
            "audit": bench_audit(20_000 if args.quick else 100_000, tmp),
        }
    r, a = out["runs"], out["audit"]
    out["targets"] = {
        "ctx_run_overhead_ratio_le_1_2": r["ctx_run_overhead_ratio"] <= 1.2,
        "audit_append_ge_5000_per_s": a["audit_append_events_per_s"] >= 5000,
        "audit_verify_ge_50000_per_s": a["audit_verify_events_per_s"] >= 50000,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"ctx.run p50 {r['ctx_run_p50_ms']} ms vs bare mlflow.start_run {r['bare_run_p50_ms']} ms: ratio {r['ctx_run_overhead_ratio']} (target <= 1.2)"
    )
    print(
        f"audit append {a['audit_append_events_per_s']:,} events/s vs bare append {a['bare_append_events_per_s']:,}/s "
        f"(ratio {a['audit_append_ratio_to_bare']}; target >= 5,000/s)"
    )
    print(
        f"audit verify {a['audit_verify_events_per_s']:,} events/s vs bare json parse {a['bare_parse_events_per_s']:,}/s "
        f"(ratio {a['audit_verify_ratio_to_bare_parse']}; target >= 50,000/s)"
    )


if __name__ == "__main__":
    main()
