"""The binned logistic scorecard: OptBinning's BinningProcess + Scorecard, persisted as JSON.

OptBinning does the binning (optimal, monotone in the declared direction,
special codes and missing values in their own bins), the WoE transform and
the points scaling ("points to double the odds"). We never write WoE code.

OptBinning objects are not pickled: `export_variables()` turns the fitted
scorecard into a JSON-able table of splits and points per variable, and
`PointsTable` scores from that table alone (checked against OptBinning's own
`score()` at training time, so the two can never drift apart).

One implementation for both data sets: a list of `Variable`s says what the
data set knows (the simulator's fields here: `fit`, `export`, `frame`; an
imported schema's in `generic_models.variables`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .features import DIRECTIONS, scorecard_dtype
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


@dataclass(frozen=True)
class Variable:
    """One scorecard input, whatever the data set: how OptBinning bins it and which codes are special.

    `special_codes` None: the codes of `fit_variables`' `process` apply (the simulator's -1);
    a list: this variable's own codes (an imported schema's, e.g. -9, -8)."""

    name: str
    dtype: str  # "numerical" | "categorical"
    direction: int  # +1 risk rises with the value, -1 falls, 0 no promise
    special_codes: list[float] | None = None


TREND = {1: "ascending", -1: "descending", 0: "auto"}


def frame_of(rows: Any, variables: list[Variable]) -> pd.DataFrame:
    """The scorecard's view of applicants: numbers (special codes kept) and category strings."""
    return pd.DataFrame(
        {
            v.name: (rows.text[v.name].astype(object) if v.dtype == "categorical" else rows.numeric[v.name])
            for v in variables
        }
    )


@dataclass(frozen=True)
class Settings:
    """How the scorecard is binned and fitted. The sandbox's default (`Settings()`): numeric bins monotone in each
    variable's direction, every variable kept, special and missing bins scored at their own (empirical) WoE, a
    logistic regression run to convergence. `RECIPE`: OptBinning's own tutorial recipe, to show on a public data
    set that the sandbox's wiring (frames, JSON export, scoring from the table) loses nothing against it."""

    monotone: bool = True  # False: OptBinning's default trend ("auto") for every variable
    selection_criteria: dict | None = None  # BinningProcess' variable selection (None: keep every variable)
    empirical_special_missing: bool = True  # False: OptBinning's default WoE of 0 for special and missing bins
    max_iter: int = 2000  # the logistic regression's iterations (scikit-learn's default is 100)


RECIPE = Settings(
    monotone=False,
    selection_criteria={"iv": {"min": 0.02, "max": 1}, "quality_score": {"min": 0.01}},
    empirical_special_missing=False,
    max_iter=100,
)


def fit_variables(
    X: pd.DataFrame,
    y: np.ndarray,
    variables: list[Variable],
    *,
    pdo: float,
    base_points: float,
    base_odds: float,
    max_n_bins: int | None,
    process: dict[str, Any] | None = None,
    settings: Settings = Settings(),  # noqa: B008 - frozen
):
    """Fit OptBinning's BinningProcess + Scorecard (logistic regression on WoE, scaled to points): numeric bins
    monotone in each variable's direction, special codes and missing values in bins of their own. `process`:
    BinningProcess options for every variable (the simulator's special code and pre-bin size)."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    names = [v.name for v in variables]
    fit_params = {}
    for v in variables:
        p: dict[str, Any] = {"max_n_bins": max_n_bins} if max_n_bins is not None else {}
        if v.dtype == "numerical":
            if settings.monotone:
                p["monotonic_trend"] = TREND[int(np.sign(v.direction))]
            if v.special_codes:
                p["special_codes"] = v.special_codes
        fit_params[v.name] = p
    metric = {"metric_special": "empirical", "metric_missing": "empirical"}
    bp = BinningProcess(
        names,
        categorical_variables=[v.name for v in variables if v.dtype == "categorical"],
        selection_criteria=settings.selection_criteria,
        binning_fit_params=fit_params,
        binning_transform_params={n: metric for n in names} if settings.empirical_special_missing else None,
        **(process or {}),
    )
    sc = Scorecard(
        binning_process=bp,
        estimator=LogisticRegression(max_iter=settings.max_iter),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": pdo, "odds": base_odds, "scorecard_points": base_points},
    )
    sc.fit(X, y)
    return sc


def _bins(table: pd.DataFrame, name: str) -> tuple[list[dict], dict, dict]:
    """A variable's rows of OptBinning's table: its regular bins, its special bin and its missing bin."""
    t = table[table["Variable"] == name].reset_index(drop=True)
    labels = [bin_label(b) for b in t["Bin"]]  # the one place bins become text: CLI, card, MLflow, web
    rows = [
        {
            "bin": labels[i],
            "points": float(t["Points"][i]),
            "count": int(t["Count"][i]),
            "event_rate": float(t["Event rate"][i]),
        }
        for i in range(len(labels))
    ]
    special_i = [i for i, b in enumerate(labels) if b.startswith("Special")]
    missing_i = labels.index("Missing")
    regular = [r for i, r in enumerate(rows) if i not in special_i and i != missing_i]
    special = rows[special_i[0]] if special_i else {"bin": "Special", "points": 0.0, "count": 0, "event_rate": 0.0}
    return regular, special, rows[missing_i]


def export_variables(
    sc, variables: list[Variable], pdo: float, base_points: float, base_odds: float, special_codes: list | None = None
) -> dict:
    """The fitted scorecard as plain JSON: per variable its splits (or category groups) and each bin's points.
    Process-wide `special_codes` are written once at the top; a variable's own codes beside its bins."""
    table = sc.table(style="detailed")
    bp = sc.binning_process_
    out = []
    kept = set(bp.get_support(names=True))
    for v in variables:
        if v.name not in kept:  # dropped by the settings' variable selection: no points, never a reason
            out.append(_dropped(v))
            continue
        regular, special, missing = _bins(table, v.name)
        entry: dict[str, Any] = {"variable": v.name, "dtype": v.dtype, "direction": v.direction, "bins": regular}
        entry.update({"special": special, "missing": missing})
        if v.special_codes is not None:
            entry["special_codes"] = v.special_codes
        ob = bp.get_binned_variable(v.name)
        if v.dtype == "numerical":
            entry["splits"] = [float(s) for s in ob.splits]
        else:
            entry["categories"] = [[str(c) for c in group] for group in ob.splits]
        out.append(entry)
    factor = pdo / np.log(2)
    spec = {
        "format": "risk-scorecard/1",
        "pdo": pdo,
        "base_points": base_points,
        "base_odds": base_odds,
        "factor": float(factor),
        "offset": float(base_points - factor * np.log(base_odds)),
    }
    if special_codes is not None:
        spec["special_codes"] = special_codes
    return {**spec, "variables": out}


def _dropped(v: Variable) -> dict:
    """A variable the scorecard does not use, in the export's shape: one bin of 0 points (so scoring and reasons
    keep one column per variable)."""
    empty = {"points": 0.0, "count": 0, "event_rate": 0.0}
    entry: dict[str, Any] = {
        "variable": v.name,
        "dtype": v.dtype,
        "direction": v.direction,
        "bins": [{"bin": "(not used)", **empty}],
        "special": {"bin": "Special", **empty},
        "missing": {"bin": "Missing", **empty},
        "dropped": True,
    }
    if v.special_codes is not None:
        entry["special_codes"] = v.special_codes
    entry.update({"splits": []} if v.dtype == "numerical" else {"categories": []})
    return entry


# -- the simulator's applicants ---------------------------------------------------------------------------------
VARIABLES = [Variable(n, scorecard_dtype(n), DIRECTIONS[n]) for n in FEATURE_NAMES]


def frame(clean: Clean) -> pd.DataFrame:
    return frame_of(clean, VARIABLES)


def fit(
    X: pd.DataFrame,
    y: np.ndarray,
    pdo: float = 20.0,
    base_points: float = 600.0,
    base_odds: float = 50.0,
    max_n_bins: int = 8,
):
    """The simulator's scorecard: its fields' special code (-1) for every variable, small pre-bins."""
    process = {"special_codes": SPECIAL_CODES, "min_prebin_size": 0.02}
    return fit_variables(
        X, y, VARIABLES, pdo=pdo, base_points=base_points, base_odds=base_odds, max_n_bins=max_n_bins, process=process
    )


def export(sc, pdo: float, base_points: float, base_odds: float) -> dict:
    return export_variables(sc, VARIABLES, pdo, base_points, base_odds, SPECIAL_CODES)


def _codes(spec: dict, v: dict) -> list[float]:
    """A variable's special codes: its own (an imported schema), else the spec's for a simulator field that has
    special values (other simulator fields never hold one: the validator refuses it)."""
    if "special_codes" in v:
        return list(v["special_codes"] or [])
    field = FIELDS.get(v["variable"])
    return list(spec.get("special_codes") or []) if field is not None and field.special else []


class PointsTable:
    """Scores applicants from the exported JSON alone (checked against OptBinning's own `score()` at training):
    points per attribute, total score, PD. Applicants are any rows with `n`, `numeric` and `text` (the simulator's
    `schema.Clean`, an imported schema's `generic_models.Rows`)."""

    def __init__(self, spec: dict):
        self.spec = clean_spec(spec)
        self.factor, self.offset = float(self.spec["factor"]), float(self.spec["offset"])
        # parsed once per model (explain runs per applicant): points, splits or category lookups per variable
        self._vars = [_parse(self.spec, v) for v in self.spec["variables"]]
        self._best = np.asarray([max(_candidates(v)) for v in self.spec["variables"]])
        self._typical = np.asarray([_typical(v) for v in self.spec["variables"]])

    @property
    def variables(self) -> list[str]:
        return [v.name for v in self._vars]

    def points(self, rows: Any) -> np.ndarray:
        """Points of each applicant (rows) for each variable (columns, in `variables` order)."""
        out = np.empty((rows.n, len(self._vars)), dtype=np.float64)
        for j, v in enumerate(self._vars):
            col = v.points[v.bin_index(rows)]
            special, missing = v.special_missing(rows)
            out[:, j] = np.where(missing, v.p_missing, np.where(special, v.p_special, col))
        return out

    def score(self, rows: Any) -> np.ndarray:
        return self.points(rows).sum(axis=1)

    def pd_from_score(self, score: np.ndarray) -> np.ndarray:
        """Probability of default: the score is offset - factor * logit(PD)."""
        return 1.0 / (1.0 + np.exp((np.asarray(score) - self.offset) / self.factor))

    def best_points(self) -> np.ndarray:
        """The most points each variable can give (its best attribute), for 'points lost'."""
        return self._best

    def typical_points(self) -> np.ndarray:
        """Count-weighted average points of each variable in the development sample."""
        return self._typical

    def bin_labels(self, rows: Any) -> list[list[str]]:
        """Each applicant's bin of each variable, as the scorecard table names it."""
        labels = []
        for v in self._vars:
            special, missing = v.special_missing(rows)
            idx = v.bin_index(rows).tolist()
            labels.append(
                ["Missing" if m else "Special" if s else v.labels[i] for i, s, m in zip(idx, special, missing)]
            )
        return [list(r) for r in zip(*labels)]


class _Var(NamedTuple):
    """One variable of a spec, parsed for scoring."""

    name: str
    numerical: bool
    points: np.ndarray
    splits: np.ndarray
    codes: list[float]
    p_special: float
    p_missing: float
    lookup: dict[str, int]
    worst: int  # a category the scorecard never saw gets the variable's lowest points (the cautious choice)
    labels: list[str]

    def bin_index(self, rows: Any) -> np.ndarray:
        if self.numerical:
            idx = np.digitize(np.nan_to_num(rows.numeric[self.name], nan=0.0), self.splits, right=False)
            return np.minimum(idx, len(self.points) - 1)
        text = rows.text[self.name].tolist()
        return np.array([self.lookup.get(t, self.worst) if t is not None else 0 for t in text], dtype=int)

    def special_missing(self, rows: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.numerical:
            x = rows.numeric[self.name]
            return (np.isin(x, self.codes) if self.codes else np.zeros(rows.n, dtype=bool)), np.isnan(x)
        return np.zeros(rows.n, dtype=bool), np.array([t is None for t in rows.text[self.name].tolist()], dtype=bool)


def _parse(spec: dict, v: dict) -> _Var:
    pts = np.array([b["points"] for b in v["bins"]], dtype=np.float64)
    return _Var(
        v["variable"],
        v["dtype"] == "numerical",
        pts,
        np.asarray(v.get("splits", []), dtype=np.float64),
        _codes(spec, v),
        float(v["special"]["points"]),
        float(v["missing"]["points"]),
        {c: i for i, group in enumerate(v.get("categories") or []) for c in group},
        int(np.argmin(pts)),
        [b["bin"] for b in v["bins"]],
    )


def _candidates(v: dict) -> list[float]:
    return [b["points"] for b in v["bins"]] + [b["points"] for b in (v["special"], v["missing"]) if b["count"] > 0]


def _typical(v: dict) -> float:
    rows = v["bins"] + [v["special"], v["missing"]]
    return sum(b["points"] * b["count"] for b in rows) / max(sum(b["count"] for b in rows), 1)


def table_frame(spec: dict) -> pd.DataFrame:
    """The scorecard table (variable, bin, points, count, event rate) for pages, reports and the model card."""
    rows = []
    for v in spec["variables"]:
        if v.get("dropped"):  # not used by the scorecard (its settings' variable selection)
            continue
        for b in v["bins"] + [v["special"], v["missing"]]:
            if b["count"] == 0 and (b is v["special"] or b is v["missing"]):
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
