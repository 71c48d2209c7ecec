"""The lab's two models on any imported schema: OptBinning scorecard (exported as JSON) and monotone XGBoost inputs,
plus plain-language reasons in the data's own field names.

The simulator's modules (`scorecard`, `features`, `reasons`) are written for its fixed applicant fields; this module
does the same work from a `dataset_schema.DatasetSchema`: special codes per feature in their own bins (OptBinning's
`special_codes`), monotone bins and XGBoost constraints in each feature's direction, categories binned as categories
(the scorecard) and ordinal-coded by training event rate (XGBoost, unconstrained). Nothing is pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sandbox.errors import InvalidInput

from . import dataset_schema as ds
from . import scorecard as sc_mod
from .reasons import top_factors


@dataclass
class Rows:
    """Applicants in an imported schema: numeric features (special codes kept), category text, ids."""

    n: int
    numeric: dict[str, np.ndarray]
    text: dict[str, np.ndarray]
    ids: list[Any]


def _refuse_unknown(schema: ds.DatasetSchema, names: Any) -> None:
    """An applicant to explain may carry only the imported columns (and an `applicant_id`)."""
    known = (
        set(schema.names)
        | {schema.target, *schema.protected, *schema.ignore, "applicant_id"}
        | {c for c in (schema.time, schema.id) if c}
    )
    unknown = [str(c) for c in names if str(c) not in known]
    if unknown:
        raise InvalidInput(
            "applicants",
            f"unknown field {unknown[0]!r} (not in the imported schema)",
            f"use the imported columns: {', '.join(schema.names[:8])}" + (" ..." if len(schema.names) > 8 else ""),
        )


def rows(schema: ds.DatasetSchema, df: pd.DataFrame, id_column: str | None = None, strict: bool = False) -> Rows:
    """Typed applicants from a frame in the imported schema. `strict` (applicants to explain): a missing feature
    column, an unknown column or a text cell in a numeric feature is refused by name."""
    if strict:
        _refuse_unknown(schema, df.columns)
    numeric, text = {}, {}
    for f in schema.features:
        if f.name not in df.columns:
            raise InvalidInput(f.name, "field is missing", f"add a {f.name!r} column ({f.type})")
        col = df[f.name]
        if f.type == "numeric":
            x, bad = (
                ds.as_numbers(col) if col.dtype.kind not in "fiu" else (col.to_numpy(np.float64, na_value=np.nan), None)
            )
            if bad is not None and bad.any():
                i = int(np.argmax(bad))
                raise InvalidInput(
                    f.name, f"{str(col.iloc[i])[:40]!r} is not a number (applicant {i})", "give a number"
                )
            numeric[f.name] = x
        else:
            text[f.name] = ds.as_text(col)
    idc = id_column or schema.id
    ids = (
        df[idc].tolist()
        if idc and idc in df.columns
        else df["applicant_id"].tolist()
        if "applicant_id" in df.columns
        else list(range(len(df)))
    )
    return Rows(len(df), numeric, text, ids)


def _number(name: str, v: Any, i: int) -> float:
    if v is None or isinstance(v, bool):
        if v is None:
            return float("nan")
        raise InvalidInput(name, f"{v!r} is not a number (applicant {i})", "give a number")
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v) if np.isfinite(v) else float("nan") if v != v else _inf(name, v, i)
    text = str(v).strip()
    if text.lower() in ds.MISSING_TOKENS:
        return float("nan")
    try:
        x = float(text.replace(",", ""))
    except ValueError:
        raise InvalidInput(name, f"{text[:40]!r} is not a number (applicant {i})", "give a number") from None
    return x if np.isfinite(x) else _inf(name, x, i)


def _inf(name: str, v: Any, i: int) -> float:
    raise InvalidInput(name, f"{v!r} is not a finite number (applicant {i})", "give a number")


def _label(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, float):
        return f"{v:g}"
    text = str(v).strip()
    return None if text.lower() in ds.MISSING_TOKENS else text


def rows_from_records(schema: ds.DatasetSchema, records: list[dict]) -> Rows:
    """The few applicants of an explain call, typed cell by cell (pandas costs milliseconds per column here)."""
    for rec in records:
        _refuse_unknown(schema, rec)
    numeric, text = {}, {}
    for f in schema.features:
        if any(f.name not in rec for rec in records):
            raise InvalidInput(f.name, "field is missing", f"add a {f.name!r} column ({f.type})")
        if f.type == "numeric":
            numeric[f.name] = np.array([_number(f.name, rec[f.name], i) for i, rec in enumerate(records)])
        else:
            text[f.name] = np.array([_label(rec[f.name]) for rec in records], dtype=object)
    idc = schema.id if schema.id and all(schema.id in r for r in records) else "applicant_id"
    ids = [rec.get(idc, i) for i, rec in enumerate(records)]
    return Rows(len(records), numeric, text, ids)


def encoding(schema: ds.DatasetSchema, r: Rows, y: np.ndarray, mask: np.ndarray) -> dict[str, dict[str, int]]:
    """Per categorical feature: category -> code, ordered by the training rows' default rate (so trees split it well)."""
    out = {}
    for f in schema.features:
        if f.type != "categorical":
            continue
        s = (
            pd.Series(y[mask])
            .groupby(pd.Series(r.text[f.name][mask], dtype=object).fillna("<missing>").to_numpy())
            .mean()
        )
        s = s.drop("<missing>", errors="ignore").sort_values(kind="stable")
        out[f.name] = {str(c): i for i, c in enumerate(s.index)}
    return out


def matrix(schema: ds.DatasetSchema, r: Rows, enc: dict[str, dict[str, int]]) -> np.ndarray:
    """XGBoost's input: special codes and missing values as NaN, categories as their codes (unseen: NaN)."""
    cols = []
    for f in schema.features:
        if f.type == "numeric":
            x = r.numeric[f.name].astype(np.float64, copy=True)
            if f.special:
                x[np.isin(x, f.special_codes)] = np.nan
        else:
            m = enc[f.name]
            x = np.array(
                [m.get(t, np.nan) if t is not None else np.nan for t in r.text[f.name].tolist()], dtype=np.float64
            )
        cols.append(x)
    return np.column_stack(cols).astype(np.float32)


def constraints(schema: ds.DatasetSchema) -> tuple[int, ...]:
    return tuple(f.direction if f.type == "numeric" else 0 for f in schema.features)


# -- scorecard (scorecard.py: one implementation for both data sources) ------------
def variables(schema: ds.DatasetSchema) -> list[sc_mod.Variable]:
    """The schema's features as scorecard variables: each with its own special codes and direction."""
    return [
        sc_mod.Variable(f.name, "categorical" if f.type == "categorical" else "numerical", f.direction, f.special_codes)
        for f in schema.features
    ]


def scorecard_frame(schema: ds.DatasetSchema, r: Rows) -> pd.DataFrame:
    return sc_mod.frame_of(r, variables(schema))


def fit_scorecard(
    schema: ds.DatasetSchema,
    X: pd.DataFrame,
    y: np.ndarray,
    pdo: float,
    base_points: float,
    base_odds: float,
    max_n_bins: int | None,
    settings: sc_mod.Settings = sc_mod.Settings(),  # noqa: B008 - frozen
):
    """OptBinning BinningProcess + Scorecard: per-feature special codes and monotone trend, logistic regression."""
    return sc_mod.fit_variables(
        X,
        y,
        variables(schema),
        pdo=pdo,
        base_points=base_points,
        base_odds=base_odds,
        max_n_bins=max_n_bins,
        settings=settings,
    )


def export_scorecard(sc, schema: ds.DatasetSchema, pdo: float, base_points: float, base_odds: float) -> dict:
    return sc_mod.export_variables(sc, variables(schema), pdo, base_points, base_odds)


# -- reasons in the data's own names ---------------------------------------------
def sentence(f: ds.Feature, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return f"{f.name} is missing"
    if f.type == "categorical":
        return f"{f.name} is {value!r}"
    key = f"{value:g}"
    if key in f.special:
        return f"{f.name}: {f.special[key]} (code {key})"
    tail = {1: " (higher values carry more risk)", -1: " (lower values carry more risk)", 0: ""}[f.direction]
    return f"{f.name} is {value:g}{tail}"


def reasons(schema: ds.DatasetSchema, r: Rows, impact: np.ndarray, top: int) -> list[tuple[list[str], list[dict]]]:
    """Top adverse factors per applicant from an (n x features) impact matrix (higher = more adverse)."""
    values = [r.numeric[f.name].tolist() if f.type == "numeric" else r.text[f.name].tolist() for f in schema.features]
    return top_factors(impact, top, schema.names, values, lambda i, j, v: sentence(schema.features[j], v), _shown)


def _shown(val: Any) -> str | None:
    """The value as text (a table of numbers and categories in one column cannot be drawn by Arrow)."""
    if val is None or (isinstance(val, float) and val != val):
        return None
    return f"{val:g}" if isinstance(val, float) else str(val)
