"""The binned logistic scorecard: OptBinning's BinningProcess + Scorecard, persisted as JSON.

OptBinning does the binning (optimal, monotone in the declared direction,
special codes and missing values in their own bins), the WoE transform and
the points scaling ("points to double the odds"). We never write WoE code.

OptBinning objects are not pickled: `export()` turns the fitted scorecard
into a JSON-able table of splits and points per variable, and `PointsTable`
scores from that table alone (checked against OptBinning's own `score()` at
training time, so the two can never drift apart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .features import DIRECTIONS, scorecard_dtype, scorecard_trend
from .schema import FEATURE_NAMES, FIELDS, Clean

SPECIAL_CODES = [-1]

# How versions before the fix wrote a bin of categories: the repr of OptBinning's array
# ("<ArrowStringArray>\n['a', 'b']\nLength: 2, dtype: str", or numpy's "['a' 'b']").
_ARRAY_REPR = re.compile(r"<\w*Array>\s*\[(?P<inner>.*?)\]\s*Length: \d+, dtype: [\w\[\]]+", re.S)
_QUOTED = re.compile(r"'([^']*)'")


def bin_label(b: Any) -> str:
    """One bin as plain text: a numeric interval as OptBinning writes it, a group of categories as 'a, b'."""
    if isinstance(b, str):
        return clean_label(b)
    if isinstance(b, (list, tuple, np.ndarray)) or hasattr(b, "tolist"):
        return ", ".join(str(c) for c in list(b))
    return str(b)


def clean_label(label: str) -> str:
    """A bin label stored by an older version as an array repr, made plain ('a, b'); other labels unchanged."""
    text = label.strip()
    m = _ARRAY_REPR.fullmatch(text)
    if m:
        inner = m.group("inner")
    elif text.startswith("[") and text.endswith("]") and "'" in text:  # numpy's repr; numeric intervals have no quotes
        inner = text[1:-1]
    else:
        return label
    items = _QUOTED.findall(inner)
    return ", ".join(items) if items else label


def clean_text(text: str) -> str:
    """Older model cards: every array repr in the text replaced by its plain label."""
    return _ARRAY_REPR.sub(lambda m: clean_label(m.group(0)), text)


def clean_spec(spec: dict) -> dict:
    """An exported spec with plain bin labels (a no-op for specs exported since the fix)."""
    variables = [{**v, "bins": [{**b, "bin": clean_label(b["bin"])} for b in v["bins"]]} for v in spec["variables"]]
    return {**spec, "variables": variables}


def frame(clean: Clean) -> pd.DataFrame:
    """The scorecard's view of applicants: numbers (special codes kept) and category strings."""
    cols = {}
    for name in FEATURE_NAMES:
        if scorecard_dtype(name) == "categorical":
            cols[name] = clean.text[name].astype(object)
        else:
            cols[name] = clean.numeric[name]
    return pd.DataFrame(cols)


def fit(
    X: pd.DataFrame,
    y: np.ndarray,
    pdo: float = 20.0,
    base_points: float = 600.0,
    base_odds: float = 50.0,
    max_n_bins: int = 8,
):
    """Fit OptBinning's BinningProcess + Scorecard (logistic regression on WoE, scaled to points)."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    names = list(FEATURE_NAMES)
    categorical = [n for n in names if scorecard_dtype(n) == "categorical"]
    fit_params = {}
    for n in names:
        p: dict[str, Any] = {"max_n_bins": max_n_bins}
        if n not in categorical:
            p["monotonic_trend"] = scorecard_trend(n)
        fit_params[n] = p
    transform_params = {n: {"metric_special": "empirical", "metric_missing": "empirical"} for n in names}
    bp = BinningProcess(
        names,
        categorical_variables=categorical,
        special_codes=SPECIAL_CODES,
        binning_fit_params=fit_params,
        binning_transform_params=transform_params,
        min_prebin_size=0.02,
    )
    sc = Scorecard(
        binning_process=bp,
        estimator=LogisticRegression(max_iter=2000),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": pdo, "odds": base_odds, "scorecard_points": base_points},
    )
    sc.fit(X, y)
    return sc


def export(sc, pdo: float, base_points: float, base_odds: float) -> dict:
    """The fitted scorecard as plain JSON: per variable its splits and the points of every bin."""
    table = sc.table(style="detailed")
    bp = sc.binning_process_
    variables = []
    for name in FEATURE_NAMES:
        rows = table[table["Variable"] == name].reset_index(drop=True)
        ob = bp.get_binned_variable(name)
        labels = [bin_label(b) for b in rows["Bin"]]  # the one place bins become text: CLI, card, MLflow, web
        points = [float(p) for p in rows["Points"]]
        counts = [int(c) for c in rows["Count"]]
        event_rate = [float(e) for e in rows["Event rate"]]
        special_i = labels.index("Special")
        missing_i = labels.index("Missing")
        regular = [i for i in range(len(labels)) if i not in (special_i, missing_i)]
        entry: dict[str, Any] = {
            "variable": name,
            "dtype": scorecard_dtype(name),
            "direction": DIRECTIONS[name],
            "bins": [
                {"bin": labels[i], "points": points[i], "count": counts[i], "event_rate": event_rate[i]}
                for i in regular
            ],
            "special": {
                "bin": "Special",
                "points": points[special_i],
                "count": counts[special_i],
                "event_rate": event_rate[special_i],
            },
            "missing": {
                "bin": "Missing",
                "points": points[missing_i],
                "count": counts[missing_i],
                "event_rate": event_rate[missing_i],
            },
        }
        if entry["dtype"] == "numerical":
            entry["splits"] = [float(s) for s in ob.splits]
        else:
            entry["categories"] = [[str(c) for c in group] for group in ob.splits]
        variables.append(entry)
    factor = pdo / np.log(2)
    return {
        "format": "risk-scorecard/1",
        "pdo": pdo,
        "base_points": base_points,
        "base_odds": base_odds,
        "factor": float(factor),
        "offset": float(base_points - factor * np.log(base_odds)),
        "special_codes": SPECIAL_CODES,
        "variables": variables,
    }


@dataclass
class PointsTable:
    """Scores applicants from the exported JSON alone: points per attribute, total score, PD."""

    spec: dict

    def __post_init__(self) -> None:
        self.spec = clean_spec(self.spec)
        self._vars = []
        for v in self.spec["variables"]:
            pts = np.array([b["points"] for b in v["bins"]], dtype=np.float64)
            lookup = None
            if v["dtype"] == "categorical":
                lookup = {c: i for i, group in enumerate(v["categories"]) for c in group}
            self._vars.append(
                (
                    v["variable"],
                    v["dtype"],
                    np.asarray(v.get("splits", []), dtype=np.float64),
                    lookup,
                    pts,
                    float(v["special"]["points"]),
                    float(v["missing"]["points"]),
                )
            )
        self.factor = float(self.spec["factor"])
        self.offset = float(self.spec["offset"])

    @property
    def variables(self) -> list[str]:
        return [v[0] for v in self._vars]

    def points(self, clean: Clean) -> np.ndarray:
        """Points of each applicant (rows) for each variable (columns, in `variables` order)."""
        out = np.empty((clean.n, len(self._vars)), dtype=np.float64)
        for j, (name, dtype, splits, lookup, pts, p_special, p_missing) in enumerate(self._vars):
            if dtype == "numerical":
                x = clean.numeric[name]
                missing = np.isnan(x)
                special = np.isin(x, self.spec["special_codes"]) & bool(FIELDS[name].special)
                idx = np.digitize(np.where(missing, 0.0, x), splits, right=False)
                col = pts[np.minimum(idx, len(pts) - 1)]
            else:
                text = clean.text[name]
                missing = np.array([t is None for t in text], dtype=bool)
                special = np.zeros(clean.n, dtype=bool)
                # A category the scorecard never saw gets the variable's lowest points (the cautious choice).
                worst = int(np.argmin(pts))
                idx = np.array([lookup.get(t, worst) if t is not None else 0 for t in text], dtype=int)
                col = pts[idx]
            col = np.where(special, p_special, col)
            col = np.where(missing, p_missing, col)
            out[:, j] = col
        return out

    def score(self, clean: Clean) -> np.ndarray:
        return self.points(clean).sum(axis=1)

    def pd_from_score(self, score: np.ndarray) -> np.ndarray:
        """Probability of default: the score is offset - factor * logit(PD)."""
        return 1.0 / (1.0 + np.exp((np.asarray(score) - self.offset) / self.factor))

    def best_points(self) -> np.ndarray:
        """The most points each variable can give (its best attribute), for 'points lost'."""
        best = []
        for name, _dtype, _splits, _lookup, pts, p_special, p_missing in self._vars:
            cands = list(pts)
            v = next(v for v in self.spec["variables"] if v["variable"] == name)
            if v["special"]["count"] > 0:
                cands.append(p_special)
            if v["missing"]["count"] > 0:
                cands.append(p_missing)
            best.append(max(cands))
        return np.asarray(best)

    def typical_points(self) -> np.ndarray:
        """Count-weighted average points of each variable in the development sample."""
        out = []
        for v in self.spec["variables"]:
            rows = v["bins"] + [v["special"], v["missing"]]
            n = sum(b["count"] for b in rows)
            out.append(sum(b["points"] * b["count"] for b in rows) / max(n, 1))
        return np.asarray(out)

    def bin_labels(self, clean: Clean) -> list[list[str]]:
        labels = []
        for name, dtype, splits, lookup, _pts, *_ in self._vars:
            v = next(v for v in self.spec["variables"] if v["variable"] == name)
            names = [b["bin"] for b in v["bins"]]
            if dtype == "numerical":
                x = clean.numeric[name]
                idx = np.digitize(np.where(np.isnan(x), 0.0, x), splits, right=False)
                lab = [
                    (
                        "Missing"
                        if np.isnan(a)
                        else "Special"
                        if (a < 0 and FIELDS[name].special)
                        else names[min(i, len(names) - 1)]
                    )
                    for a, i in zip(x, idx)
                ]
            else:
                lab = ["Missing" if t is None else names[lookup.get(t, 0)] for t in clean.text[name]]
            labels.append(lab)
        return [list(r) for r in zip(*labels)]


def table_frame(spec: dict) -> pd.DataFrame:
    """The scorecard table (variable, bin, points, count, event rate) for pages, reports and the model card."""
    rows = []
    for v in spec["variables"]:
        for b in v["bins"] + [v["special"], v["missing"]]:
            if b["bin"] in ("Special", "Missing") and b["count"] == 0:
                continue
            rows.append(
                {
                    "variable": v["variable"],
                    "bin": clean_label(b["bin"]),
                    "points": round(b["points"], 2),
                    "count": b["count"],
                    "event_rate": round(b["event_rate"], 4),
                }
            )
    return pd.DataFrame(rows, columns=["variable", "bin", "points", "count", "event_rate"])
