"""Reviewer sign-off: the rules a decision must meet, its record in the ledger, and its MLflow mirror.

A decision is a `review.sign` entry in the bank's audit chain (the ledger, the only record believed),
then MLflow tags mirroring it for the stock UI. What a reviewer may see is declared here too: evidence
(`REVIEWABLE_PREFIXES`), never models or data.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import tracking
from .errors import InvalidInput
from .mlflow_identity import IDENTITY

if TYPE_CHECKING:
    from .workspace import WorkspaceContext

# Artifacts a reviewer may read: evidence, never data. Models (with their input
# examples) and anything else stay with the bank.
REVIEWABLE_PREFIXES = ("plots/", "model_card.md", "model_card.json", "reports/", "evaluation/")
REVIEW_DECISIONS = ("approved", "changes_requested")
TAG_REVIEW_STATUS, TAG_REVIEW_BY, TAG_REVIEW_COMMENT, TAG_REVIEW_AT = tracking.REVIEW_TAGS


def is_evidence(artifact_path: str) -> bool:
    return artifact_path.startswith(REVIEWABLE_PREFIXES)


def check_form(decision: str, comment: str) -> None:
    """What a decision must be before any run is looked up: one of REVIEW_DECISIONS; a change request says what."""
    if decision not in REVIEW_DECISIONS:
        raise InvalidInput("decision", f"{decision!r} is not a decision", f"use one of {', '.join(REVIEW_DECISIONS)}")
    if decision == "changes_requested" and not comment.strip():
        raise InvalidInput("comment", "a change request needs a comment", "say what the bank should change")


def check_against(before: str, decision: str, comment: str) -> None:
    """Against the ledger's last decision (`before`): every decision, and above all a reversal, says why."""
    if before and before != decision and not comment.strip():  # the record must say why a decision turned
        raise InvalidInput(
            "comment",
            f"the run is already marked {before}; reversing that needs a comment",
            "say what changed, e.g. --comment 'fairness breach fixed in run ...'",
        )
    if not comment.strip():  # an approval is a judgement too: the record says on what evidence
        raise InvalidInput(
            "comment",
            "every review decision needs a comment, an approval too",
            "say what you checked, e.g. --comment 'Gini 0.52 and KS 0.44 out of time; model card complete'",
        )


def sign_off(ctx: WorkspaceContext, run_id: str, decision: str, comment: str) -> dict:
    """Record a decision the door already allowed (`review.sign`): ledger first, then its MLflow mirror."""
    check_form(decision, comment)
    run = ctx.get_run(run_id)  # a run of another bank's experiment is NotFound, whatever its tags say
    run_id = run.info.run_id
    held = ctx.read_ledger().review(run_id)
    check_against(held.state if held else "", decision, comment)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    ctx._record("review.sign", run_id=run_id, decision=decision, comment=comment[:4000], at=at)
    ctx.store.platform_audit().append("review.sign", ctx.actor.name, bank=ctx.bank, run_id=run_id, decision=decision)
    mirror = _mirror(ctx, run_id, decision, comment, at)
    return {"run_id": run_id, "status": decision, "by": ctx.actor.name, "comment": comment, "at": at, "mirror": mirror}


def _mirror(ctx: WorkspaceContext, run_id: str, decision: str, comment: str, at: str) -> str:
    """MLflow tags mirroring the ledger's decision, written by the sync account (reviewers hold READ)."""
    from mlflow.exceptions import MlflowException

    try:
        client = ctx.client()
        with IDENTITY.sync_account(ctx.store):
            for key, value in (
                (TAG_REVIEW_STATUS, decision),
                (TAG_REVIEW_BY, ctx.actor.name),
                (TAG_REVIEW_COMMENT, comment[:4000]),
                (TAG_REVIEW_AT, at),
            ):
                client.set_tag(run_id, key, value)
    except MlflowException as err:  # the decision stands (it is in the ledger); the stock UI lags behind
        logging.getLogger(__name__).warning("review of run %s recorded, but its MLflow mirror failed: %s", run_id, err)
        return "failed"
    return "written"
