"""Regulator-held suite results as the bank's ledger holds them: the one reader the faces, the cohort table and
the evidence pack share.

A suite run (usecases/assure/suite_runs.py) appends one `assure.suite_run` entry to the bank's hash-chained audit
log: the suite's name and use case, the champion version it scored, the suite's aggregate metrics, the bank's own
test figures beside them, the optimism gaps, the gate results and the MLflow run id. No rows, no seed, nothing a
bank could regenerate the suite from. Reading needs `runs.read` in the bank, so a scientist sees their own bank's
results only (the door refuses another bank) and a reviewer every bank's.
"""

from __future__ import annotations

from typing import Any

EVENT = "assure.suite_run"
KEYS = (
    "suite",
    "usecase",
    "model_version",
    "run_id",
    "metrics",
    "bank_figures",
    "gaps",
    "gates",
    "passed",
    "requested_by",
    "suite_rows",
)


def bank_results(ctx, usecase: str | None = None) -> list[dict[str, Any]]:
    """Every suite result of the bank (oldest first), optionally of one use case; each a plain dict."""
    ctx.require("runs.read")
    out = []
    for e in ctx.audit_log.entries():
        data = e.get("data") or {}
        if e.get("event") != EVENT or not isinstance(data, dict):
            continue
        if usecase is not None and data.get("usecase") != usecase:
            continue
        out.append({"bank": ctx.bank, "at": e.get("ts"), "seq": e.get("seq"), **{k: data.get(k) for k in KEYS}})
    return out


def latest(ctx, usecase: str, version: str | None = None) -> dict[str, Any] | None:
    """The newest result of `usecase` (of that model version when given), or None."""
    rows = [r for r in bank_results(ctx, usecase) if version is None or str(r.get("model_version")) == str(version)]
    return rows[-1] if rows else None


def summary(result: dict[str, Any] | None) -> str | None:
    """One line for a table cell: 'NAME v3 pass; average_precision_gap -0.120'."""
    if not result:
        return None
    gaps = result.get("gaps") or {}
    head = next(iter(gaps.items()), None)
    verdict = "pass" if result.get("passed") else "FAIL"
    return f"{result.get('suite')} v{result.get('model_version')} {verdict}" + (
        f"; {head[0]} {head[1]:+.3f}" if head and head[1] is not None else ""
    )


def for_version(ctx, usecase: str, version: str | None) -> list[dict[str, Any]]:
    """The results of one model version (an evidence pack's subject); none for a run without a version."""
    if version is None:
        return []
    return [r for r in bank_results(ctx, usecase) if str(r.get("model_version")) == str(version)]


def table_rows(results: list[dict[str, Any]]) -> list[tuple]:
    """(suite, at, passed, metric, suite value, bank's test figure, gap) per headline metric, for reports."""
    out = []
    for r in results:
        metrics, gaps = r.get("metrics") or {}, r.get("gaps") or {}
        for k, own in (r.get("bank_figures") or {}).items():
            out.append(
                (
                    r.get("suite"),
                    str(r.get("at", ""))[:19],
                    "pass" if r.get("passed") else "FAIL",
                    k,
                    metrics.get(k),
                    own,
                    gaps.get(f"{k}_gap"),
                )
            )
    return out
