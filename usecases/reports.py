"""The reports each use case's runs keep (`reports/<name>.json`), declared once by name.

Light to import on purpose (no model libraries): the web app's pages and the CLI read a run's reports by these
names instead of guessing from its file names, and the use cases (`usecases.fraud.REPORTS`,
`usecases.risk.REPORTS`) re-export their own entry. The shapes are in docs/results.md.
"""

from __future__ import annotations

from sandbox.errors import InvalidInput

REPORTS: dict[str, tuple[str, ...]] = {
    "fraud": (
        "metrics",
        "pr_curve",
        "alert_budget",
        "recall_per_scenario",
        "feature_importance",
        "calibration",
        "folds",
    ),
    "risk": ("metrics", "scorecard", "fairness", "psi", "roc", "calibration", "monotonicity"),
}


def report_path(usecase: str, name: str) -> str:
    """The artifact path of report `name` of a `usecase` run; a name the use case does not declare is refused."""
    names = REPORTS.get(usecase, ())
    if name not in names:
        raise InvalidInput("report", f"{name!r} is not a {usecase} report", f"use one of {', '.join(names)}")
    return f"reports/{name}.json"
