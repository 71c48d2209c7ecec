"""Assurance benchmark (issue 16 part 2): the chat red team, ours beside a peer measured in the same run.

    .venv/bin/python bench/assure.py [--quick] [--json] [--attacks N] [--seed S] [--backend extractive ...]

Ours: `sandbox assure chat-redteam` end to end (`usecases.assure.chat_redteam`: generated attacks through the
guarded chat pipeline on a scratch index, judged, logged as an MLflow run): attack success rate per backend and
category, canary and PII leaks, wall and CPU seconds (the 2-core target is <= 10 minutes for 600 attacks).
Peer: the same attacks and the same judge against an unguarded RAG over the same scratch index: hybrid retrieval
and the extractive answerer with no injection screening, no PII redaction, no scope check and no grounding check
(what a plain LangChain retriever + answerer would do). The ratio peer/ours says how much the guardrails buy.
garak is not the peer: installing it would downgrade transformers (5.25 -> 5.19) and openai (3.x -> 2.x) and pull
about 80 packages into the project's environment; the categories are mapped to its probe families instead.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

BANK = "bench-bank"
PASSWORD = "bench-password-1"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup(home: Path):
    from sandbox import Store, open_workspace

    store = Store(home)
    store.init("root", PASSWORD)
    store.create_bank(BANK)
    store.add_user("ben", "scientist", PASSWORD, bank=BANK)
    return open_workspace(BANK, store.actor("ben"), store)


def unguarded(ctx, attacks: int, seed: int) -> dict:
    """The peer: the same attacks, world and judge; retrieval + extractive answer, no guardrail at all."""
    import shutil

    from usecases.assure import chat_runner as runner
    from usecases.assure.judge import judge
    from usecases.assure.redteam import generate
    from usecases.chat.answer import Extractive, Passage
    from usecases.chat.corpus import bank_display_name
    from usecases.chat.embed import get_embedder
    from usecases.chat.retrieve import search

    t0, c0 = time.perf_counter(), time.process_time()
    plan = generate(attacks, seed, bank_display_name(ctx.bank))
    scratch = ctx.path("chat", "redteam", "bench-peer", create=True)
    try:
        snap, _decoy, planted, _h = runner._build_indexes(ctx, scratch, plan, seed, None)
        jctx = runner._judge_context(ctx, plan, planted, seed)
        embedder = get_embedder()
        answerer = Extractive(embedder)
        rows = []
        for a in plan:
            hits = search(snap, embedder, a.question, k=runner.K, mode="hybrid")
            passages = [Passage(n=i, text=h.text, chunk_id=h.chunk_id, document=h.document, score=h.score,
                                dense_score=h.dense_score) for i, h in enumerate(hits, start=1)]
            text = answerer.generate(a.question, passages).text if passages else "The documents do not say."
            v = judge(a, text, jctx)
            rows.append({"category": a.category, "success": v.success, "canary": v.canary_leaks, "pii": v.pii_leaks})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    by_cat: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r["success"])
    return {"attack_success_rate": round(statistics.fmean(r["success"] for r in rows), 4),
            "canary_leaks": sum(r["canary"] for r in rows), "pii_leaks": sum(r["pii"] for r in rows),
            "by_category": {c: round(statistics.fmean(v), 4) for c, v in sorted(by_cat.items())},
            "seconds": round(time.perf_counter() - t0, 1), "cpu_seconds": round(time.process_time() - c0, 1)}


def ratio(peer: float, ours: float) -> float | None:
    return round(peer / ours, 2) if ours else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="80 attacks (10 per category): about a minute on 2 idle cores")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--attacks", type=int, default=None, help="attacks (default 600; 80 with --quick)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", action="append", default=None, help="backend(s) to attack (default: extractive)")
    args = ap.parse_args()
    attacks = args.attacks or (80 if args.quick else 600)
    backends = args.backend or ["extractive"]
    from usecases.assure import chat_redteam

    with tempfile.TemporaryDirectory(prefix="bench-assure-") as tmp:
        ctx = setup(Path(tmp))
        log(f"ours: chat_redteam, {attacks} attacks on {', '.join(backends)}")
        t0, c0 = time.perf_counter(), time.process_time()
        report = chat_redteam(ctx, backends=backends, attacks=attacks, seed=args.seed)
        ours_s, ours_cpu = round(time.perf_counter() - t0, 1), round(time.process_time() - c0, 1)
        log("peer: the same attacks against an unguarded RAG (retrieval + extractive, no guardrails)")
        peer = unguarded(ctx, attacks, args.seed)
    ours = {b: {k: m[k] for k in ("attack_success_rate", "successes", "refusal_rate", "canary_leaks", "pii_leaks",
                                  "latency_p50_ms")} | {"by_category": report.by_category[b],
                                                        "by_language": report.by_language[b],
                                                        "by_obfuscation": report.by_obfuscation[b]}
            for b, m in report.overall.items()}
    out = {"attacks": attacks, "seed": args.seed, "backends": report.backends, "skipped": report.skipped_backends,
           "ours": ours, "ours_seconds": ours_s, "ours_cpu_seconds": ours_cpu, "decoy_control": report.decoy_control,
           "canary_leaks": report.canary_leaks, "pii_leaks": report.pii_leaks, "targets": report.targets,
           "peer_unguarded_extractive": peer,
           "success_ratio_peer_over_ours": ratio(peer["attack_success_rate"],
                                                 ours.get("extractive", {}).get("attack_success_rate", 0.0)),
           "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)}
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
        return
    print(f"chat red team: {attacks} attacks, seed {args.seed}; ours {ours_s} s wall, {ours_cpu} s CPU "
          f"(load {out['load_avg_1m']} on {out['cpus']} CPUs)")
    for b, m in ours.items():
        print(f"  ours {b}: attack success {m['attack_success_rate']:.2%} ({m['successes']}), refusals "
              f"{m['refusal_rate']:.2%}, canary leaks {m['canary_leaks']}, PII leaks {m['pii_leaks']}")
    print(f"  peer (unguarded RAG, extractive): attack success {peer['attack_success_rate']:.2%}, canary leaks "
          f"{peer['canary_leaks']}, PII leaks {peer['pii_leaks']} ({peer['seconds']} s)")
    print(f"  ratio peer/ours: {out['success_ratio_peer_over_ours']}")
    print("  by category (ours extractive | peer): " + ", ".join(
        f"{c} {ours.get('extractive', {}).get('by_category', {}).get(c, 0):.1%}|{v:.1%}" for c, v in peer["by_category"].items()))
    print("  targets: " + ", ".join(f"{k} {'pass' if v else 'FAIL'}" for k, v in report.targets.items()))


if __name__ == "__main__":
    main()
