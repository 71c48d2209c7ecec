"""The answer of `models compare`, whatever the use case: one shape the CLI, the API and the evidence pack read,
and one audit event.

Each use case chooses its held-out window, scores it with both versions and bootstraps the difference of its
headline metric (sandbox/bootstrap.py); what it hands back and what the audit log keeps is written here once.
"""

from __future__ import annotations


def result(
    ctx, usecase: str, versions: tuple, runs: tuple, out: dict, metric: str, window: dict, other_metrics: dict
) -> dict:
    """Audit the comparison (`models.compare`) and return its result: the use case, the headline `metric`, the
    held-out `window`, the other metrics of each side, both runs (champion, challenger), then the bootstrap's `out`
    (difference, interval)."""
    ctx.audit(
        "models.compare",
        usecase=usecase,
        champion=versions[0],
        challenger=versions[1],
        difference=round(out["difference"], 6),
    )
    return {
        "usecase": usecase,
        "metric": metric,
        "window": window,
        "other_metrics": other_metrics,
        "champion_run": runs[0],
        "challenger_run": runs[1],
        **out,
    }
