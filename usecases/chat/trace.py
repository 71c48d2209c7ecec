"""Traces of answers: the bank's audit trail and an MLflow trace in the bank's chat experiment.

A trace holds what a reviewer needs to reconstruct an answer without seeing the
documents: the redacted question, chunk ids and scores, backend and model id,
the prompt hash, the (redacted) answer and every guardrail verdict. Never a
chunk's text, never unredacted input.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sandbox import tracking

log = logging.getLogger(__name__)
QUESTION_CHARS = 500  # a trace keeps the start of a long (redacted) question
ANSWER_CHARS = 2000


def record(ctx, rec: dict[str, Any], timings_ns: dict[str, tuple[int, int]] | None = None) -> str | None:
    """Write `rec` to the audit trail and as an MLflow trace; return the trace id.

    The question and answer come redacted; every free text is redacted again here (the sink), so a filter value
    or a document name with a card number or an HKID in it cannot reach the audit log or mlflow.db either."""
    rec = _redacted(rec)
    rec["question"] = rec.get("question", "")[:QUESTION_CHARS]
    rec["answer"] = rec.get("answer", "")[:ANSWER_CHARS]
    trace_id = None
    if os.environ.get("SANDBOX_CHAT_MLFLOW_TRACES", "1") != "0":
        trace_id = _mlflow_trace(ctx, rec, timings_ns or {})
    ctx.audit("chat.ask", trace_id=trace_id, **rec)
    return trace_id


def _redacted(rec: dict[str, Any]) -> dict[str, Any]:
    """A copy of `rec` with its user- and document-supplied texts redacted; ids, hashes and verdicts kept as they are."""
    from .pii import redact_data

    out = dict(rec)
    for key in ("question", "answer", "filters", "fallback"):
        if key in out:
            out[key] = redact_data(out[key])
    for key in ("chunks", "citations"):
        if isinstance(out.get(key), list):
            out[key] = [
                {**c, "document": redact_data(c["document"])} if isinstance(c, dict) and "document" in c else c
                for c in out[key]
            ]
    return out


def prepare(ctx) -> None:
    """Import MLflow and look up the bank's chat experiment ahead of the first trace (records no trace)."""
    if os.environ.get("SANDBOX_CHAT_MLFLOW_TRACES", "1") != "0":
        import mlflow

        mlflow.set_tracking_uri(tracking.tracking_uri(ctx.store.mlruns))
        ctx.experiment_id("chat")


def _mlflow_trace(ctx, rec: dict, timings: dict[str, tuple[int, int]]) -> str | None:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        uri = tracking.tracking_uri(ctx.store.mlruns)
        mlflow.set_tracking_uri(uri)
        exp_id = ctx.experiment_id("chat")
        t_all = timings.get("total")
        tags = {
            tracking.TAG_BANK: ctx.bank,
            tracking.TAG_USECASE: "chat",
            tracking.TAG_ACTOR: ctx.actor.name,
            "chat.backend": rec.get("backend", ""),
            "chat.refused": str(rec.get("refused", False)).lower(),
        }
        root = mlflow.start_span_no_context(
            "chat.ask",
            span_type="CHAIN",
            inputs={"question": rec["question"]},
            experiment_id=exp_id,
            tags=tags,
            start_time_ns=t_all[0] if t_all else None,
            attributes={
                "bank": ctx.bank,
                "backend": rec.get("backend", ""),
                "model_id": rec.get("model_id", ""),
                "prompt_hash": rec.get("prompt_hash", ""),
            },
        )
        for name, span_type, inputs, outputs in (
            (
                "retrieve",
                "RETRIEVER",
                {"mode": rec.get("mode", "hybrid"), "k": rec.get("k")},
                {"chunks": rec.get("chunks", [])},
            ),
            (
                "generate",
                "LLM",
                {"prompt_hash": rec.get("prompt_hash", ""), "model_id": rec.get("model_id", "")},
                {"answer": rec["answer"]},
            ),
            ("grounding", "PARSER", {}, {"grounding": rec.get("guardrails", {}).get("grounding", {})}),
        ):
            t = timings.get(name)
            child = mlflow.start_span_no_context(
                name, span_type=span_type, parent_span=root, inputs=inputs, start_time_ns=t[0] if t else None
            )
            child.set_outputs(outputs)
            child.end(end_time_ns=t[1] if t else None)
        root.set_outputs(
            {
                "answer": rec["answer"],
                "refused": rec.get("refused", False),
                "citations": rec.get("citations", []),
                "guardrails": rec.get("guardrails", {}),
            }
        )
        root.end(end_time_ns=t_all[1] if t_all else None)
        return root.trace_id
    except (MlflowException, OSError) as err:  # a trace store hiccup must not lose the answer; the audit entry stays
        log.warning("could not write the MLflow trace: %s", err)
        return None
