"""Plotly figures and tables drawn from a run's `reports/*.json`.

The reports are written by the use cases; these readers accept the common
shapes (a list of row objects, a dict of equal-length columns, a dict of
named series) so a page keeps working when a report gains a field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import plotly.graph_objects as go

PALETTE = ["#1f6feb", "#d1242f", "#2da44e", "#bf8700", "#8250df", "#0a7b83"]
LAYOUT = dict(
    margin=dict(l=50, r=20, t=50, b=80),
    height=380,
    template="plotly_white",
    # below the plot: a legend at the top right ran into long titles (the KS chart's)
    legend=dict(orientation="h", yanchor="top", y=-0.24, x=0, xanchor="left"),
    title=dict(x=0, xanchor="left", y=0.98, yanchor="top", font=dict(size=15)),
)


def style(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    """The app's chart look: white template, title top left, legend below the plot."""
    fig.update_layout(**LAYOUT)
    fig.update_layout(title_text=title, **layout)
    return fig


# -- shapes -------------------------------------------------------------
def to_frame(obj: Any, index_name: str = "name") -> pd.DataFrame:
    """Any common JSON table shape as a DataFrame (empty when it is not a table)."""
    if obj is None:
        return pd.DataFrame()
    if isinstance(obj, list):
        if obj and all(isinstance(r, dict) for r in obj):
            return pd.DataFrame(obj)
        return pd.DataFrame({"value": obj})
    if isinstance(obj, dict):
        for key in ("rows", "table", "data", "records", "items"):
            if isinstance(obj.get(key), list):
                return to_frame(obj[key], index_name)
        values = list(obj.values())
        if values and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
            return pd.DataFrame(obj)
        if values and all(isinstance(v, dict) for v in values):
            df = pd.DataFrame.from_dict(obj, orient="index")
            df.index.name = index_name
            return df.reset_index()
        if values and all(not isinstance(v, (dict, list)) for v in values):
            mixed = len({type(v) for v in values if v is not None}) > 1
            return pd.DataFrame({index_name: list(obj.keys()), "value": [str(v) for v in values] if mixed else values})
    return pd.DataFrame()


def pick(df: pd.DataFrame, *names: str) -> str | None:
    """The first column of `df` whose name matches one of `names` (case-insensitive)."""
    lower = {str(c).lower(): c for c in df.columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def scalars(obj: Any) -> dict[str, float]:
    """Top-level numeric fields of a report (e.g. the metrics of an evaluation)."""
    if not isinstance(obj, dict):
        return {}
    return {k: float(v) for k, v in obj.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _series(obj: Any, xkeys: Iterable[str], ykeys: Iterable[str]) -> dict[str, tuple[list, list]]:
    """Named (x, y) curves from {x:[], y:[]}, {name: {x:[], y:[]}}, {"curves": ...} or a list of points."""
    xkeys, ykeys = list(xkeys), list(ykeys)

    def one(d: Any) -> tuple[list, list] | None:
        if isinstance(d, list) and d and isinstance(d[0], dict):
            d = pd.DataFrame(d).to_dict(orient="list")
        if not isinstance(d, dict):
            return None
        x = next((d[k] for k in xkeys if isinstance(d.get(k), list)), None)
        y = next((d[k] for k in ykeys if isinstance(d.get(k), list)), None)
        return (x, y) if x is not None and y is not None else None

    if isinstance(obj, dict) and isinstance(obj.get("curves"), (dict, list)):
        obj = obj["curves"]
    single = one(obj)
    if single:
        return {"": single}
    out: dict[str, tuple[list, list]] = {}
    if isinstance(obj, dict):
        for name, sub in obj.items():
            s = one(sub)
            if s:
                out[str(name)] = s
    elif isinstance(obj, list):
        for i, sub in enumerate(obj):
            s = one(sub)
            if s:
                label = (
                    (sub.get("model") or sub.get("name") or f"curve {i + 1}")
                    if isinstance(sub, dict)
                    else f"curve {i + 1}"
                )
                out[str(label)] = s
    return out


def _curve_figure(curves: dict[str, tuple[list, list]], title: str, xt: str, yt: str, diagonal: str = "") -> go.Figure:
    fig = go.Figure()
    for i, (name, (x, y)) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(x=x, y=y, mode="lines", name=name or yt, line=dict(color=PALETTE[i % len(PALETTE)], width=2))
        )
    if diagonal:
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=diagonal, line=dict(color="#999", dash="dot")))
    style(fig, title, xaxis_title=xt, yaxis_title=yt)
    if diagonal:
        fig.update_xaxes(range=[0, 1])
    return fig


# -- fraud ----------------------------------------------------------------
def pr_curve(obj: Any) -> go.Figure | None:
    curves = _series(obj, ("recall",), ("precision",))
    if not curves:
        return None
    fig = _curve_figure(curves, "Precision-recall curve (test period)", "Recall", "Precision")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return fig


def alert_budget_frame(obj: Any) -> pd.DataFrame:
    """Rows of (alerts per day, precision, recall, threshold ...) sorted by budget."""
    if isinstance(obj, dict) and not any(k in obj for k in ("rows", "table", "data", "records", "items")):
        for key in ("budgets", "alert_budget", "curve", "points"):
            if key in obj:
                obj = obj[key]
                break
    df = to_frame(obj, "alerts_per_day")
    col = pick(df, "alerts_per_day", "budget", "alerts", "k", "daily_alerts")
    if col is None or df.empty:
        return pd.DataFrame()
    df = df.rename(columns={col: "alerts_per_day"})
    df["alerts_per_day"] = pd.to_numeric(df["alerts_per_day"], errors="coerce")
    return df.dropna(subset=["alerts_per_day"]).sort_values("alerts_per_day").reset_index(drop=True)


def alert_budget_figure(df: pd.DataFrame, chosen: float | None = None) -> go.Figure:
    fig = go.Figure()
    for i, name in enumerate(c for c in ("precision", "recall") if c in df.columns):
        fig.add_trace(
            go.Scatter(
                x=df["alerts_per_day"],
                y=df[name],
                mode="lines+markers",
                name=name.capitalize(),
                line=dict(color=PALETTE[i]),
            )
        )
    if chosen is not None:
        fig.add_vline(x=chosen, line_dash="dash", line_color="#555")
    style(fig, "Precision and recall by daily alert budget", xaxis_title="Alerts per day")
    fig.update_yaxes(range=[0, 1.02])
    return fig


def bar(
    df: pd.DataFrame, x: str, y: str, title: str, threshold: float | None = None, horizontal: bool = False
) -> go.Figure:
    if horizontal:
        fig = go.Figure(go.Bar(x=df[y], y=df[x], orientation="h", marker_color=PALETTE[0]))
    else:
        fig = go.Figure(go.Bar(x=df[x], y=df[y], marker_color=PALETTE[0]))
    if threshold is not None:
        (fig.add_vline if horizontal else fig.add_hline)(threshold, line_dash="dash", line_color=PALETTE[1])
    style(fig, title)
    return fig


def scenario_recall_frame(obj: Any) -> pd.DataFrame:
    if isinstance(obj, dict) and isinstance(obj.get("scenarios"), (dict, list)):
        obj = obj["scenarios"]
    df = to_frame(obj, "scenario")
    if df.empty:
        return df
    name = pick(df, "scenario", "scenario_id", "name")
    val = pick(df, "recall", "value", "detected_share")
    if name is None or val is None:
        return pd.DataFrame()
    return df.rename(columns={name: "scenario", val: "recall"})


# -- risk -----------------------------------------------------------------
def roc_curve(obj: Any) -> go.Figure | None:
    curves = _series(obj, ("fpr", "false_positive_rate"), ("tpr", "true_positive_rate"))
    return (
        _curve_figure(
            curves, "ROC curve (out-of-time vintage)", "False positive rate", "True positive rate", diagonal="chance"
        )
        if curves
        else None
    )


def calibration_curve(obj: Any, log: bool = False) -> go.Figure | None:
    """Predicted vs observed rate per bin; `log` for rare events (fraud), with the diagonal over the data's range."""
    if isinstance(obj, dict) and isinstance(obj.get("models"), dict):
        obj = obj["models"]
    curves = _series(
        obj,
        ("mean_predicted", "prob_pred", "predicted", "mean_predicted_value"),
        ("fraction_positive", "prob_true", "observed", "fraction_of_positives", "observed_rate"),
    )
    if not curves:
        return None
    if log:
        fig = _curve_figure(
            curves, "Calibration (predicted vs observed fraud rate)", "Predicted probability", "Observed fraud rate"
        )
        pos = [v for x, y in curves.values() for v in list(x) + list(y) if v and v > 0]
        if pos:
            lo, hi = min(pos), max(pos)
            fig.add_trace(
                go.Scatter(
                    x=[lo, hi],
                    y=[lo, hi],
                    mode="lines",
                    name="perfect calibration",
                    line=dict(color="#999", dash="dot"),
                )
            )
        fig.update_xaxes(type="log")
        fig.update_yaxes(type="log")
    else:
        fig = _curve_figure(
            curves,
            "Calibration (predicted vs observed default rate)",
            "Predicted PD",
            "Observed default rate",
            diagonal="perfect calibration",
        )
    for tr in fig.data:
        if tr.name != "perfect calibration":
            tr.mode = "lines+markers"
    return fig


def ks_curve(obj: Any) -> go.Figure | None:
    """Cumulative distributions of the score for goods and bads (the KS gap), when the report has them.

    Accepts cumulative series, or a score histogram {"edges", "repaid", "defaulted"} (the risk lab's
    `score_distribution`), which is accumulated here.
    """
    if not isinstance(obj, dict):
        return None
    hist = obj.get("score_distribution", obj)
    if isinstance(hist, dict) and all(isinstance(hist.get(k), list) for k in ("edges", "repaid", "defaulted")):
        good, bad = pd.Series(hist["repaid"], dtype=float), pd.Series(hist["defaulted"], dtype=float)
        obj = {
            "score": hist["edges"][1:],
            "cdf_good": (good.cumsum() / max(good.sum(), 1)).tolist(),
            "cdf_bad": (bad.cumsum() / max(bad.sum(), 1)).tolist(),
        }
    if isinstance(obj.get("ks"), dict):
        obj = obj["ks"]
    x = next((obj[k] for k in ("score", "scores", "threshold", "thresholds") if isinstance(obj.get(k), list)), None)
    good = next((obj[k] for k in ("cdf_good", "good_cdf", "cum_good", "goods") if isinstance(obj.get(k), list)), None)
    bad = next((obj[k] for k in ("cdf_bad", "bad_cdf", "cum_bad", "bads") if isinstance(obj.get(k), list)), None)
    if x is None or good is None or bad is None:
        return None
    gaps = [abs(g - b) for g, b in zip(good, bad)]
    i = max(range(len(gaps)), key=gaps.__getitem__)
    fig = go.Figure(
        [
            go.Scatter(x=x, y=good, name="Repaid (cumulative)", line=dict(color=PALETTE[2])),
            go.Scatter(x=x, y=bad, name="Defaulted (cumulative)", line=dict(color=PALETTE[1])),
            go.Scatter(
                x=[x[i], x[i]],
                y=[good[i], bad[i]],
                mode="lines",
                name=f"KS {gaps[i]:.2f}",
                line=dict(color="#555", dash="dot"),
            ),
        ]
    )
    style(fig, "KS: cumulative score distributions (out of time)", xaxis_title="Score", yaxis_title="Share")
    return fig


def psi_frame(obj: Any) -> pd.DataFrame:
    """PSI in long form: (vintage, feature, psi).

    Accepts {"vintages": [...], "features": {name: [psi per vintage]}, "score": {model: [...]}} (the risk
    lab's report), rows of (vintage, feature, psi), or a wide table with one column per feature.
    """
    if isinstance(obj, dict) and isinstance(obj.get("vintages"), list) and isinstance(obj.get("features"), dict):
        rows = []
        series = dict(obj["features"])
        series.update({f"score ({m})": v for m, v in (obj.get("score") or {}).items() if isinstance(v, list)})
        for name, values in series.items():
            if isinstance(values, list):
                rows += [{"vintage": v, "feature": name, "psi": p} for v, p in zip(obj["vintages"], values)]
        return pd.DataFrame(rows)
    if isinstance(obj, dict):
        for key in ("by_vintage", "psi_by_vintage", "vintages"):
            if key in obj:
                obj = obj[key]
                break
    df = to_frame(obj, "vintage")
    if df.empty:
        return df
    vint = pick(df, "vintage", "month", "period")
    feat = pick(df, "feature", "variable", "name")
    val = pick(df, "psi", "value")
    if vint and feat and val:
        return df.rename(columns={vint: "vintage", feat: "feature", val: "psi"})[["vintage", "feature", "psi"]]
    if vint:  # wide: one column per feature
        long = df.melt(id_vars=[vint], var_name="feature", value_name="psi").rename(columns={vint: "vintage"})
        long["psi"] = pd.to_numeric(long["psi"], errors="coerce")
        return long.dropna(subset=["psi"])
    return pd.DataFrame()


def psi_figure(df: pd.DataFrame, features: list[str] | None = None) -> go.Figure:
    fig = go.Figure()
    feats = features or sorted(df["feature"].unique())
    for i, f in enumerate(feats):
        sub = df[df["feature"] == f]
        fig.add_trace(
            go.Scatter(
                x=sub["vintage"].astype(str),
                y=sub["psi"],
                mode="lines+markers",
                name=str(f),
                line=dict(color=PALETTE[i % len(PALETTE)]),
            )
        )
    fig.add_hline(0.10, line_dash="dash", line_color="#bf8700", annotation_text="0.10 watch")
    fig.add_hline(0.25, line_dash="dash", line_color=PALETTE[1], annotation_text="0.25 shift")
    style(fig, "Population stability index by vintage", xaxis_title="Vintage", yaxis_title="PSI")
    return fig


def fairness_frame(obj: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per model and protected attribute with its flags, one row per group) from a fairness report.

    Accepts {model: {"thresholds", "attributes": [{attribute, metrics..., groups: [...], flags: [...]}]}} (the risk
    lab's report) or plain rows with a flag column.
    """
    if not isinstance(obj, dict) or not any(isinstance(v, dict) and "attributes" in v for v in obj.values()):
        return to_frame(obj, "group"), pd.DataFrame()
    summary, groups = [], []
    for model, rep in obj.items():
        if not (isinstance(rep, dict) and isinstance(rep.get("attributes"), list)):
            continue
        th = rep.get("thresholds", {})
        for a in rep["attributes"]:
            flags = a.get("flags") or []
            summary.append(
                {
                    "model": model,
                    "attribute": a.get("attribute"),
                    **{k: round(v, 4) for k, v in a.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
                    "flag": bool(flags),
                    "breaches": ", ".join(flags),
                    "limits": f"difference <= {th.get('max_difference', '?')}, ratio >= {th.get('min_ratio', '?')}",
                }
            )
            for g in a.get("groups") or []:
                groups.append({"model": model, "attribute": a.get("attribute"), **g})
    return pd.DataFrame(summary), pd.DataFrame(groups)


def metric_bars(rows: list[dict], metric: str, title: str) -> go.Figure:
    df = pd.DataFrame(rows)
    fig = go.Figure(go.Bar(x=df["label"], y=df[metric], marker_color=PALETTE[: len(df)]))
    style(fig, title)
    return fig
