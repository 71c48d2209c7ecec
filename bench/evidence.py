"""Evidence pack benchmark: seconds to build a signed pack of a model version, per use case, beside the time
MLflow's own `mlflow.artifacts.download_artifacts` takes to export the same run's artifacts (the peer: what a
reviewer would otherwise pull, unsigned, with the model and without the ledger, the gates or the report).

    python bench/evidence.py --quick --json

One process, one temporary sandbox store (real MLflow SQLite, real workspaces):

1. bank `bench-bank`: risk applicants simulated and both models trained, the version submitted, approved by a
   reviewer and promoted; fraud transactions simulated and XGBoost trained (its candidate version, passing its
   gates or not, is packed by version number).
2. per use case, interleaved, `--repeat` times: the reviewer builds the pack (`sandbox.evidence.build`: resolve the
   version, read the run and its whitelisted artifacts through the door, ledger history, audit entries, chain
   verification, principle table, report.html, report.pdf, manifest, Ed25519 signature, zip) and MLflow downloads
   every artifact of the run into a fresh folder. Medians; the ratio is ours / peer.
3. `sandbox.evidence.verify` of each pack (every hash and the signature).

The target (issue 14): a pack in at most 10 s on 2 cores. The chat use case is not measured here (its evaluation
needs the embedding model and minutes of CPU to produce a run).
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

ROOT = Path(__file__).resolve().parent.parent
# bench/ itself must not be on the path: bench/platform.py would shadow the standard library's `platform`.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

PASSWORD = "bench-password-1"
TARGET_S = 10.0
SIZES = {
    "quick": {"applicants": 6000, "customers": 300, "days": 60, "rounds": 60, "repeat": 3},
    "full": {"applicants": 20000, "customers": 1500, "days": 90, "rounds": 200, "repeat": 5},
}


def _world(home: Path, size: dict) -> tuple:
    """A store, the bank's scientist and a reviewer, a risk champion and a fraud candidate."""
    import usecases.fraud as fraud
    import usecases.risk as risk
    from sandbox import Store, lifecycle, open_workspace

    store = Store(home)
    store.init("root", PASSWORD)
    store.create_bank("bench-bank")
    store.add_user("sam", "scientist", PASSWORD, bank="bench-bank")
    store.add_user("rev", "reviewer", PASSWORD)
    sci = open_workspace("bench-bank", store.actor("sam"), store)
    rev = open_workspace("bench-bank", store.actor("rev"), store)
    risk.simulate(sci, applicants=size["applicants"], vintages=12, seed=0)
    r = risk.train(sci)
    fraud.simulate(sci, preset="hk", customers=size["customers"], days=size["days"], seed=1)
    f = fraud.train(sci, model="xgboost", rounds=size["rounds"])
    versions = {}
    for usecase, run_id, registered, metrics, flags in (
        ("risk", r.run_id, r.model_version, dict(sci.get_run(r.run_id).data.metrics), list(r.fairness_flags)),
        ("fraud", f.run_id, f.model_version, f.metrics, []),
    ):
        found = [v for v in lifecycle.versions(sci, usecase) if v.run_id == run_id]
        mv = found[0] if found else lifecycle.record_candidate(sci, usecase, str(registered), run_id, metrics, flags)
        versions[usecase] = mv
    mv = versions["risk"]
    if mv.gates_passed and mv.stage == "candidate":
        lifecycle.submit(sci, "risk", mv.version, comment="bench")
        lifecycle.review(rev, "risk", mv.version, "approved", "bench: gates and model card checked")
        versions["risk"] = lifecycle.promote(sci, "risk", mv.version)
    return store, sci, rev, versions


def _peer(store, run_id: str) -> float:
    import mlflow

    from sandbox import tracking

    with tempfile.TemporaryDirectory() as dst:
        t0 = time.perf_counter()
        mlflow.artifacts.download_artifacts(
            run_id=run_id, dst_path=dst, tracking_uri=tracking.tracking_uri(store.mlruns)
        )
        return time.perf_counter() - t0


def _measure(store, rev, versions: dict, repeat: int) -> dict:
    from sandbox import evidence

    out = {}
    for usecase, mv in versions.items():
        ours, peer, pack = [], [], None
        for _ in range(repeat):  # interleaved: both sides see the same machine load
            t0 = time.perf_counter()
            pack = evidence.build(rev, usecase, version=mv.version)
            ours.append(time.perf_counter() - t0)
            peer.append(_peer(store, mv.run_id))
        t0 = time.perf_counter()
        checked = evidence.verify(pack.data, pack.manifest["signing"]["public_key"])
        verify_s = time.perf_counter() - t0
        med, pmed = statistics.median(ours), statistics.median(peer)
        out[usecase] = {
            "version": mv.version,
            "stage": pack.subject.stage,
            "build_s_median": round(med, 3),
            "build_s_runs": [round(x, 3) for x in ours],
            "peer_download_s_median": round(pmed, 3),
            "ratio_ours_over_peer": round(med / pmed, 2) if pmed else None,
            "pack_bytes": len(pack.data),
            "pack_files": len(pack.manifest["files"]) + 2,
            "verify_s": round(verify_s, 3),
            "verified": checked["ok"],
            "target_s": TARGET_S,
            "met": med <= TARGET_S,
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--quick", action="store_true", help="small data sets and 3 repeats (about a minute on 2 cores)")
    ap.add_argument("--repeat", type=int, help="builds per use case (default 3 quick, 5 full)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    size = SIZES["quick" if args.quick else "full"]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        store, _sci, rev, versions = _world(Path(tmp), size)
        setup_s = time.perf_counter() - t0
        results = _measure(store, rev, versions, args.repeat or size["repeat"])
        from sandbox.workspace import flush_tracking

        flush_tracking()
    report = {
        "bench": "evidence",
        "mode": "quick" if args.quick else "full",
        "size": size,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "setup_s": round(setup_s, 1),
        "usecases": results,
        "all_met": all(r["met"] and r["verified"] for r in results.values()),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"evidence packs ({report['mode']}, {report['cpus']} cpus, load {report['load_avg_1m']}):")
        for uc, r in results.items():
            print(
                f"  {uc} v{r['version']} ({r['stage']}): build {r['build_s_median']:.2f} s (target <= {TARGET_S:g} s: "
                f"{'met' if r['met'] else 'NOT met'}), MLflow download of the run's artifacts "
                f"{r['peer_download_s_median']:.2f} s, ratio {r['ratio_ours_over_peer']}; pack {r['pack_bytes']:,} bytes, "
                f"{r['pack_files']} files, verify {r['verify_s']:.3f} s ({'ok' if r['verified'] else 'FAILED'})"
            )
    return 0 if report["all_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
