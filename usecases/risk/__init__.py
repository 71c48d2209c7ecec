"""Credit risk lab: simulated HK applicants with a known ground truth, a binned scorecard vs a monotone
XGBoost model, reason codes, fairness and stability checks. Every function takes the workspace context first.

    simulate(ctx, applicants=20000, vintages=12, seed=0, bias=0.0, drift=0.0, progress=None) -> SimulationResult
    train(ctx, progress=None, **options) -> TrainResult          (one MLflow run, model registered as <bank>.risk)
    explain(ctx, applicants, model="xgboost", top=4) -> list[Explanation]
    scorecard_table(ctx, run_id=None) -> DataFrame; report(ctx, run_id, name) -> dict; model_card(ctx, run_id) -> str
    (report names: REPORTS, their paths: report_path(name); result shapes: docs/results.md)
"""

from .lab import (
    REPORTS,
    TRAIN_OPTIONS,
    SimulationResult,
    TrainResult,
    explain,
    latest_run_id,
    load_data,
    model_card,
    report,
    report_path,
    scorecard_table,
    simulate,
    train,
)
from .reasons import Explanation
from .schema import FEATURE_NAMES
from .simulator import DRIFTED_FEATURES

__all__ = [
    "DRIFTED_FEATURES",
    "Explanation",
    "FEATURE_NAMES",
    "REPORTS",
    "SimulationResult",
    "TRAIN_OPTIONS",
    "TrainResult",
    "explain",
    "latest_run_id",
    "load_data",
    "model_card",
    "report",
    "report_path",
    "scorecard_table",
    "simulate",
    "train",
]
