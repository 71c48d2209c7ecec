"""Fraud lab: simulate or import transactions, build leakage-free features, train and evaluate detectors,
score in batch or in real time. Every function takes the bank's `WorkspaceContext` first.

    simulate(ctx, preset="hk")            -> SimulationResult   (data set into the bank's workspace)
    import_transactions(ctx, file)        -> ImportReport       (schema: see usecases.fraud.schema)
    train(ctx, model="xgboost", protocol=None) -> TrainResult   (MLflow run, model card, registered model;
                                                                 protocol "handbook": four folds, "latest": one)
    score_batch(ctx, input_path, output)  -> dict               (a scored file)
    load_scorer(ctx)                      -> StreamingScorer    (.score(txn) -> ScoreResult)
    latest_run(ctx) / report(ctx, run_id, name)                 (read a run's evidence back; names: REPORTS,
                                                                 paths: report_path(name); docs/results.md)
"""

from __future__ import annotations

import json
import os

# OpenMP threads that spin while waiting are ruinous on a shared 2-core machine (XGBoost fit: 18 s busy-waiting
# instead of 0.6 s, measured); this must be set before xgboost or lightgbm load their OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from sandbox.errors import NotFound
from usecases import reports

from .ingest import import_transactions, simulate
from .schema import ImportReport
from .scorer import ScoreResult, StreamingScorer, load_scorer, score_batch
from .simulator import SimulationResult
from .training import TrainResult, train

REPORTS = reports.REPORTS["fraud"]  # declared once, in usecases/reports.py (the web app reads it without the models)

__all__ = [
    "ImportReport",
    "ScoreResult",
    "SimulationResult",
    "StreamingScorer",
    "TrainResult",
    "import_transactions",
    "latest_run",
    "load_scorer",
    "report",
    "report_path",
    "score_batch",
    "simulate",
    "train",
    "REPORTS",
]


def latest_run(ctx, model: str | None = None) -> dict | None:
    """The bank's newest finished fraud run (optionally of one model kind) as plain data, or None."""
    for run in ctx.runs("fraud", filter_string="attributes.status = 'FINISHED'"):
        if model and run.data.params.get("model") != model:
            continue
        return {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "start_time": run.info.start_time,
            "params": dict(run.data.params),
            "metrics": dict(run.data.metrics),
            "tags": {k: v for k, v in run.data.tags.items() if k.startswith(("sandbox.", "review."))},
        }
    return None


def report_path(name: str) -> str:
    """Where a fraud run keeps report `name` (one of REPORTS): the CLI and the app read reports by this name,
    not by guessing from the run's file names."""
    return reports.report_path("fraud", name)


def report(ctx, run_id: str, name: str) -> dict:
    """One of a run's JSON reports (reports/<name>.json); reviewers may read these."""
    path = report_path(name)
    try:
        text = ctx.read_artifact_text(run_id, path)
    except (OSError, NotFound) as exc:
        if isinstance(exc, NotFound):
            raise
        raise NotFound(
            f"run {run_id} has no report {name}", "train a model first: `sandbox fraud train BANK`"
        ) from None
    return json.loads(text)
