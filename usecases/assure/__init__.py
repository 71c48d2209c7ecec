"""Assurance: AI vs AI. Attacks and independent checks of a bank's models, each one MLflow run and audit event.

Public API (context first; the CLI and the app call only these):

    chat_redteam(ctx, backends=None, attacks=600, seed=0, progress=None) -> RedTeamReport
        generated attacks (redteam.py) through the bank's chat pipeline on a scratch index, judged without an
        online model (judge.py), mapped to garak's probe families and the OWASP Top 10 for LLM apps (taxonomy.py);
        logged in the bank's chat experiment, tagged sandbox.assure=chat-redteam, report at reports/redteam.json.
    fraud_attack(ctx, budget=2000, rounds=1, seed=0, observe="decision", progress=None) -> FraudAttackReport
        a query-budgeted fraud ring (Optuna TPE over campaign settings, fraud_campaigns.py) against the champion
        through the streaming scorer, decisions only (fraud_bank.py); then defender rounds (retrain with the
        campaigns labelled, attack again); logged in the bank's fraud experiment, tagged
        sandbox.assure=fraud-attack, report at reports/fraud_attack.json.
    create_suite(store, reviewer, name, usecase, seed=None, **options) -> Suite;  list_suites(store, reviewer)
        regulator-held test suites in the reviewer-only area (suites.py; chat suites: chat_suite.py): banks never
        read them. `run_suite(store, reviewer, bank, usecase, name)` (suite_runs.py) scores the bank's fraud, risk or
        chat champion on one under the platform identity.
    run_suite(store, reviewer, bank, usecase, suite) -> SuiteResult;  suite_results(ctx, usecase=None) -> list[dict]
        the bank's champion scored on a suite under the platform identity, aggregates only (suite_runs.py): the
        suite's metrics beside the bank's own test figures (the optimism gap), its gates; the bank sees its own.
"""

from __future__ import annotations

from typing import Any

__all__ = ["chat_redteam", "create_suite", "fraud_attack", "list_suites", "run_suite", "suite_results"]


def chat_redteam(ctx, *args: Any, **kwargs: Any):
    """See `usecases.assure.chat_runner.chat_redteam` (imported on first use: the chat stack is heavy)."""
    from .chat_runner import chat_redteam as run

    return run(ctx, *args, **kwargs)


def fraud_attack(ctx, *args: Any, **kwargs: Any):
    """See `usecases.assure.fraud_runner.fraud_attack` (imported on first use)."""
    from .fraud_runner import fraud_attack as run

    return run(ctx, *args, **kwargs)


def create_suite(store, reviewer, *args: Any, **kwargs: Any):
    """See `usecases.assure.suites.create`."""
    from .suites import create

    return create(store, reviewer, *args, **kwargs)


def list_suites(store, reviewer):
    """See `usecases.assure.suites.list_suites`."""
    from .suites import list_suites as run

    return run(store, reviewer)


def run_suite(store, reviewer, *args: Any, **kwargs: Any):
    """See `usecases.assure.suite_runs.run_suite`."""
    from .suite_runs import run_suite as run

    return run(store, reviewer, *args, **kwargs)


def suite_results(ctx, usecase: str | None = None) -> list[dict]:
    """See `usecases.assure.suite_runs.results`."""
    from .suite_runs import results

    return results(ctx, usecase)
