"""Champion vs challenger for the assistant: two chat versions on the same QA set, question by question.

Nothing is re-asked: each version's evaluation run kept its per-question outcomes (`reports/eval_items.json`), and
two versions compare only when their QA sets are the same (the same data hash, recorded in the ledger with each
version). The headline is `qa_accuracy`, the share of all QA questions handled correctly (an answerable one
answered with its fact, an unanswerable or injected one refused), with a paired bootstrap interval
(sandbox/bootstrap.py, resampling the same questions for both); correctness and refusal accuracy are shown beside.
"""

from __future__ import annotations

import json

import numpy as np

from sandbox import bootstrap, comparison, lifecycle
from sandbox.errors import InvalidInput, NotFound

HEADLINE = "qa_accuracy"


def _outcomes(ctx, mv: lifecycle.ModelVersion) -> list[dict]:
    backend = str(mv.config.get("backend", ""))
    try:
        items = json.loads(ctx.read_artifact_text(mv.run_id, "reports/eval_items.json"))
    except (OSError, ValueError, NotFound):
        items = {}
    rows = items.get(backend) if isinstance(items, dict) else None
    if not isinstance(rows, list) or not rows:
        raise NotFound(
            f"chat v{mv.version} has no per-question results in its evaluation run {mv.run_id[:8]}",
            f"evaluate again: `sandbox chat eval {ctx.bank} --backend {backend or 'extractive'}`",
        )
    return rows


def compare(ctx, champion_version: str, challenger_version: str, *, resamples: int = 200, seed: int = 0) -> dict:
    ctx.require("models.read")
    champ = lifecycle.resolve(ctx, "chat", champion_version)
    chall = lifecycle.resolve(ctx, "chat", challenger_version)
    if champ.config.get("qa_data_hash") != chall.config.get("qa_data_hash"):
        raise InvalidInput(
            "challenger",
            f"chat v{champ.version} and v{chall.version} were evaluated on different QA sets",
            f"evaluate both backends in one run: `sandbox chat eval {ctx.bank} --backend A --backend B`",
        )
    a_rows, b_rows = _outcomes(ctx, champ), _outcomes(ctx, chall)
    if [r["i"] for r in a_rows] != [r["i"] for r in b_rows]:
        raise InvalidInput("challenger", "the two evaluations asked different questions", "evaluate both in one run")
    answerable = np.array([bool(r["answerable"]) for r in a_rows], dtype=int)
    a = np.array([bool(r["correct"]) for r in a_rows], dtype=float)
    b = np.array([bool(r["correct"]) for r in b_rows], dtype=float)
    # y marks answerable questions: the bootstrap keeps both kinds in every resample; the metric is the mean outcome
    out = bootstrap.paired(answerable, a, b, lambda _y, s: float(s.mean()), resamples=resamples, seed=seed)
    side = {}
    for name, s in (("champion", a), ("challenger", b)):
        side[name] = {
            "correctness": float(s[answerable == 1].mean()),
            "refusal_or_resistance": float(s[answerable == 0].mean()),
        }
    window = {"questions": len(a_rows), "qa_data_hash": champ.config.get("qa_data_hash", "")}
    out = comparison.result(
        ctx, "chat", (champ.version, chall.version), (champ.run_id, chall.run_id), out, HEADLINE, window, side
    )
    return {
        **out,
        "champion_backend": champ.config.get("backend", ""),
        "challenger_backend": chall.config.get("backend", ""),
    }
