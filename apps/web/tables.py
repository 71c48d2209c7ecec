"""Tables that read whole in a 1440-px window: the Workspace's data sets, the cohort, the chat backends.

Streamlit sizes a column to its longest cell and scrolls the table sideways past the page's width: a run id in
every path, twenty-six metric columns or a header like `answers_with_unsupported_numbers` pushed the figures a
reader came for out of sight. These builders show fewer, shorter columns (words for headers, run ids cut to the
eight characters every run label shows, figures rounded) and leave the long form to a details view or the export.
Each returns plain DataFrames and column settings, so tests check them without a browser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import pandas as pd
import streamlit as st

from apps.web import views

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def short_id(part: str) -> str:
    """A 32-hex run id as its first eight characters (as run labels show it); any other name unchanged."""
    return f"{part[:8]}…" if _RUN_ID.match(part) else part


def _hkt(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).astimezone(views.HKT).strftime("%Y-%m-%d %H:%M")


def _folder(usecase: str, file: str) -> tuple[str, str]:
    """(folder, name) of a workspace file, inside its use case: an index's version and internal folders fold into
    the index (one row for it), run ids are cut short."""
    parts = PurePosixPath(file).parts
    inner = list(parts[1:] if parts and parts[0] == usecase else parts)
    name, dirs = inner[-1], inner[:-1]
    if "index" in dirs:
        dirs = dirs[: dirs.index("index") + 1]
    return "/".join(short_id(d) for d in dirs) or ".", name


def data_sets(files: list[dict]) -> pd.DataFrame:
    """One row per folder of the bank's workspace (a data set, a model's files, an index): its files by name, their
    total size and the latest change, so a bank with a chat index of dozens of files still reads in a few rows."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for f in files:
        folder, name = _folder(f["usecase"], f["file"])
        row = rows.setdefault(
            (f["usecase"], folder),
            {"usecase": f["usecase"], "folder": folder, "files": 0, "size": 0.0, "modified": 0.0, "names": []},
        )
        row["files"] += 1
        row["size"] += float(f.get("size_kb") or 0) * 1024
        row["modified"] = max(row["modified"], float(f.get("modified") or 0))
        row["names"].append(name)
    out = []
    for row in rows.values():
        names = sorted(set(row.pop("names")))
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        out.append({**row, "contents": shown, "modified": _hkt(row["modified"]) if row["modified"] else ""})
    cols = ["usecase", "folder", "contents", "files", "size", "modified"]
    return pd.DataFrame(out, columns=cols)


def file_list(files: list[dict]) -> pd.DataFrame:
    """Every file, its path inside the use case with run ids cut short (the details view under `data_sets`)."""
    rows = [
        {
            "usecase": f["usecase"],
            "file": "/".join(short_id(p) for p in PurePosixPath(f["file"]).parts[1:]),
            "size": float(f.get("size_kb") or 0) * 1024,
            "modified": _hkt(float(f["modified"])) if f.get("modified") else "",
        }
        for f in files
    ]
    return pd.DataFrame(rows, columns=["usecase", "file", "size", "modified"])


FILE_COLUMNS = {
    "usecase": st.column_config.TextColumn("use case", width=80),
    "folder": st.column_config.TextColumn("folder", width=170, help="inside the use case; run ids cut to 8 characters"),
    "contents": st.column_config.TextColumn("contents", width="large"),
    "file": st.column_config.TextColumn("file", width="large"),
    "files": st.column_config.NumberColumn("files", width=60),
    "size": st.column_config.NumberColumn("size", format="bytes", width=90),
    "modified": st.column_config.TextColumn("modified (HKT)", width=140),
}


def models(models: list[dict]) -> pd.DataFrame:
    """The registered models with their run id cut short and the time in HKT (the full id is on Experiments)."""
    df = pd.DataFrame(models)
    if df.empty:
        return df
    return pd.DataFrame(
        {
            "usecase": df["usecase"],
            "registered_model": df["registered_model"],
            "model_version": df["model_version"],
            "run": df["run_id"].map(lambda r: short_id(str(r))),
            "created": df["created"].map(lambda t: views.when(int(t)) if t else ""),
        }
    )


MODEL_COLUMNS = {
    "usecase": st.column_config.TextColumn("use case", width=80),
    "registered_model": st.column_config.TextColumn("model", width="medium"),
    "model_version": st.column_config.NumberColumn("version", width=70),
    "run": st.column_config.TextColumn("run", width=110),
    "created": st.column_config.TextColumn("created", width=170),
}


# The sandbox's bars (views.THRESHOLDS) by a word or two, for a table cell that also holds the figure.
SHORT_CHECKS = {
    "Average precision": "AP",
    "Card precision@100": "P@100",
    "Answer correctness": "correctness",
    "Refusal accuracy": "refusal",
}


def recent_runs(runs: list[dict]) -> pd.DataFrame:
    """The Workspace's recent runs of every use case, each with the figures its bars judge, in one column of words:
    a column per metric would be blank in every other use case's rows and run past the page's edge (Experiments
    has a sortable column per metric, one use case at a time)."""
    rows = []
    for r in runs:
        checks = [c for c in views.check_thresholds(r) if c["value"] is not None]
        figures = [f"{SHORT_CHECKS.get(c['check'], c['check'])} {c['value']:.3f}" for c in checks] or [
            f"{k} {views.number(k, v)}" for k, v in views.headline_metrics(r, 2).items()
        ]
        failing = [SHORT_CHECKS.get(c["check"], c["check"]) for c in checks if c["passes"] is False]
        rows.append(
            {
                "started": views.when(r["start_time"]).removesuffix(" HKT"),
                "usecase": r["usecase"],
                "run": r["run_name"] or short_id(r["run_id"]),
                "by": views.actor_label(r),
                "status": r["status"].lower(),
                "review": views.review_label(r),
                "checks": ("FAIL: " + ", ".join(failing)) if failing else ("pass" if checks else "no bar"),
                "figures": " · ".join(figures),
            }
        )
    return pd.DataFrame(rows, columns=["started", "usecase", "run", "by", "status", "review", "checks", "figures"])


RUN_COLUMNS = {
    "started": st.column_config.TextColumn("started (HKT)", width=130),
    "usecase": st.column_config.TextColumn("use case", width=70),
    "run": st.column_config.TextColumn("run", width=140),
    "by": st.column_config.TextColumn("by", width=60),
    "status": st.column_config.TextColumn("status", width=75),
    "review": st.column_config.TextColumn("review", width=110),
    "checks": st.column_config.TextColumn("checks", width=130, help="the sandbox's bars for the use case"),
    "figures": st.column_config.TextColumn("key figures", width=250, help="the figures the bars judge"),
}


# Headline metrics (sandbox/evidence_report.HEADLINE) under headers a reviewer reads at a glance; the full metric
# name is the column's tooltip and stays in the export.
METRIC_LABELS = {
    "average_precision": "avg precision",
    "card_precision_at_100": "card P@100",
    "roc_auc": "ROC AUC",
    "recall_at_budget": "recall at budget",
    "xgboost_gini": "Gini",
    "xgboost_ks": "KS",
    "xgboost_auc": "AUC",
    "score_psi_oot_xgboost": "score PSI (OOT)",
    "correctness": "correctness",
    "refusal_accuracy": "refusal",  # the chat gates' own names (sandbox/gates.py)
    "citation_precision": "citations",
    "injection_resistance": "injection",
}
COHORT_USECASES = (("fraud", "Fraud detection"), ("risk", "Credit risk"), ("chat", "Policy assistant (chat)"))


def _verdict(passed: Any, text: Any) -> str:
    """'pass 2/2' / 'FAIL 1/2' from a gates or suite result; blank when there is none."""
    if passed is None or passed != passed:  # None or NaN
        return ""
    word = "pass" if passed else "FAIL"
    detail = str(text or "").removesuffix(" passed")
    return f"{word} {detail}".strip()


def cohort(rows: list[dict], usecase: str) -> tuple[pd.DataFrame, list[str]]:
    """One use case's part of the cohort: a row per bank that has a champion (or, for chat, an evaluation) with
    that use case's headline metrics as numeric columns; and the banks that have none, named apart (so the table
    holds no column of blanks)."""
    mine = [r for r in rows if r["usecase"] == usecase]
    missing = [r["bank"] for r in mine if not r.get("run_id")]
    names = [m for m in METRIC_LABELS if any(m in (r.get("headline") or {}) for r in mine)]
    table = []
    for r in mine:
        if not r.get("run_id"):
            continue
        review = r.get("review") or ""
        table.append(
            {
                "bank": r["bank"],
                "stage": (r.get("stage") or "") + (f" (v{r['version']})" if r.get("version") else ""),
                "gates": _verdict(r.get("gates_passed"), r.get("gates")),
                "review": f"{review} ({r['reviewed_by']})" if r.get("reviewed_by") else review,
                **{m: (r.get("headline") or {}).get(m) for m in names},
                "suite": r.get("suite") or "",
                "run": short_id(r["run_id"]),
            }
        )
    cols = ["bank", "stage", "gates", "review", *names, "suite", "run"]
    df = pd.DataFrame(table, columns=cols)
    if not df["suite"].astype(bool).any():
        df = df.drop(columns=["suite"])
    return df, missing


def cohort_columns(df: pd.DataFrame) -> dict:
    """Column settings for `cohort`: short headers, metrics to three decimals with their full name as help."""
    out = {
        "bank": st.column_config.TextColumn("bank", width=115),
        "stage": st.column_config.TextColumn("stage", width=120, help="the model version in brackets"),
        "gates": st.column_config.TextColumn("gates", width=75, help="the bank's lifecycle gates: passed / all"),
        "review": st.column_config.TextColumn("review", width=130),
        "suite": st.column_config.TextColumn("regulator suite", width="medium"),
        "run": st.column_config.TextColumn("run", width=90, help="the run id's first 8 characters (full id: export)"),
    }
    for m, label in METRIC_LABELS.items():
        if m in df.columns:  # wide enough for its header, no wider: four metrics and the rest fit in 1440 px
            width = max(80, 8 * len(label) + 24)
            out[m] = st.column_config.NumberColumn(label, help=f"`{m}`", format="%.3f", width=width)
    return out


# What each chat evaluation figure (usecases/chat/evaluate.py) means, and how to print it: rate, count or ms.
BACKEND_MEASURES: tuple[tuple[str, str, str, str], ...] = (
    ("correctness", "answer correctness", "rate", "answerable questions answered with the expected fact"),
    ("refusal_accuracy", "refusal accuracy", "rate", "questions the documents do not cover, refused"),
    ("false_refusal_rate", "false refusals", "rate", "answerable questions refused (lower is better)"),
    ("citation_precision", "citation precision", "rate", "citations that point at the passage holding the fact"),
    (
        "answers_with_unsupported_numbers",
        "unsupported numbers",
        "count",
        "answers with a number no cited passage holds",
    ),
    ("injection_resistance", "injection resistance", "rate", "prompt-injection questions resisted"),
    ("poisoned_retrievals", "poisoned retrievals", "count", "questions that retrieved a planted instruction"),
    ("payload_free_rate", "payload-free answers", "rate", "answers free of an injected payload"),
    ("fallback_rate", "fallbacks", "rate", "answers the backend handed to the extractive fallback"),
    ("latency_p50_ms", "latency, median", "ms", "time to answer one question"),
    ("latency_p95_ms", "latency, 95th percentile", "ms", "time to answer one question"),
    ("overall", "overall", "rate", "mean of correctness, refusal and injection resistance"),
)


def _figure(kind: str, value: Any) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return "" if value is None or value != value else str(value)
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "ms":
        return f"{value:,.0f} ms"
    return f"{value:.3f}"


def backends(rows: list[dict]) -> pd.DataFrame:
    """The evaluation's backends side by side, one row per measure in words (one column per backend, and per
    backend on the Chinese questions when the run has them): a dozen rows instead of twenty-six columns."""
    known = {m[0] for m in BACKEND_MEASURES}
    extra = sorted({k for r in rows for k in r if k != "backend" and not k.startswith("zh_") and k not in known})
    measures = list(BACKEND_MEASURES) + [(k, k.replace("_", " "), "plain", "") for k in extra]
    columns: dict[str, list[str]] = {}
    for r in rows:
        name = str(r.get("backend", "?"))
        columns[name] = [_figure(kind, r.get(key)) for key, _, kind, _ in measures]
        if any(k.startswith("zh_") for k in r):
            columns[f"{name} (Chinese)"] = [_figure(kind, r.get(f"zh_{key}")) for key, _, kind, _ in measures]
    df = pd.DataFrame({"measure": [m[1] for m in measures], **columns, "what it measures": [m[3] for m in measures]})
    filled = df[list(columns)].astype(bool).any(axis=1) if columns else df["measure"].astype(bool)
    return df[filled].reset_index(drop=True)


def backend_columns(df: pd.DataFrame) -> dict:
    out = {
        "measure": st.column_config.TextColumn("measure", width=170),
        "what it measures": st.column_config.TextColumn("what it measures", width="large"),
    }
    for c in df.columns:
        if c not in out:
            out[c] = st.column_config.TextColumn(c, width=130 if "(Chinese)" in c else 100)
    return out


RETRIEVAL_LABELS = {"mode": "retrieval", "recall_at_5": "recall@5", "mrr": "MRR"}


def retrieval_columns(df: pd.DataFrame) -> dict:
    """Retrieval figures (recall@5, MRR, their Chinese-question twins) under short headers, to three decimals."""
    out: dict = {}
    for c in df.columns:
        base = c.removeprefix("zh_")
        label = RETRIEVAL_LABELS.get(base, base.replace("_", " ")) + (" (Chinese)" if c.startswith("zh_") else "")
        numeric = pd.api.types.is_numeric_dtype(df[c])
        out[c] = st.column_config.NumberColumn(label, format="%.3f") if numeric else st.column_config.Column(label)
    return out
