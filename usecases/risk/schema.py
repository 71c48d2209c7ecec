"""The applicant schema: fields, allowed values, special codes, and the one validator.

Every applicant that enters the risk lab (simulated rows, an uploaded JSON, CSV
or Parquet file, a dict from the Streamlit page) passes `validate()`, which returns clean
numeric columns or raises `InvalidInput` naming the field, the applicant and
the fix. Nothing is silently dropped: a bad row stops the batch, and a field
the schema does not know (a typo, an extra column) is refused by name; the
columns of a simulated row (`KNOWN_FIELDS`) are accepted and ignored.

Missing values and special codes (documented, never errors):

* `monthly_income` missing: income not declared (its own bin in the scorecard,
  XGBoost learns the missing direction). `debt_servicing_ratio` is missing too
  when income is missing (it cannot be computed).
* `employment_tenure_years` missing: not stated.
* `bureau_grade` missing: no bureau record (thin file).
* `dpd_30_count`, `dpd_60_count`, `dpd_90_count`, `bureau_enquiries_6m` = -1:
  special code "no bureau record" (thin file).
* `credit_utilisation` = -1: special code "no revolving credit line".
* `loan_to_value` applies to mortgages only; for other products it is left
  empty (missing), and may be omitted from an input file.

Special codes go to their own scorecard bin (OptBinning `special_codes`) and
are given to XGBoost as missing values, so they never pretend to be a
very low utilisation or a clean record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sandbox.errors import InvalidInput

SPECIAL_NO_BUREAU = -1
SPECIAL_NO_REVOLVING = -1

EMPLOYMENT_TYPES = ("civil_servant", "salaried", "self_employed", "part_time", "unemployed")
HOUSING_TYPES = ("private_owned", "subsidised_ownership", "with_family", "private_rented", "public_rental")
PRODUCTS = ("mortgage", "credit_card", "personal_loan")
BUREAU_GRADES = tuple("ABCDEFGHIJ")  # A best, J worst
SEXES = ("F", "M")
AGE_BANDS = ("18-29", "30-49", "50+")


def age_band(age: np.ndarray) -> np.ndarray:
    """The protected age band of each age (years)."""
    age = np.asarray(age, dtype=float)
    return np.select([age < 30, age < 50], list(AGE_BANDS[:2]), AGE_BANDS[2]).astype(object)


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "number", "count", "category", "grade"
    label: str
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] = ()
    missing_ok: bool = False
    special: Mapping[int, str] | None = None
    unit: str = ""
    optional: bool = False  # the field may be absent from an input file

    def describe(self) -> str:
        if self.kind in ("category", "grade"):
            return "one of " + ", ".join(self.categories)
        rng = f"between {_num(self.low)} and {_num(self.high)}"
        if self.special:
            rng += " (or " + ", ".join(f"{k} = {v}" for k, v in self.special.items()) + ")"
        return ("a whole number " if self.kind == "count" else "a number ") + rng


_BUREAU = {SPECIAL_NO_BUREAU: "no bureau record"}

# The model's inputs, in model order. Age and sex are protected: validated, used for fairness, never a model input.
FEATURES: tuple[Field, ...] = (
    Field("monthly_income", "number", "Monthly income", 0, 5_000_000, missing_ok=True, unit="HKD"),
    Field("employment_type", "category", "Employment type", categories=EMPLOYMENT_TYPES),
    Field("employment_tenure_years", "number", "Employment tenure", 0, 60, missing_ok=True, unit="years"),
    Field("housing", "category", "Housing", categories=HOUSING_TYPES),
    Field("debt_servicing_ratio", "number", "Debt servicing ratio", 0, 5, missing_ok=True),
    Field(
        "credit_utilisation",
        "number",
        "Credit utilisation",
        0,
        3,
        special={SPECIAL_NO_REVOLVING: "no revolving credit line"},
    ),
    Field("dpd_30_count", "count", "30-day delinquencies", 0, 60, special=_BUREAU),
    Field("dpd_60_count", "count", "60-day delinquencies", 0, 60, special=_BUREAU),
    Field("dpd_90_count", "count", "90-day delinquencies", 0, 60, special=_BUREAU),
    Field("bureau_enquiries_6m", "count", "Bureau enquiries in 6 months", 0, 100, special=_BUREAU),
    Field("bureau_grade", "grade", "Bureau grade", categories=BUREAU_GRADES, missing_ok=True),
    Field("product", "category", "Product", categories=PRODUCTS),
    Field("loan_to_value", "number", "Loan-to-value", 0, 1.5, missing_ok=True, optional=True),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FIELDS: dict[str, Field] = {f.name: f for f in FEATURES}
AGE = Field("age", "number", "Age", 18, 100, optional=True, unit="years")
SEX = Field("sex", "category", "Sex", categories=SEXES, optional=True)
PROTECTED = ("sex", "age_band")
LABEL = "default_12m"
CATEGORY_CODES = {f.name: {c: i for i, c in enumerate(f.categories)} for f in FEATURES if f.categories}
CATEGORICAL = tuple(f.name for f in FEATURES if f.kind == "category")

# Simulated data also carries these (never model inputs).
ID_COLUMNS = ("applicant_id", "vintage")
SIMULATED_EXTRAS = ("vintage_index", "true_pd")  # the simulator's bookkeeping and ground truth

# What an applicant may carry: the model inputs, age and sex, and the columns of a simulated row
# (accepted and ignored, so a simulated row can be explained as it is). Any other field is refused.
KNOWN_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(FEATURE_NAMES + (AGE.name, SEX.name) + ID_COLUMNS + PROTECTED + (LABEL,) + SIMULATED_EXTRAS)
)

# What an empty value means (fields that may be empty).
MISSING_MEANS = {
    "monthly_income": "income not declared",
    "employment_tenure_years": "not stated",
    "debt_servicing_ratio": "not computable (income not declared)",
    "bureau_grade": "no bureau record",
}


def field_help() -> list[tuple[str, str]]:
    """(field, what it takes) for every applicant field, from FEATURES: for `--help`, pages and docs."""
    rows = []
    for f in FEATURES + (AGE, SEX):
        text = f.describe() + (f" {f.unit}" if f.unit else "")
        if f.kind == "grade":
            text = f"{f.categories[0]} (best) to {f.categories[-1]} (worst)"
        if f.name in MISSING_MEANS:
            text += f"; empty = {MISSING_MEANS[f.name]}"
        if f.name == "loan_to_value":
            text += "; required for a mortgage, left out otherwise"
        if f in (AGE, SEX):
            text += "; optional, for fairness checks only (never a model input)"
        rows.append((f.name, text))
    rows.append(("applicant_id", "optional; names the applicant in the output"))
    return rows


@dataclass
class Clean:
    """Validated applicants: numeric model columns (float64, NaN = missing) plus the raw categories."""

    n: int
    numeric: dict[str, np.ndarray]  # special codes kept as their code
    text: dict[str, np.ndarray]  # categories as strings (object arrays), None = missing
    ids: list[Any]

    def matrix(self, special_as_nan: bool = True) -> np.ndarray:
        """Model matrix in FEATURE_NAMES order; categories ordinal-coded, special codes as NaN (for XGBoost)."""
        cols = []
        for f in FEATURES:
            col = self.numeric[f.name].astype(np.float64, copy=True)
            if special_as_nan and f.special:
                col[col < 0] = np.nan
            cols.append(col)
        return np.column_stack(cols).astype(np.float32) if cols else np.empty((self.n, 0), np.float32)


def _plain(v: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages read 'thirty', not np.str_('thirty')."""
    return v.item() if isinstance(v, np.generic) else v


def _kind(v: Any) -> str:
    """What a value is, in the words of a JSON/CSV user (not Python's type names)."""
    v = _plain(v)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, Mapping):
        return "an object"
    return f"a {type(v).__name__}"


def _where(ids: Sequence[Any], i: int) -> str:
    return f"applicant {_plain(ids[i])!r}" if ids is not None else f"applicant {i}"


def _unknown_fields(names: Sequence[str]) -> None:
    """Refuse fields the schema does not know (a typo would otherwise be ignored silently)."""
    import difflib

    unknown = [n for n in names if n not in KNOWN_FIELDS]
    if not unknown:
        return
    shown = []
    for n in unknown:
        near = difflib.get_close_matches(n.strip().lower(), KNOWN_FIELDS, n=1, cutoff=0.75)
        shown.append(f"{n!r} (did you mean {near[0]}?)" if near else repr(n))
    s = "s" if len(unknown) > 1 else ""
    raise InvalidInput(
        "applicants",
        f"unknown field{s} {', '.join(shown)}",
        f"remove or rename {'them' if s else 'it'}; the fields are {', '.join(FEATURE_NAMES)} "
        f"(optional: age, sex, applicant_id; `sandbox risk explain --help` describes each)",
    )


def _as_columns(data: Any) -> tuple[dict[str, list | np.ndarray], int]:
    """Rows (list of dicts) or a DataFrame or a dict of columns -> dict of columns and a row count."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return {str(c): data[c].to_numpy() for c in data.columns}, len(data)
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, (list, tuple)):
        raise InvalidInput("applicants", f"got {_kind(data)}, not applicants", _SHAPE)
    if not data:
        raise InvalidInput("applicants", "no applicants given", "give at least one applicant")
    keys: dict[str, None] = {}
    for i, row in enumerate(data):
        if not isinstance(row, Mapping):
            raise InvalidInput(
                "applicants",
                f"applicant {i} is {_kind(row)}, not an object with fields",
                'give each applicant as {"field": value, ...}',
            )
        keys.update(dict.fromkeys(map(str, row.keys())))
    cols = {k: [row.get(k, _ABSENT) for row in data] for k in keys}
    return cols, len(data)


_SHAPE = (
    'give one applicant as a JSON object ({"field": value, ...}), several as a list of objects, '
    "or a CSV or Parquet file with one column per field"
)


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


def _is_missing(v: Any) -> bool:
    if v is None or v is _ABSENT:
        return True
    if isinstance(v, float) and v != v:
        return True
    if isinstance(v, str) and v.strip().lower() in ("", "nan", "null", "none", "na"):
        return True
    return False


def _numbers(field: Field, values: Sequence[Any] | np.ndarray, ids: Sequence[Any]) -> np.ndarray:
    if isinstance(values, np.ndarray):
        arr = values
    else:  # element by element: a list or a nested value in a row never becomes a numpy string or a ragged array
        arr = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            arr[i] = v
    if arr.dtype.kind in "fiu":
        out = arr.astype(np.float64)
    else:
        out = np.empty(len(arr), dtype=np.float64)
        for i, v in enumerate(arr.tolist()):  # Python values: messages show 'thirty', not np.str_('thirty')
            v = _plain(v)
            if _is_missing(v):
                out[i] = np.nan
            elif isinstance(v, bool):
                raise InvalidInput(field.name, f"{v!r} is not a number ({_where(ids, i)})", f"give {field.describe()}")
            elif isinstance(v, (int, float)):
                out[i] = float(v)
            elif isinstance(v, str):
                try:
                    out[i] = float(v.strip().replace(",", ""))
                except ValueError:
                    raise InvalidInput(
                        field.name, f"{v!r} is not a number ({_where(ids, i)})", f"give {field.describe()}"
                    ) from None
            else:
                raise InvalidInput(
                    field.name, f"{v!r} is {_kind(v)}, not a number ({_where(ids, i)})", f"give {field.describe()}"
                )
    bad = np.isinf(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidInput(
            field.name, f"{out[i]} is not a finite number ({_where(ids, i)})", f"give {field.describe()}"
        )
    missing = np.isnan(out)
    if missing.any() and not field.missing_ok:
        i = int(np.argmax(missing))
        raise InvalidInput(field.name, f"value is missing ({_where(ids, i)})", f"give {field.describe()}")
    ok = missing | ((out >= field.low) & (out <= field.high))
    for code in field.special or ():
        ok |= out == code
    if field.kind == "count":
        ok &= missing | (out == np.round(out))
    if not ok.all():
        i = int(np.argmin(ok))
        v = out[i]
        problem = "must be a whole number" if field.kind == "count" and v == v and v != round(v) else "is out of range"
        if field.name == "monthly_income" and v < 0:
            problem = "cannot be negative"
        raise InvalidInput(field.name, f"{v:g} {problem} ({_where(ids, i)})", f"give {field.describe()}")
    return out


def _norm(value: str) -> str:
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def _categories(field: Field, values: Sequence[Any] | np.ndarray, ids: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    codes_map = {_norm(c): (c, i) for i, c in enumerate(field.categories)}
    text = np.empty(len(values), dtype=object)
    codes = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        v = _plain(v)
        if _is_missing(v):
            if not field.missing_ok:
                raise InvalidInput(field.name, f"value is missing ({_where(ids, i)})", f"give {field.describe()}")
            text[i], codes[i] = None, np.nan
            continue
        if not isinstance(v, str):
            raise InvalidInput(
                field.name, f"{v!r} is {_kind(v)}, not a category ({_where(ids, i)})", f"give {field.describe()}"
            )
        hit = codes_map.get(_norm(v))
        if hit is None:
            raise InvalidInput(field.name, f"unknown category {v!r} ({_where(ids, i)})", f"use {field.describe()}")
        text[i], codes[i] = hit
    return text, codes


def validate(data: Any, require_protected: bool = False) -> Clean:
    """Check applicants against the schema; return clean columns or raise InvalidInput naming the field."""
    cols, n = _as_columns(data)
    _unknown_fields(list(cols))
    if n == 0:
        raise InvalidInput("applicants", "no applicants given", "give at least one applicant")
    raw_ids = cols.get("applicant_id")
    ids = list(raw_ids) if raw_ids is not None else list(range(n))
    numeric: dict[str, np.ndarray] = {}
    text: dict[str, np.ndarray] = {}
    fields = FEATURES + (AGE, SEX)
    for f in fields:
        values = cols.get(f.name)
        required = not f.optional or (require_protected and f.name in ("age", "sex"))
        if values is None:
            if required:
                raise InvalidInput(f.name, "field is missing", f"add a {f.name!r} column: {f.describe()}")
            values = [None] * n
        elif any(v is _ABSENT for v in values) and required:
            i = next(i for i, v in enumerate(values) if v is _ABSENT)
            raise InvalidInput(f.name, f"field is missing ({_where(ids, i)})", f"add {f.name!r}: {f.describe()}")
        if not required:
            f = Field(**{**f.__dict__, "missing_ok": True})
        if f.kind in ("category", "grade"):
            text[f.name], numeric[f.name] = _categories(f, values, ids)
        else:
            numeric[f.name] = _numbers(f, values, ids)
    # Loan-to-value belongs to mortgages: required there, empty elsewhere.
    ltv = numeric["loan_to_value"]
    is_mortgage = text["product"] == "mortgage"
    need = is_mortgage & np.isnan(ltv)
    if need.any():
        i = int(np.argmax(need))
        raise InvalidInput(
            "loan_to_value",
            f"missing for a mortgage ({_where(ids, i)})",
            "give the loan-to-value of the mortgage as a fraction, e.g. 0.6",
        )
    ltv[~is_mortgage] = np.nan
    numeric["loan_to_value"] = ltv
    return Clean(n=n, numeric=numeric, text=text, ids=ids)


def read_file(path: Any) -> Any:
    """Read applicants from a .json, .csv or .parquet file; clear errors for empty or malformed files.

    The work is bounded before parsing (sandbox.bounded): the byte size, a CSV header's or Parquet footer's
    column count, a JSON file's nesting depth (100k levels raised RecursionError)."""
    import pandas as pd

    from sandbox import bounded, userfile

    with userfile.reading(path, "input") as p:  # a checked UserFile is read by its descriptor, never reopened
        suffix, name = p.suffix.lower(), repr(p.name)
        if suffix not in (".json", ".csv", ".parquet", ".pq"):
            raise InvalidInput(
                "input", f"{name} is not a .json, .csv or .parquet file", "give a .json, .csv or .parquet file"
            )
        if p.size == 0:
            raise InvalidInput("input", f"file {name} is empty", _SHAPE)
        if suffix == ".json":
            cap = bounded.limit("MAX_JSON_BYTES")
            bounded.check_bytes(p.size, f"file {name}", cap, "MAX_JSON_BYTES", "input")
            raw = p.read_bytes(cap)
            if not raw.strip():
                raise InvalidInput("input", f"file {name} is empty", _SHAPE)
            obj = bounded.load_json(raw, "input", f"file {name}", _SHAPE)
            if isinstance(obj, Mapping) and isinstance(obj.get("applicants"), list):
                obj = obj["applicants"]
            if not isinstance(obj, (Mapping, list)):
                what = {str: "a JSON string", bool: "true/false", type(None): "null"}.get(type(obj), "a JSON number")
                raise InvalidInput("input", f"file {name} holds {what}, not applicants", _SHAPE)
            return obj
        cap = bounded.limit("MAX_TABLE_BYTES")
        bounded.check_bytes(p.size, f"file {name}", cap, "MAX_TABLE_BYTES", "input")
        if suffix == ".csv":
            try:
                bounded.csv_header(
                    bounded.csv_stream(p.fh, False, cap, "input", f"file {name}"), "input", f"file {name}"
                )
                df = pd.read_csv(
                    bounded.csv_stream(p.fh, False, cap, "input", f"file {name}"), dtype=str, keep_default_na=False
                )
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
                raise InvalidInput(
                    "input", f"file {name} is not a readable CSV ({str(err)[:160]})", "give a CSV with a header row"
                ) from None
            if df.empty:
                raise InvalidInput("input", f"file {name} has a header but no applicants", "add at least one row")
            return df.to_dict(orient="records")
        try:
            p.fh.seek(0)
            bounded.parquet_shape(p.fh, "input", f"file {name}")
            df = pd.read_parquet(p.fh)
        except (ValueError, OSError) as err:  # pyarrow's ArrowInvalid is a ValueError
            raise InvalidInput(
                "input",
                f"file {name} is not a readable Parquet file ({str(err)[:160]})",
                "give a Parquet file with one column per field",
            ) from None
        if df.empty:
            raise InvalidInput("input", f"file {name} has columns but no applicants", "add at least one row")
        return df.to_dict(orient="records")
