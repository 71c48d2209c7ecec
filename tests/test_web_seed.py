"""A small seeded store for the web tests (AppTest and the browser), built once per module that asks.

Banks, users and quotas come from the platform; runs come from the use cases' public
APIs at tiny sizes when a use case offers them (`apps.demo.seed` with the "tiny"
profile). Where a use case is not there, `evidence_run` logs a run through
`ctx.run` with metrics and report JSONs in the shape the use cases write, so the
pages still have something real (an MLflow run in the bank's experiment) to show.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sandbox import Store, open_workspace

PASSWORD = "web-test-pass-1"
BANK_A, BANK_B = "harbour-bank", "peak-bank"
USERS = {
    "alice": ("scientist", BANK_A),
    "bob": ("scientist", BANK_B),
    "rita": ("reviewer", None),
    "root": ("admin", None),
}


def _curve(n: int = 40, power: float = 3.0) -> dict:
    recall = [i / (n - 1) for i in range(n)]
    precision = [max(0.02, 1 - r**power) for r in recall]
    return {"recall": recall, "precision": precision}


def evidence_run(
    ctx, usecase: str, run_name: str, metrics: dict, reports: dict, card: str, params: dict | None = None
) -> str:
    """A run carrying only evidence (metrics, reports/*.json, a model card), as a use case would log it."""
    import mlflow

    with ctx.run(
        usecase, run_name=run_name, seed=1, data_hash="0" * 64, params={"source": "web-test", **(params or {})}
    ) as run:
        mlflow.log_metrics(metrics)
        for name, obj in reports.items():
            mlflow.log_text(json.dumps(obj), f"reports/{name}")
        mlflow.log_text(card, "model_card.md")
        mlflow.log_text("customer_id,amount\nC1,100\n", "data/sample_rows.csv")  # raw rows: never reviewable
        return run.info.run_id


def fraud_evidence(ctx, ap: float = 0.78) -> str:
    budget = [
        {
            "alerts_per_day": k,
            "threshold": round(1 - k / 250, 3),
            "precision": round(0.9 - k / 400, 3),
            "recall": round(min(0.95, 0.3 + k / 150), 3),
        }
        for k in (10, 25, 50, 100, 150, 200)
    ]
    scen = {
        "compromised_terminal": 0.81,
        "compromised_card": 0.66,
        "card_testing": 0.92,
        "account_takeover": 0.74,
        "app_scam_mule": 0.58,
    }
    return evidence_run(
        ctx,
        "fraud",
        "xgboost-handbook",
        {"average_precision": ap, "card_precision_at_100": 0.35, "roc_auc": 0.93},
        {
            "pr_curve.json": {"xgboost": _curve(), "logreg": _curve(power=1.5)},
            "alert_budget.json": budget,
            "recall_per_scenario.json": scen,  # the name fraud runs write (usecases/reports.py)
        },
        "# Fraud model card\n\nXGBoost on the handbook preset. Limits: synthetic data.\n",
        params={"preset": "handbook"},
    )


def risk_evidence(ctx) -> str:
    fpr = [i / 20 for i in range(21)]
    roc = {
        "xgboost": {"fpr": fpr, "tpr": [min(1, math.sqrt(x) * 1.05) for x in fpr]},
        "scorecard": {"fpr": fpr, "tpr": [min(1, x**0.6) for x in fpr]},
    }
    cal = {
        "xgboost": {
            "mean_predicted": [0.02, 0.05, 0.1, 0.2, 0.4],
            "fraction_positive": [0.021, 0.052, 0.11, 0.19, 0.41],
        }
    }
    fair = [
        {
            "attribute": "sex",
            "metric": "demographic_parity_difference",
            "value": 0.02,
            "threshold": 0.05,
            "flag": False,
        },
        {"attribute": "age_band", "metric": "fpr_ratio", "value": 0.74, "threshold": 0.8, "flag": True},
    ]
    psi = [
        {
            "vintage": f"2025-{m:02d}",
            "feature": f,
            "psi": round(0.01 * m * (3 if f == "debt_servicing_ratio" else 1), 3),
        }
        for m in range(1, 7)
        for f in ("score", "debt_servicing_ratio", "monthly_income")
    ]
    table = [
        {"variable": "debt_servicing_ratio", "bin": "[0.5, inf)", "points": -35.0},
        {"variable": "debt_servicing_ratio", "bin": "[0, 0.5)", "points": 12.0},
    ]
    return evidence_run(
        ctx,
        "risk",
        "scorecard-vs-xgboost",
        {"scorecard_gini": 0.52, "scorecard_ks": 0.41, "xgboost_gini": 0.58, "xgboost_ks": 0.45},
        {
            "roc.json": roc,
            "calibration.json": cal,
            "fairness.json": fair,
            "psi.json": psi,
            "scorecard.json": table,
        },
        "# Risk model card\n\nScorecard and monotone XGBoost.\n",
    )


def chat_evidence(ctx) -> str:
    """An evaluation run shaped like `usecases.chat.evaluate`'s (which takes minutes: too slow for the default tests)."""
    backends = [
        {"backend": "extractive", "correctness": 0.93, "refusal_accuracy": 0.97, "citation_precision": 1.0},
        {"backend": "embedded", "correctness": 0.71, "refusal_accuracy": 0.9, "citation_precision": 0.8},
    ]
    metrics = {f"{b['backend']}_{k}": v for b in backends for k, v in b.items() if k != "backend"}
    metrics.update({"retrieval_hybrid_recall_at_5": 0.98, "retrieval_dense_recall_at_5": 0.95})
    return evidence_run(
        ctx,
        "chat",
        "eval",
        metrics,
        {
            "eval.json": {
                "retrieval": [{"mode": "dense", "recall_at_5": 0.95}, {"mode": "hybrid", "recall_at_5": 0.98}],
                "backends": backends,
                "best_backend": "extractive",
                "questions": 79,
            }
        },
        "# Chat evaluation card\n",
    )


def real_runs(ctx) -> None:
    """Small real data and models through the use cases' public APIs (fraud and risk: seconds each)."""
    from lifecycle_util import lenient_gates, make_champion

    import usecases.fraud as fraud
    import usecases.risk as risk

    for usecase in ("fraud", "risk"):  # tiny data make weak models: the admin opens the gates first
        lenient_gates(ctx.store, ctx.bank, usecase)
    fraud.simulate(ctx, preset="hk", customers=300, days=35, seed=3)
    fraud.train(ctx)
    risk.simulate(ctx, applicants=2_000, vintages=4, seed=3, bias=0.6)
    risk.train(ctx)
    for usecase in ("fraud", "risk"):  # the labs score with the champion: submitted, approved, promoted
        make_champion(ctx.store, ctx, usecase)


_BUILT: dict[str, Store] = {}


def shared(tmp_path_factory) -> Store:
    """One store for every web test module of the session (built on first use)."""
    if "store" not in _BUILT:
        _BUILT["store"] = build(tmp_path_factory.mktemp("web-home"))
    return _BUILT["store"]


def build(home: Path, real: bool = True) -> Store:
    """Create the store at `home`: two banks, four users, quotas; harbour-bank's fraud and risk runs come from the
    use-case APIs on small data (`real`), peak-bank's and the chat runs are evidence runs."""
    s = Store(home)
    s.init("root", PASSWORD)
    for bank, name in ((BANK_A, "Harbour Bank"), (BANK_B, "Peak Bank")):
        s.create_bank(bank, name)
        s.set_quota(bank, 36_000)
    for name, (role, bank) in USERS.items():
        if name != "root":
            s.add_user(name, role, PASSWORD, bank=bank)
    for bank, user in ((BANK_A, "alice"), (BANK_B, "bob")):
        ctx = open_workspace(bank, s.actor(user), s)
        if real and bank == BANK_A:
            real_runs(ctx)
        else:
            fraud_evidence(ctx, 0.61)
            risk_evidence(ctx)
        chat_evidence(ctx)
    return s
