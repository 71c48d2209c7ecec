"""Assurance benchmark (issue 16 parts 1 and 2), ours beside a peer measured in the same run.

    .venv/bin/python bench/assure.py [--quick] [--json] [--attacks N] [--seed S] [--backend extractive ...]
    .venv/bin/python bench/assure.py --part fraud [--quick] [--json] [--budget N] [--rounds R] [--seed S]

Part 1 (--part fraud): a simulated hk bank (5,000 customers x 120 days; --quick 1,000 x 60), its detector trained
and promoted; ours: `sandbox assure fraud-attack` (Optuna TPE ring, 2,000 queries a round, 3 rounds with defender
retraining); peer: a random-search ring (Optuna RandomSampler) with the same budget, space, victims and model.
Figures: evasion rate, HKD undetected (ratio ours/peer), the found campaign's recall against the model's
non-adversarial recall (target < 0.5x) and, after one defender round, the same campaign on fresh victims against
the defended model's recall (target >= 0.8x).

Part 2 (default):

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
            passages = [
                Passage(
                    n=i, text=h.text, chunk_id=h.chunk_id, document=h.document, score=h.score, dense_score=h.dense_score
                )
                for i, h in enumerate(hits, start=1)
            ]
            text = answerer.generate(a.question, passages).text if passages else "The documents do not say."
            v = judge(a, text, jctx)
            rows.append({"category": a.category, "success": v.success, "canary": v.canary_leaks, "pii": v.pii_leaks})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    by_cat: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r["success"])
    return {
        "attack_success_rate": round(statistics.fmean(r["success"] for r in rows), 4),
        "successes": sum(r["success"] for r in rows),
        "canary_leaks": sum(r["canary"] for r in rows),
        "pii_leaks": sum(r["pii"] for r in rows),
        "by_category": {c: round(statistics.fmean(v), 4) for c, v in sorted(by_cat.items())},
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(time.process_time() - c0, 1),
    }


def ratio(peer: float, ours: float) -> float | None:
    """peer/ours; None when ours is 0 (the counts beside it then say it: no success of ours against N of the peer)."""
    return round(peer / ours, 2) if ours else None


def fraud_champion(home: Path, customers: int, days: int, seed: int, open_gates: bool = False):
    """A bank with a simulated hk month(s), a trained detector, and that detector as champion (reviewed).
    `open_gates`: the admin opens the gates first (--quick: a 1,000-customer bank makes a model under them)."""
    from sandbox import Store, lifecycle, open_workspace
    from usecases import fraud

    store = Store(home)
    store.init("root", PASSWORD)
    store.create_bank(BANK)
    store.add_user("ben", "scientist", PASSWORD, bank=BANK)
    store.add_user("rhea", "reviewer", PASSWORD)
    ctx = open_workspace(BANK, store.actor("ben"), store)
    if open_gates:
        lifecycle.set_gates(
            open_workspace(BANK, store.actor("root"), store),
            "fraud",
            {"average_precision": 0.0, "card_precision_at_100": 0.0},
        )
    fraud.simulate(ctx, "hk", customers=customers, days=days, seed=seed)
    tr = fraud.train(ctx, seed=seed)
    v = tr.model_version
    mv = lifecycle.resolve(ctx, "fraud", v)
    lifecycle.submit(ctx, "fraud", v, comment="bench", explanation="" if mv.gates_passed else "bench world")
    lifecycle.review(open_workspace(BANK, store.actor("rhea"), store), "fraud", v, "approved", "bench")
    lifecycle.promote(ctx, "fraud", v)
    return ctx, tr


def random_peer(ctx, budget: int, seed: int) -> dict:
    """The peer: the same space, budget, victims and model, searched by Optuna's RandomSampler."""
    from usecases.assure import fraud_campaigns as fc
    from usecases.assure import fraud_runner as runner
    from usecases.assure.fraud_bank import Oracle
    from usecases.fraud import data, model_store

    booster, sidecar = model_store.load(ctx)
    df, _meta = data.load(ctx)
    pool = runner._Pools(df, seed)
    oracle = Oracle(runner._scorer(booster, sidecar, df, ctx.bank), budget)
    log = fc.attack(oracle, fc.World(df, pool.attack, pool.mules), seed, sampler="random")
    fraud_txns = sum(t.outcome.fraud_txns for t in log.trials)
    declined = sum(t.outcome.declined for t in log.trials)
    best = max(log.trials, key=lambda t: (t.outcome.stolen_hkd, -t.number))
    replay = runner._replay(oracle_scorer(booster, sidecar, df, ctx.bank), df, pool, [best.campaign], seed + 1)
    return {
        "evasion_rate": round(1 - declined / max(fraud_txns, 1), 4),
        "hkd_undetected": round(sum(t.outcome.stolen_hkd for t in log.trials), 2),
        "queries": oracle.used,
        "best_campaign": best.campaign.words(),
        "best_campaign_recall": replay[0]["recall"],
    }


def oracle_scorer(booster, sidecar, df, bank):
    from usecases.assure import fraud_runner as runner

    return runner._scorer(booster, sidecar, df, bank)


def fraud_bench(args) -> dict:
    """Part 1: on the hk preset, the fraud ring (ours: Optuna TPE) against the champion, beside a random-search ring
    with the same budget on the same model (the peer), then the defender's rounds. --quick: a smaller bank."""
    from usecases.assure import fraud_attack

    customers, days = (1000, 60) if args.quick else (5000, 120)
    budget = args.budget or (500 if args.quick else 2000)
    rounds = args.rounds or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="bench-assure-fraud-") as tmp:
        log(f"fraud: hk preset, {customers} customers, {days} days; train and promote the champion")
        ctx, tr = fraud_champion(Path(tmp), customers, days, args.seed, open_gates=args.quick)
        log(f"ours: fraud_attack, {budget} queries a round, {rounds} round(s)")
        t0, c0 = time.perf_counter(), time.process_time()
        report = fraud_attack(ctx, budget=budget, rounds=rounds, seed=args.seed)
        ours_s, ours_cpu = round(time.perf_counter() - t0, 1), round(time.process_time() - c0, 1)
        log("peer: random search, same budget and model")
        t1 = time.perf_counter()
        peer = random_peer(ctx, budget, args.seed)
        peer["seconds"] = round(time.perf_counter() - t1, 1)
    first = report.arms_race[0]
    return {
        "customers": customers,
        "days": days,
        "budget": budget,
        "rounds": rounds,
        "seed": args.seed,
        "champion_recall_at_budget": round(tr.metrics["recall_at_budget"], 4),
        "arms_race": report.arms_race,
        "found_round1": [
            {k: f[k] for k in ("words", "recall_replayed", "recall_after_defence", "stolen_hkd")}
            for f in report.found[0]
        ],
        "curve_round1": report.curves[0],
        "targets": report.targets,
        "ours_seconds": ours_s,
        "ours_cpu_seconds": ours_cpu,
        "peer_random_search": peer,
        "hkd_undetected_ratio_ours_over_peer": ratio(first["hkd_undetected"], peer["hkd_undetected"]),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def print_fraud(out: dict) -> None:
    print(
        f"fraud ring: hk {out['customers']} customers x {out['days']} days, {out['budget']} queries a round, "
        f"{out['rounds']} round(s), seed {out['seed']}; ours {out['ours_seconds']} s wall (load {out['load_avg_1m']})"
    )
    print(f"  champion recall_at_budget (its training run): {out['champion_recall_at_budget']:.2%}")
    for r in out["arms_race"]:
        print(
            f"  round {r['round']}: evasion {r['evasion_rate']:.2%}, HKD undetected {r['hkd_undetected']:,.0f}, "
            f"model recall {r['model_recall']:.2%}, campaign recall {r['campaign_recall'] or 0:.2%}; after the "
            f"defence: model {r['defended_model_recall']:.2%}, campaign {r['defended_campaign_recall'] or 0:.2%}"
        )
    p = out["peer_random_search"]
    print(
        f"  peer (random search): evasion {p['evasion_rate']:.2%}, HKD undetected {p['hkd_undetected']:,.0f}, best "
        f"campaign recall {p['best_campaign_recall']:.2%}; ratio ours/peer HKD {out['hkd_undetected_ratio_ours_over_peer']}"
    )
    for f in out["found_round1"]:
        print(f"  found: recall {f['recall_replayed']:.0%} -> {f['recall_after_defence']:.0%}: {f['words']}")
    print("  targets: " + ", ".join(f"{k} {'pass' if v else 'FAIL'}" for k, v in out["targets"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="80 attacks (10 per category): about a minute on 2 idle cores")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--attacks", type=int, default=None, help="attacks (default 600; 80 with --quick)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", action="append", default=None, help="backend(s) to attack (default: extractive)")
    ap.add_argument(
        "--part",
        choices=["chat", "fraud"],
        default="chat",
        help="chat: the red team (part 2); fraud: the fraud ring and defender rounds (part 1)",
    )
    ap.add_argument("--budget", type=int, default=None, help="fraud: queries a round (default 2000; 500 with --quick)")
    ap.add_argument("--rounds", type=int, default=None, help="fraud: rounds (default 3; 1 with --quick)")
    args = ap.parse_args()
    if args.part == "fraud":
        out = fraud_bench(args)
        print(json.dumps(out, indent=2, sort_keys=True, default=str)) if args.json else print_fraud(out)
        return
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
    ours = {
        b: {
            k: m[k]
            for k in ("attack_success_rate", "successes", "refusal_rate", "canary_leaks", "pii_leaks", "latency_p50_ms")
        }
        | {
            "by_category": report.by_category[b],
            "by_language": report.by_language[b],
            "by_obfuscation": report.by_obfuscation[b],
        }
        for b, m in report.overall.items()
    }
    out = {
        "attacks": attacks,
        "seed": args.seed,
        "backends": report.backends,
        "skipped": report.skipped_backends,
        "ours": ours,
        "ours_seconds": ours_s,
        "ours_cpu_seconds": ours_cpu,
        "decoy_control": report.decoy_control,
        "canary_leaks": report.canary_leaks,
        "pii_leaks": report.pii_leaks,
        "targets": report.targets,
        "peer_unguarded_extractive": peer,
        "success_ratio_peer_over_ours": ratio(
            peer["attack_success_rate"], ours.get("extractive", {}).get("attack_success_rate", 0.0)
        ),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
        return
    print(
        f"chat red team: {attacks} attacks, seed {args.seed}; ours {ours_s} s wall, {ours_cpu} s CPU "
        f"(load {out['load_avg_1m']} on {out['cpus']} CPUs)"
    )
    for b, m in ours.items():
        print(
            f"  ours {b}: attack success {m['attack_success_rate']:.2%} ({m['successes']}), refusals "
            f"{m['refusal_rate']:.2%}, canary leaks {m['canary_leaks']}, PII leaks {m['pii_leaks']}"
        )
    print(
        f"  peer (unguarded RAG, extractive): attack success {peer['attack_success_rate']:.2%}, canary leaks "
        f"{peer['canary_leaks']}, PII leaks {peer['pii_leaks']} ({peer['seconds']} s)"
    )
    r = out["success_ratio_peer_over_ours"]
    print(
        f"  ratio peer/ours: {r}"
        if r is not None
        else f"  ratio peer/ours: undefined (ours 0 successes, peer {peer['successes']})"
    )
    print(
        "  by category (ours extractive | peer): "
        + ", ".join(
            f"{c} {ours.get('extractive', {}).get('by_category', {}).get(c, 0):.1%}|{v:.1%}"
            for c, v in peer["by_category"].items()
        )
    )
    print("  targets: " + ", ".join(f"{k} {'pass' if v else 'FAIL'}" for k, v in report.targets.items()))


if __name__ == "__main__":
    main()
