"""The answer of `models compare`, whatever the use case: one shape the CLI, the API and the evidence pack read,
and one audit event.

Each use case chooses its held-out window, scores it with both versions and bootstraps the difference of its
headline metric (sandbox/bootstrap.py); what it hands back and what the audit log keeps is written here once.
"""

from __future__ import annotations

from typing import Any


def result(
    ctx,
    usecase: str,
    champion_version: Any,
    challenger_version: Any,
    out: dict,
    *,
    metric: str,
    window: dict,
    other_metrics: dict,
    champion_run: Any,
    challenger_run: Any,
) -> dict:
    """Audit the comparison (`models.compare`) and return its result: the use case, the headline `metric`, the
    held-out `window`, the other metrics of each side, both runs, then the bootstrap's `out` (difference, interval)."""
    ctx.audit(
        "models.compare",
        usecase=usecase,
        champion=champion_version,
        challenger=challenger_version,
        difference=round(out["difference"], 6),
    )
    return {
        "usecase": usecase,
        "metric": metric,
        "window": window,
        "other_metrics": other_metrics,
        "champion_run": champion_run,
        "challenger_run": challenger_run,
        **out,
    }
