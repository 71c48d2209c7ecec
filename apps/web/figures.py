"""One definition per figure of a run, drawn the same for every role.

The Fraud lab, the Risk lab and a run's detail (the bank's Experiments page and the HKMA console alike) draw a
run's charts from its `reports/*.json` through the builders here, so a reviewer sees the scientist's figure, not
a static PNG of another design. Each chart sits in a container of its final height, reserved before the figure
arrives: the page does not grow and jump as the charts draw.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.web import charts
from usecases.reports import report_path

Reader = Callable[[str], Any]  # report path (e.g. "reports/pr_curve.json") -> parsed JSON or None
RISK_MODELS = ("scorecard", "xgboost")
CHART_HEIGHT = charts.LAYOUT["height"]


@dataclass(frozen=True)
class Figure:
    key: str  # stable id, also the Streamlit element key's stem
    figure: go.Figure


def report_named(arts: list[str], *words: str) -> str | None:
    """The run's report whose file name contains every word (e.g. 'roc'), or None. For reports a use case does
    not declare; a declared one is read by its name (`usecases.reports.report_path`)."""
    for a in arts:
        name = a.rsplit("/", 1)[-1].lower()
        if a.startswith(("reports/", "evaluation/")) and a.endswith(".json") and all(w in name for w in words):
            return a
    return None


def risk_model_metrics(metrics: dict[str, float]) -> pd.DataFrame:
    """Metrics named '<model>_<metric>' or '<model>.<metric>' as a model x metric table."""
    rows: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        m = re.match(rf"^({'|'.join(RISK_MODELS)})[._](.+)$", key)
        if m:
            rows.setdefault(m.group(1), {})[m.group(2)] = round(value, 4)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model").reset_index() if rows else pd.DataFrame()


def fraud(read: Reader, arts: list[str]) -> list[Figure]:
    out = []
    if (fig := charts.pr_curve(read(report_path("fraud", "pr_curve")))) is not None:
        out.append(Figure("pr", fig))
    if (scen_path := report_path("fraud", "recall_per_scenario")) in arts:
        scen = charts.scenario_recall_frame(read(scen_path))
        if not scen.empty:
            out.append(
                Figure(
                    "scenario",
                    charts.bar(
                        scen.sort_values("recall"), "scenario", "recall", "Recall per fraud scenario", horizontal=True
                    ),
                )
            )
    if (imp_path := report_path("fraud", "feature_importance")) in arts:
        imp = charts.to_frame(read(imp_path), "feature")  # columns feature, importance, description (training.py)
        if {"feature", "importance"} <= set(imp.columns):
            top = imp.sort_values("importance", ascending=False).head(15).sort_values("importance")
            out.append(
                Figure(
                    "importance",
                    charts.bar(top, "feature", "importance", "Feature importance (top 15)", horizontal=True),
                )
            )
    cal_path = report_path("fraud", "calibration")
    if cal_path in arts and (fig := charts.calibration_curve(read(cal_path), log=True)):
        out.append(Figure("calibration", fig))
    return out


def risk(read: Reader, arts: list[str], metrics: dict[str, float], bar: float = 0.40) -> list[Figure]:
    out = []
    roc, cal = report_path("risk", "roc"), report_path("risk", "calibration")  # the KS curve is drawn from
    for key, name, build in (
        ("roc", roc, charts.roc_curve),  # the calibration report's bins
        ("ks", cal, charts.ks_curve),
        ("calibration", cal, charts.calibration_curve),
    ):
        if name in arts and (fig := build(read(name))) is not None:
            out.append(Figure(key, fig))
    table = risk_model_metrics(metrics)
    if not table.empty and {"gini", "ks"} & set(table.columns):
        long = table.melt(id_vars="model", value_vars=[c for c in ("gini", "ks", "auc") if c in table.columns])
        long["label"] = long["model"] + " " + long["variable"]
        fig = charts.metric_bars(long.to_dict("records"), "value", "Gini, KS and AUC by model (out of time)")
        fig.add_hline(bar, line_dash="dash", line_color=charts.PALETTE[1], annotation_text=f"{bar:.2f} bar")
        out.append(Figure("gini_ks", fig))
    return out


def for_run(run: dict, read: Reader, arts: list[str]) -> list[Figure]:
    """The figures of any run, by its use case (chat runs have tables, not figures)."""
    if run["usecase"] == "fraud":
        return fraud(read, arts)
    if run["usecase"] == "risk":
        return risk(read, arts, run["metrics"])
    return []


def slot(where: Any = st) -> Any:
    """A container of the chart's final height, placed now: the figure fills it without moving the page."""
    return where.container(height=CHART_HEIGHT + 20, border=False)


def show(figures: list[Figure], key: str, columns: int = 2) -> None:
    """Figures in a grid, each in its reserved slot."""
    if not figures:
        return
    cols = st.columns(columns)
    slots = [slot(cols[i % columns]) for i in range(len(figures))]
    for s, f in zip(slots, figures):
        s.plotly_chart(f.figure, key=f"{key}-{f.key}")
