"""The schema of a bank's own applicant file: what each column is, inferred from the data or declared.

A bank's data scientist imports a portfolio with its own column names (`sandbox risk import BANK FILE --target
COLUMN`). The schema says, per column:

* a **feature** (a model input): `numeric` or `categorical`; its **special values** (codes such as -9 "no bureau
  record" that are kept out of the numeric range and binned on their own, as OptBinning's `special_codes` does; given
  to XGBoost as missing); its **monotone direction** (+1 risk rises with the value, -1 falls, 0 no promise), inferred
  from the data only when a rank correlation with the target is significant (|z| >= 3.3, p < 0.001), else 0;
* a **protected attribute** (sex, age, marital status ...): used for the fairness check only, never a model input;
* the optional **time column** (out-of-time split and PSI by period), the optional **id column**;
* **ignored** columns (constant or empty columns, and a column that is the target in disguise, are ignored with a
  named warning).

The target has exactly two classes; the positive class is "default/bad" (1, "bad", "default", "yes", "true" ... or
declared as `positive`). Inference prints the schema for the user to confirm or edit; a declared schema (JSON, the
same shape as `to_json()`) is checked against the data and never silently changed.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sandbox.errors import InvalidInput

FORMAT = "risk-dataset-schema/1"
MIN_PER_CLASS = 50  # rows of each target class, at least: below this a split leaves a handful of defaults to test on
MAX_CATEGORIES = 200  # distinct values of a categorical feature, at most (more: an id or free text)
LEAK_GINI = 0.95  # a single feature ranking defaults this well is the target in disguise
DIRECTION_Z = 3.3  # |z| of the rank correlation for an inferred monotone direction (two-sided p < 0.001)
SPECIAL_CANDIDATES = 5  # distinct negative codes at most in an otherwise non-negative column to count as special codes
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "?")
BAD_WORDS = ("1", "1.0", "bad", "default", "defaulted", "yes", "y", "true", "charged off", "charged_off", "delinquent")
PROTECTED_WORDS = (
    "sex",
    "gender",
    "age",
    "race",
    "ethnicity",
    "ethnic",
    "religion",
    "marital",
    "nationality",
    "disability",
    "pregnancy",
    "personal_status",
)
TIME_WORDS = ("date", "month", "period", "vintage", "quarter", "year", "time", "yyyymm")
ID_WORDS = ("id", "key", "ref", "reference")


@dataclass
class Feature:
    name: str
    type: str  # "numeric" | "categorical"
    special: dict[str, str] = field(default_factory=dict)  # code (as text, e.g. "-9") -> meaning
    direction: int = 0
    direction_source: str = "inferred"  # "inferred" | "declared"
    categories: list[str] = field(default_factory=list)

    @property
    def special_codes(self) -> list[float]:
        return [float(k) for k in self.special]


@dataclass
class Warning_:
    """A named warning: something the user should read, that did not stop the import."""

    name: str  # constant_column, empty_column, target_leak, unknown_special_code ...
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


@dataclass
class DatasetSchema:
    target: str
    positive: str  # the target value meaning default/bad, as text
    features: list[Feature]
    protected: list[str] = field(default_factory=list)
    time: str | None = None
    id: str | None = None
    ignore: list[str] = field(default_factory=list)
    protected_bands: dict[str, list[float]] = field(default_factory=dict)  # numeric protected attribute -> band edges

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "target": self.target,
            "positive": self.positive,
            "features": [asdict(f) for f in self.features],
            "protected": list(self.protected),
            "protected_bands": self.protected_bands,
            "time": self.time,
            "id": self.id,
            "ignore": list(self.ignore),
        }


def _tokens(name: str) -> list[str]:
    """'MSinceOldestTradeOpen' -> m, since, oldest, trade, open; 'age_in_years' -> age, in, years."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name))
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def _looks(name: str, words: tuple[str, ...]) -> bool:
    toks = _tokens(name)
    low = name.lower()
    return any(w in toks or ("_" in w and w in low) for w in words)


# -- reading the raw columns ---------------------------------------------------
# Columns are read through Arrow compute kernels: on 150,000 cells pandas' string methods and to_numeric took about
# 0.3 s a column, which made an import of 150,000 x 20 miss its 10 s target.
def _arrow_text(values: pd.Series):
    """A text column as an Arrow string array (null where missing), trimmed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(values, from_pandas=True)
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        arr = pa.array(
            [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in values.tolist()],
            type=pa.string(),
        )
    return pc.utf8_trim_whitespace(arr)


def _missing_mask(arr) -> np.ndarray:
    import pyarrow.compute as pc

    hit = pc.or_kleene(pc.is_null(arr), pc.is_in(pc.utf8_lower(arr), value_set=_TOKENS()))
    return pc.fill_null(hit, True).to_numpy(zero_copy_only=False).astype(bool)


def _TOKENS():
    import pyarrow as pa

    return pa.array(list(MISSING_TOKENS), type=pa.string())


def is_missing(values: pd.Series) -> np.ndarray:
    """Empty cells and the usual missing tokens ('NA', 'null', '?' ...) of a text or typed column."""
    if values.dtype.kind in "fiu":
        return values.isna().to_numpy()
    return _missing_mask(_arrow_text(values))


def as_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(numbers with NaN where missing or not a number, mask of cells that are present but not numbers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.dtype.kind in "fiu":
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return x, np.zeros(len(x), dtype=bool)
    arr = _arrow_text(values)
    missing = _missing_mask(arr)
    clean = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), pc.replace_substring(arr, ",", ""))
    try:
        x = pc.cast(clean, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        looks = (
            pc.fill_null(pc.match_substring_regex(clean, _NUMBER), False).to_numpy(zero_copy_only=False).astype(bool)
        )
        if not looks.any():  # a text column: no cell to convert
            return np.full(len(values), np.nan), ~missing
        x = np.full(len(values), np.nan)
        x[looks] = pc.cast(pc.filter(clean, pa.array(looks)), pa.float64()).to_numpy(zero_copy_only=False)
    bad = np.isnan(x) & ~missing
    bad |= np.isinf(x)
    x[np.isinf(x)] = np.nan
    return x, bad


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def as_text(values: pd.Series) -> np.ndarray:
    """Category labels as text (object array), None where missing; numbers written without a trailing '.0'."""
    missing = is_missing(values)
    if values.dtype.kind == "f":
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        text = np.array([f"{v:g}" if v == v else None for v in x], dtype=object)
    else:
        text = np.asarray(_arrow_text(values).to_numpy(zero_copy_only=False), dtype=object).copy()
    text[missing] = None
    return text


def _target(df: pd.DataFrame, target: str, positive: str | None) -> tuple[np.ndarray, str]:
    """Labels 1 = default/bad, 0 = good, and the positive class as text; refuses anything but two classes."""
    if target not in df.columns:
        raise InvalidInput(
            "target",
            f"no column {target!r} in the file",
            f"give one of its columns: {', '.join(map(str, df.columns[:12]))}"
            + (" ..." if len(df.columns) > 12 else ""),
        )
    text = as_text(df[target])
    missing = np.array([t is None for t in text])
    if missing.any():
        i = int(np.argmax(missing))
        raise InvalidInput(
            "target",
            f"column {target!r} is empty in {int(missing.sum()):,} rows (first: row {i + 2})",
            "give every applicant a known outcome, or leave those rows out",
        )
    numbers, bad = as_numbers(df[target])
    if not bad.any():  # "1" and "1.0" are one class
        text = np.array([f"{v:g}" for v in numbers], dtype=object)
    classes = sorted(set(text.tolist()))
    if len(classes) != 2:
        shown = ", ".join(repr(c) for c in classes[:5]) + (" ..." if len(classes) > 5 else "")
        raise InvalidInput(
            "target",
            f"column {target!r} has {len(classes)} classes ({shown}), not two",
            "give a column with two values: default/bad and good (e.g. 1 and 0)",
        )
    if positive is None:
        hits = [c for c in classes if c.strip().lower() in BAD_WORDS]
        if len(hits) != 1:
            raise InvalidInput(
                "target",
                f"cannot tell which of {classes[0]!r} and {classes[1]!r} means default/bad",
                'declare it: "positive" in the schema JSON (or --positive VALUE)',
            )
        positive = hits[0]
    positive = str(positive)
    if positive not in classes:
        raise InvalidInput(
            "positive", f"{positive!r} is not a value of column {target!r}", f"use {classes[0]!r} or {classes[1]!r}"
        )
    y = (text == positive).astype(np.int8)
    counts = {1: int(y.sum()), 0: int(len(y) - y.sum())}
    for cls, n in counts.items():
        if n < MIN_PER_CLASS:
            what = f"default/bad ({positive!r})" if cls else "good"
            raise InvalidInput(
                "target",
                f"only {n} {what} rows; at least {MIN_PER_CLASS} of each class are needed",
                "import a larger sample of the portfolio",
            )
    return y, positive


def gini_single(x: np.ndarray, y: np.ndarray) -> float:
    """|Gini| of one column as a score on its own (rank AUC), missing values left out."""
    ok = ~pd.isna(x)
    xv, yv = x[ok], y[ok]
    n1 = int(yv.sum())
    n0 = len(yv) - n1
    if n1 == 0 or n0 == 0:
        return 0.0
    ranks = pd.Series(xv).rank(method="average").to_numpy()
    auc = (ranks[yv == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return abs(2 * auc - 1)


def _category_gini(text: np.ndarray, y: np.ndarray) -> float:
    s = pd.Series(text, dtype=object).fillna("<missing>")
    rate = pd.Series(y).groupby(s.to_numpy()).mean()
    return gini_single(s.map(rate).to_numpy(dtype=np.float64), y)


def _direction(x: np.ndarray, y: np.ndarray, special: list[float]) -> int:
    """+1 / -1 when the Spearman correlation of the regular values with the target is beyond noise, else 0."""
    ok = ~np.isnan(x)
    if special:
        ok &= ~np.isin(x, special)
    xv, yv = x[ok], y[ok]
    if len(xv) < 30 or np.all(xv == xv[0]) or yv.min() == yv.max():
        return 0
    r = np.corrcoef(pd.Series(xv).rank().to_numpy(), yv)[0, 1]
    if not math.isfinite(r):
        return 0
    z = r * math.sqrt(len(xv) - 1)
    return int(np.sign(r)) if abs(z) >= DIRECTION_Z else 0


def _inferred_special(x: np.ndarray) -> dict[str, str]:
    """Negative whole-number codes (at most a few) in a column whose other values are all >= 0: special codes."""
    v = x[~np.isnan(x)]
    neg = v[v < 0]
    if len(neg) == 0 or len(neg) == len(v) or np.any(neg != np.round(neg)):
        return {}
    codes = np.unique(neg)
    if len(codes) > SPECIAL_CANDIDATES:
        return {}
    return {f"{c:g}": "special code" for c in sorted(codes, reverse=True)}


def _parse_direction(name: str, value: Any) -> int:
    words = {"ascending": 1, "increasing": 1, "descending": -1, "decreasing": -1, "none": 0, "auto": 0}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    if value in (1, -1, 0) and not isinstance(value, bool):
        return int(value)
    raise InvalidInput(
        f"schema.features.{name}.direction",
        f"{value!r} is not a direction",
        "use ascending (+1: risk rises with the value), descending (-1) or none (0)",
    )


# -- the declared schema (JSON) -------------------------------------------------
_KEYS = {"format", "target", "positive", "features", "protected", "protected_bands", "time", "id", "ignore"}
_FEATURE_KEYS = {"name", "type", "special", "direction", "direction_source", "categories"}


def _declared(obj: Any) -> dict:
    """A declared schema, checked for shape: unknown keys are refused by name (a typo must not be ignored)."""
    if obj is None:
        return {"features": {}}
    if isinstance(obj, dict) and isinstance(obj.get("schema"), dict) and "features" not in obj:
        obj = obj["schema"]  # the whole output of `sandbox risk import --json`: its schema
    if not isinstance(obj, dict):
        raise InvalidInput("schema", "is not a JSON object", "give the schema as printed by `sandbox risk import`")
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise InvalidInput("schema", f"unknown key {unknown[0]!r}", f"use some of {', '.join(sorted(_KEYS))}")
    feats = obj.get("features") or {}
    if isinstance(feats, list):
        if not all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in feats):
            raise InvalidInput("schema.features", "each feature needs a name", 'give {"name": "...", "type": ...}')
        feats = {f["name"]: f for f in feats}
    if not isinstance(feats, dict):
        raise InvalidInput("schema.features", "is not a list or an object", "give a list of features")
    for name, spec in feats.items():
        if not isinstance(spec, dict):
            raise InvalidInput(f"schema.features.{name}", "is not an object", 'give {"type": "numeric", ...}')
        bad = sorted(set(spec) - _FEATURE_KEYS)
        if bad:
            raise InvalidInput(
                f"schema.features.{name}", f"unknown key {bad[0]!r}", f"use some of {', '.join(sorted(_FEATURE_KEYS))}"
            )
        if spec.get("type", "numeric") not in ("numeric", "categorical"):
            raise InvalidInput(
                f"schema.features.{name}.type",
                f"{spec.get('type')!r} is not a feature type",
                "use numeric or categorical",
            )
    for key in ("protected", "ignore"):
        v = obj.get(key) or []
        if not isinstance(v, list) or not all(isinstance(c, str) for c in v):
            raise InvalidInput(f"schema.{key}", "is not a list of column names", f'give "{key}": ["column", ...]')
    return {**obj, "features": feats}


def _special_of(name: str, spec: Any) -> dict[str, str]:
    if spec is None:
        return {}
    if isinstance(spec, list):
        spec = {str(c): "special code" for c in spec}
    if not isinstance(spec, dict):
        raise InvalidInput(f"schema.features.{name}.special", "is not a list or an object", 'give {"-9": "no record"}')
    out = {}
    for code, meaning in spec.items():
        try:
            v = float(code)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"schema.features.{name}.special", f"{code!r} is not a number", "give numeric codes, e.g. -9"
            ) from None
        out[f"{v:g}"] = str(meaning)
    return out


# -- inference ----------------------------------------------------------------
def _mixed(name: str, values: pd.Series, bad: np.ndarray, declared: bool) -> InvalidInput:
    i = int(np.argmax(bad))
    fix = (
        "clean the column (numbers only)" if declared else 'clean the column, or declare it "categorical" in the schema'
    )
    return InvalidInput(
        name,
        f"column mixes numbers and text ({int(bad.sum()):,} text cells; first: row {i + 2}, "
        f"{str(values.iloc[i])[:40]!r})",
        fix,
    )


def _numeric_feature(
    name: str, values: pd.Series, y: np.ndarray, spec: dict, warnings: list[Warning_]
) -> tuple[Feature, np.ndarray]:
    x, bad = as_numbers(values)
    if bad.any():
        raise _mixed(name, values, bad, "type" in spec)
    if "special" in spec:
        special = _special_of(name, spec["special"])
        codes = [float(c) for c in special]
        regular = x[~np.isnan(x) & ~np.isin(x, codes)]
        extra = _inferred_special(np.where(np.isin(x, codes), np.nan, x)) if len(regular) else {}
        if extra and (len(regular[regular >= 0]) > 0):
            raise InvalidInput(
                name,
                f"unknown special code{'s' if len(extra) > 1 else ''} {', '.join(extra)} "
                f"(declared: {', '.join(special) or 'none'})",
                f"declare {'them' if len(extra) > 1 else 'it'} in the schema's special values, or fix the rows",
            )
        absent = [c for c in special if not np.any(x == float(c))]
        if absent:
            warnings.append(
                Warning_(
                    "special_code_absent",
                    name,
                    f"{name}: declared special code {', '.join(absent)} never occurs in the file",
                )
            )
    else:
        special = _inferred_special(x)
    codes = [float(c) for c in special]
    if "direction" in spec:
        direction, source = _parse_direction(name, spec["direction"]), "declared"
    else:
        direction, source = _direction(x, y, codes), "inferred"
    return Feature(name, "numeric", special, direction, source), x


def _categorical_feature(
    name: str, values: pd.Series, spec: dict, warnings: list[Warning_]
) -> tuple[Feature | None, np.ndarray]:
    if spec.get("special"):
        raise InvalidInput(
            f"schema.features.{name}.special",
            "special values are for numeric features",
            "leave them out: every category of a categorical feature gets its own bin",
        )
    text = as_text(values)
    cats = sorted({t for t in text.tolist() if t is not None})
    if len(cats) > MAX_CATEGORIES and "type" not in spec:
        warnings.append(
            Warning_(
                "high_cardinality",
                name,
                f"{name}: {len(cats):,} distinct text values (more than "
                f"{MAX_CATEGORIES}); left out of the model (an id or free text?)",
            )
        )
        return None, text
    if len(cats) > MAX_CATEGORIES:
        raise InvalidInput(
            name, f"{len(cats):,} categories, more than {MAX_CATEGORIES}", "group them, or ignore the column"
        )
    return Feature(name, "categorical", {}, 0, "declared" if "direction" in spec else "inferred", cats), text


def _pick(
    df: pd.DataFrame, given: str | None, decl: dict, key: str, words: tuple[str, ...], unique: bool
) -> str | None:
    name = given if given is not None else decl.get(key)
    if name is not None:
        if name not in df.columns:
            raise InvalidInput(key, f"no column {name!r} in the file", "give one of its columns")
        return name
    if key in decl:  # declared null: none
        return None
    for c in df.columns:
        if _looks(str(c), words) and (df[c].is_unique if unique else _date_like(df[c])):
            return str(c)
    return None


def _date_like(values: pd.Series) -> bool:
    """An inferred time column must hold dates or calendar periods (1900 .. 210012), not a duration in months."""
    x, bad = as_numbers(values)
    if not bad.any():
        return bool(np.all((x == np.round(x)) & (x >= 1900) & (x <= 210012)))
    text = values.astype("string").str.strip()
    if not text.str.contains(r"^\d{4}[-/]\d{1,2}", regex=True).fillna(False).all():
        return False
    return not pd.to_datetime(text, errors="coerce", format="mixed").isna().any()


def build(
    df: pd.DataFrame,
    target: str,
    declared: Any = None,
    positive: str | None = None,
    time: str | None = None,
    id_column: str | None = None,
    protected: list[str] | None = None,
) -> tuple[DatasetSchema, pd.DataFrame, list[Warning_]]:
    """Infer (or check a declared) schema; return it, the typed frame to store, and the named warnings.

    Raises InvalidInput for a bad target, mixed types, an unknown special code or a declared column the file lacks."""
    decl = _declared(declared)
    target = decl.get("target") or target
    if not target:
        raise InvalidInput("target", "no target column given", "name it: --target COLUMN")
    y, positive = _target(df, target, positive if positive is not None else decl.get("positive"))
    warnings: list[Warning_] = []
    id_col = _pick(df, id_column, decl, "id", ID_WORDS, unique=True)
    time_col = _pick(df, time, decl, "time", TIME_WORDS, unique=False)
    if time_col is not None and time_col in (id_col, target):
        time_col = None
    prot = list(protected) if protected is not None else decl.get("protected")
    if prot is None:
        prot = [str(c) for c in df.columns if _looks(str(c), PROTECTED_WORDS) and c not in (target, id_col, time_col)]
    ignore = list(decl.get("ignore") or [])
    for c in [*prot, *ignore, *decl["features"]]:
        if c not in df.columns:
            raise InvalidInput(
                "schema", f"names column {c!r}, which the file does not have", "fix the name or the file"
            )
    roles = {target, id_col, time_col, *prot, *ignore}
    out = pd.DataFrame({target: y})
    features: list[Feature] = []
    for c in df.columns:
        c = str(c)
        if c in roles:
            continue
        made = _feature(c, df[c], y, decl["features"].get(c, {}), warnings)
        if made is None:
            ignore.append(c)
            continue
        feat, col = made
        features.append(feat)
        out[c] = col
    if not features:
        raise InvalidInput("file", "no usable feature column", "give at least one column besides the target")
    bands = _protected_columns(df, prot, dict(decl.get("protected_bands") or {}), out)
    if time_col is not None:
        out[time_col] = periods(df[time_col], time_col)
    if id_col is not None:
        out[id_col] = as_text(df[id_col])
    schema = DatasetSchema(
        target=target,
        positive=positive,
        features=features,
        protected=prot,
        time=time_col,
        id=id_col,
        ignore=ignore,
        protected_bands={k: list(map(float, v)) for k, v in bands.items()},
    )
    return schema, out, warnings


def _feature(c: str, values: pd.Series, y, spec: dict, warnings: list[Warning_]):
    """(feature, typed column) for column `c`, or None when it is left out of the model (empty, constant, or a
    likely target leak not declared; a warning says which). Raises for a declared column that cannot be kept."""
    missing = is_missing(values)
    if missing.all():
        if spec:
            raise InvalidInput(c, "column is empty in every row", "fill it, or remove it from the schema's features")
        warnings.append(Warning_("empty_column", c, f"{c}: empty in every row; left out of the model"))
        return None
    kind = spec.get("type")
    if kind is None:
        _, bad = as_numbers(values)  # (Arrow's cast: cheap enough to run again for the feature itself)
        if bad.any() and not bad[~missing].all():  # some cells numbers, others text
            raise _mixed(c, values, bad, False)
        kind = "categorical" if bad.any() else "numeric"
    feat, col = (
        _numeric_feature(c, values, y, spec, warnings)
        if kind == "numeric"
        else _categorical_feature(c, values, spec, warnings)
    )
    if feat is None:
        return None
    distinct = pd.Series(col, dtype=object if kind == "categorical" else np.float64).nunique(dropna=False)
    if distinct <= 1:
        if spec:
            raise InvalidInput(c, "column holds one value in every row", "remove it from the schema's features")
        warnings.append(Warning_("constant_column", c, f"{c}: one value in every row; left out of the model"))
        return None
    g = _category_gini(col, y) if kind == "categorical" else gini_single(col, y)
    if g >= LEAK_GINI:
        kept = bool(spec)
        warnings.append(
            Warning_(
                "target_leak",
                c,
                f"{c}: alone ranks defaults with Gini {g:.3f}; it looks like the "
                f"target in disguise"
                + ("; kept (declared in the schema)" if kept else "; left out of the model (declare it to keep it)"),
            )
        )
        if not kept:
            return None
    return feat, col


def _protected_columns(df: pd.DataFrame, prot: list[str], bands: dict, out: pd.DataFrame) -> dict:
    """Copy the protected columns into `out` (numbers, or text); return the bands, adding tertiles (age: 30, 50)
    for a numeric protected column the schema gave none."""
    for c in prot:
        x, bad = as_numbers(df[c])
        numeric = not bad.any() and pd.Series(x).nunique() > 8
        if numeric and c not in bands:
            bands[c] = (
                [30.0, 50.0]
                if _looks(c, ("age",))
                else sorted({round(float(q), 2) for q in np.nanquantile(x, [1 / 3, 2 / 3])})
            )
        out[c] = x if numeric else as_text(df[c])
    return bands


def periods(values: pd.Series, name: str) -> np.ndarray:
    """The time column as sortable period labels: whole numbers as they are (e.g. 202401), dates as YYYY-MM."""
    missing = is_missing(values)
    if missing.any():
        i = int(np.argmax(missing))
        raise InvalidInput(
            name,
            f"time column is empty in {int(missing.sum()):,} rows (first: row {i + 2})",
            "give every row a date or period, or import without a time column",
        )
    x, bad = as_numbers(values)
    if not bad.any() and np.all(x == np.round(x)):
        width = len(str(int(np.nanmax(np.abs(x)))))
        return np.array([f"{int(v):0{width}d}" for v in x], dtype=object)
    dates = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
    if dates.isna().any():
        i = int(np.argmax(dates.isna().to_numpy()))
        raise InvalidInput(
            name,
            f"{str(values.iloc[i])[:40]!r} is not a date or a whole-number period (row {i + 2})",
            "give dates (2024-01-31) or periods (202401) in the time column",
        )
    return dates.dt.to_period("M").astype(str).to_numpy(dtype=object)


def from_json(obj: dict) -> DatasetSchema:
    """A stored schema (written by `to_json`), back as a DatasetSchema."""
    feats = [Feature(**f) for f in obj["features"]]
    return DatasetSchema(
        target=obj["target"],
        positive=obj["positive"],
        features=feats,
        protected=list(obj["protected"]),
        time=obj.get("time"),
        id=obj.get("id"),
        ignore=list(obj.get("ignore", [])),
        protected_bands=dict(obj.get("protected_bands", {})),
    )


def describe(schema: DatasetSchema) -> list[dict]:
    """One row per column role, for the CLI and the page to print the schema for the user to confirm."""
    rows = [
        {
            "column": schema.target,
            "role": "target",
            "type": f"default/bad = {schema.positive!r}",
            "special": "",
            "direction": "",
        }
    ]
    arrow = {1: "ascending (risk rises)", -1: "descending (risk falls)", 0: "none"}
    for f in schema.features:
        rows.append(
            {
                "column": f.name,
                "role": "feature",
                "type": f.type,
                "special": ", ".join(f"{k} ({v})" for k, v in f.special.items()),
                "direction": (arrow[f.direction] + f" [{f.direction_source}]") if f.type == "numeric" else "",
            }
        )
    rows += [
        {"column": c, "role": "protected (fairness only)", "type": "", "special": "", "direction": ""}
        for c in schema.protected
    ]
    if schema.time:
        rows.append(
            {
                "column": schema.time,
                "role": "time (out-of-time split, PSI by period)",
                "type": "",
                "special": "",
                "direction": "",
            }
        )
    if schema.id:
        rows.append({"column": schema.id, "role": "id", "type": "", "special": "", "direction": ""})
    rows += [{"column": c, "role": "ignored", "type": "", "special": "", "direction": ""} for c in schema.ignore]
    return rows
