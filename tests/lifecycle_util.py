"""Helpers for tests that train and then score: take a version through the lifecycle in one call.

Scoring uses the bank's champion (sandbox/lifecycle.py), so a test that trains then scores either names the
version it trained or makes it the champion: candidate -> submit -> approve (a reviewer) -> promote.
"""

from __future__ import annotations

from sandbox import lifecycle, open_workspace

LENIENT = {
    "fraud": {"average_precision": 0.0, "card_precision_at_100": 0.0},
    "risk": {"gini": 0.0, "ks": 0.0, "fairness": 1000.0, "psi": 1.0},
}


def lenient_gates(store, bank: str, usecase: str, admin: str = "root") -> None:
    """The admin opens every gate of `bank`'s `usecase` (for tests whose tiny data sets make weak models);
    applies to versions registered afterwards."""
    ctx = open_workspace(bank, store.actor(admin), store)
    lifecycle.set_gates(ctx, usecase, LENIENT[usecase])


def make_champion(
    store, ctx, usecase: str, version: str | int | None = None, reviewer: str = "rita"
) -> lifecycle.ModelVersion:
    """Submit (if needed), approve as `reviewer` and promote `version` (default: the newest) of ctx's bank."""
    version = str(version) if version is not None else lifecycle.versions(ctx, usecase)[-1].version
    mv = lifecycle.resolve(ctx, usecase, version)
    if mv.stage == "champion":
        return mv
    if mv.stage in ("candidate", "changes_requested"):
        lifecycle.submit(
            ctx,
            usecase,
            version,
            comment="for review (test)",
            explanation="flags expected on injected-bias test data" if not mv.gates_passed else "",
        )
        mv = lifecycle.resolve(ctx, usecase, version)
    if mv.stage == "submitted":
        lifecycle.review(
            open_workspace(ctx.bank, store.actor(reviewer), store),
            usecase,
            version,
            "approved",
            "metrics, gates and model card checked (test)",
        )
    return lifecycle.promote(ctx, usecase, version)
