"""The transaction schema, and validation of a bank's own file (`sandbox fraud import`).

A transaction file is CSV or Parquet with exactly these columns (names are
case-sensitive; order does not matter):

| column            | type                         | required | meaning |
|-------------------|------------------------------|----------|---------|
| txn_id            | integer >= 0, unique         | yes      | transaction id |
| timestamp         | ISO 8601 date-time           | yes      | when it happened, YYYY-MM-DD hh:mm[:ss] (Hong Kong local time; a time zone such as +08:00 or Z is converted) |
| customer_id       | integer >= 0                 | yes      | the paying customer (a pseudonymised key) |
| amount            | number, 0 <= amount <= 10,000,000 | yes  | amount in HKD (0.00 is a real transaction: card verification, reversals) |
| is_fraud          | 0 or 1                       | yes      | reported label (0 = not reported as fraud) |
| terminal_id       | integer >= 0, or -1/empty    | no       | card terminal or online merchant; -1 for FPS transfers |
| channel           | card_present, card_not_present, fps | no | default card_present |
| merchant_category | text                         | no       | e.g. grocery, electronics (unknown values become `other`) |
| district          | text                         | no       | Hong Kong district of the terminal, or `online` |
| device_id         | integer >= 0, or -1/empty    | no       | device used (online and FPS); -1 when none |
| payee_id          | integer >= 0, or -1/empty    | no       | receiving account of an FPS transfer; a customer_id means our own customer |
| scenario          | integer 0..99                | no       | fraud scenario id when known (0 = legitimate) |
| label_time        | ISO 8601 date-time >= timestamp | no    | when the label became known (default: timestamp + 7 days) |

The layout of the Fraud Detection Handbook (Le Borgne et al.) is accepted as
well: TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID, TX_AMOUNT,
TX_FRAUD, and optionally TX_TIME_SECONDS, TX_TIME_DAYS, TX_FRAUD_SCENARIO.

Date-times are ISO 8601 with the date written YYYY-MM-DD (2025-03-01 14:05,
2025-03-01T14:05:09+08:00); day-first or month-first dates such as 01/03/2025
are rejected, never guessed.

Validation checks every row: a row with a bad value is rejected with its row
number (1 = first data row), column and reason; the other rows are imported
and replace the bank's current data set. A file-level problem (unreadable,
empty, missing or unknown columns, no valid row) is an error and nothing is
imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sandbox import bounded, userfile
from sandbox.errors import InvalidInput

CHANNELS = ("card_present", "card_not_present", "fps")
MAX_AMOUNT = 10_000_000.0
DEFAULT_LABEL_DELAY_DAYS = 7

REQUIRED = ("txn_id", "timestamp", "customer_id", "amount", "is_fraud")
OPTIONAL = (
    "terminal_id",
    "channel",
    "merchant_category",
    "district",
    "device_id",
    "payee_id",
    "scenario",
    "label_time",
)
COLUMNS = REQUIRED + OPTIONAL
ID_COLUMNS = ("txn_id", "customer_id", "terminal_id", "device_id", "payee_id")

HANDBOOK_COLUMNS = {
    "TRANSACTION_ID": "txn_id",
    "TX_DATETIME": "timestamp",
    "CUSTOMER_ID": "customer_id",
    "TERMINAL_ID": "terminal_id",
    "TX_AMOUNT": "amount",
    "TX_FRAUD": "is_fraud",
    "TX_FRAUD_SCENARIO": "scenario",
}
HANDBOOK_IGNORED = ("TX_TIME_SECONDS", "TX_TIME_DAYS")

MAX_REJECTIONS_LISTED = 1000


@dataclass
class Rejection:
    row: int
    column: str
    reason: str

    def to_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class ImportReport:
    file: str
    layout: str
    accepted: int
    rejected: int
    rejections: list[Rejection] = field(default_factory=list)
    fraud_rows: int = 0
    data_hash: str = ""
    days: int = 0
    replaced_rows: int = 0  # rows of the data set this import replaced (0: the bank had none)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "layout": self.layout,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "fraud_rows": self.fraud_rows,
            "days": self.days,
            "data_hash": self.data_hash,
            "replaced_rows": self.replaced_rows,
            "rejections": [r.to_dict() for r in self.rejections],
        }


def empty_frame() -> pd.DataFrame:
    return canonical(pd.DataFrame({c: [] for c in COLUMNS}))


def canonical(df: pd.DataFrame, text: str = "str") -> pd.DataFrame:
    """Columns in schema order with schema dtypes (trusted input: simulator or validated import).

    text="category" keeps categorical text columns categorical (batch scoring: no string per row)."""

    def as_text(s: pd.Series):
        return s if text == "category" and isinstance(s.dtype, pd.CategoricalDtype) else s.astype(str)

    out = pd.DataFrame(
        {
            "txn_id": df["txn_id"].astype(np.int64),
            "timestamp": pd.to_datetime(df["timestamp"]).astype("datetime64[ns]"),
            "customer_id": df["customer_id"].astype(np.int64),
            "terminal_id": df["terminal_id"].astype(np.int64),
            "amount": df["amount"].astype(np.float64),
            "channel": pd.Categorical(df["channel"], categories=CHANNELS),
            "merchant_category": as_text(df["merchant_category"]),
            "district": as_text(df["district"]),
            "device_id": df["device_id"].astype(np.int64),
            "payee_id": df["payee_id"].astype(np.int64),
            "is_fraud": df["is_fraud"].astype(np.int8),
            "scenario": df["scenario"].astype(np.int8),
            "label_time": pd.to_datetime(df["label_time"]).astype("datetime64[ns]"),
        }
    )
    return out.reset_index(drop=True)


def read_table(file: str | Path | userfile.UserFile) -> tuple[pd.DataFrame, str]:
    """Read a CSV or Parquet file as text columns (CSV) or typed columns (Parquet).

    `file` is a checked `UserFile` (read by its descriptor, never reopened by name) or a plain path."""
    with userfile.reading(file, "file") as src:
        return _read_table(src)


def _read_table(path: userfile.UserFile) -> tuple[pd.DataFrame, str]:
    if path.size == 0:
        raise InvalidInput("file", f"{path.name} is empty", "export at least a header and one transaction")
    suffix = path.suffix.lower()
    # Work bounded before parsing (sandbox.bounded): bytes, header/footer columns, Parquet cells, gzip output.
    cap = bounded.limit("MAX_TABLE_BYTES")
    bounded.check_bytes(path.size, path.name, cap, "MAX_TABLE_BYTES")
    try:
        path.fh.seek(0)
        if suffix in (".parquet", ".pq"):
            bounded.parquet_shape(path.fh, "file", path.name)
            df = pd.read_parquet(path.fh)
            kind = "parquet"
        elif suffix in (".csv", ".txt", ".gz"):

            def stream():
                return bounded.csv_stream(path.fh, suffix == ".gz", cap, "file", path.name)

            bounded.csv_header(stream(), "file", path.name)
            df = pd.read_csv(stream(), dtype=str, keep_default_na=False, skipinitialspace=True)
            kind = "csv"
        else:
            raise InvalidInput("file", f"{path.name} is neither CSV nor Parquet", "use a .csv or .parquet file")
    except InvalidInput:
        raise
    except (ValueError, OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InvalidInput(
            "file",
            f"{path.name} could not be read ({type(exc).__name__}: {str(exc)[:160]})",
            "check it is a valid CSV (UTF-8, comma-separated, header row) or Parquet file",
        ) from None
    if len(df) == 0:
        raise InvalidInput("file", f"{path.name} has no data rows", "export at least one transaction")
    return df, kind


def detect_layout(columns: list[str]) -> str:
    cols = set(columns)
    if "TX_DATETIME" in cols or "TRANSACTION_ID" in cols:
        return "handbook"
    return "sandbox"


def check_columns(columns: list[str], layout: str) -> None:
    cols = [str(c) for c in columns]
    if layout == "handbook":
        allowed = set(HANDBOOK_COLUMNS) | set(HANDBOOK_IGNORED)
        required = [k for k, v in HANDBOOK_COLUMNS.items() if v in REQUIRED or v == "terminal_id"]
    else:
        allowed, required = set(COLUMNS), list(REQUIRED)
    missing = [c for c in required if c not in cols]
    extra = [c for c in cols if c not in allowed and not c.startswith("Unnamed: ")]
    if missing:
        raise InvalidInput(
            "columns",
            f"missing column(s) {', '.join(missing)} ({layout} layout)",
            "see `sandbox fraud import --help` for the schema",
        )
    if extra:
        shown = ", ".join(extra[:20]) + (f" and {len(extra) - 20:,} more" if len(extra) > 20 else "")
        raise InvalidInput(
            "columns",
            f"unknown column(s) {shown} ({layout} layout)",
            "drop them or rename them to schema columns; see `sandbox fraud import --help`",
        )
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise InvalidInput("columns", f"duplicate column(s) {', '.join(dup)}", "keep one of each")


class _Checker:
    def __init__(self, n: int):
        self.bad = np.zeros(n, dtype=bool)
        self.rejections: list[Rejection] = []

    def flag(self, mask: np.ndarray, column: str, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.bad  # first problem of a row is reported
        if not mask.any():
            return
        for i in np.flatnonzero(mask)[: max(0, MAX_REJECTIONS_LISTED - len(self.rejections))]:
            self.rejections.append(Rejection(int(i) + 1, column, reason))
        self.bad |= mask


def _blank(s: pd.Series) -> np.ndarray:
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        return (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
    return s.isna().to_numpy()


def _int_column(s: pd.Series, chk: _Checker, column: str, optional: bool) -> np.ndarray:
    num = pd.to_numeric(s, errors="coerce").astype("float64")
    blank = _blank(s)
    vals = num.to_numpy()
    if optional:
        vals = np.where(blank, -1.0, vals)
        chk.flag(~blank & np.isnan(vals), column, "not an integer id")
        chk.flag(
            ~np.isnan(vals) & ((vals != np.floor(vals)) | (vals < -1) | (vals > 2**53)),
            column,
            "ids must be whole numbers >= 0 (-1 or empty for none)",
        )
    else:
        chk.flag(blank, column, "empty")
        chk.flag(~blank & np.isnan(vals), column, "not an integer id")
        chk.flag(
            ~np.isnan(vals) & ((vals != np.floor(vals)) | (vals < 0) | (vals > 2**53)),
            column,
            "ids must be whole numbers >= 0",
        )
    return np.nan_to_num(vals, nan=-1).astype(np.int64)


_TZ_SUFFIX = r"[T ]\d[\d:.,]*\s*(?:[zZ]|[+-]\d\d(?::?\d\d)?)$"  # after a time: the "-01" of 2025-03-01 is no zone
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]|$)"  # a full calendar date first: no 2025, 2025-03, 20250301, 01/03/2025
BAD_TIME = "not an ISO 8601 date-time: write YYYY-MM-DD hh:mm[:ss], e.g. 2025-03-01 14:05:09"


def _parse_times(text: pd.Series, utc: bool) -> pd.Series:
    """Strict ISO 8601 (a value that is not becomes NaT, and its row is rejected): a day-first or month-first
    date such as 01/03/2025 is ambiguous and never guessed."""
    text = text.where(text.str.match(_ISO_DATE).fillna(False).astype(bool))
    try:
        return pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    except ValueError:  # a zone the suffix test missed among naive values: one by one, the zoned one rejected
        return pd.Series(
            [_one_time(v, utc) for v in text],
            index=text.index,
            dtype="datetime64[ns, UTC]" if utc else "datetime64[ns]",
        )


def _one_time(value, utc: bool):
    t = pd.to_datetime(value, errors="coerce", format="ISO8601", utc=utc)
    return pd.NaT if t is pd.NaT or (not utc and t.tzinfo is not None) else t


def _time_column(s: pd.Series, chk: _Checker, column: str) -> pd.Series:
    """Date-times as Hong Kong local time: naive values are local already, values with a zone are converted."""
    blank = _blank(s)
    if pd.api.types.is_datetime64_any_dtype(s):
        ts = s
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("Asia/Hong_Kong").dt.tz_localize(None)
    else:
        text = s.astype(str).str.strip()
        zoned = text.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
        ts = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        if (~zoned).any():
            ts[~zoned] = _parse_times(text[~zoned], utc=False).astype("datetime64[ns]")
        if zoned.any():
            ts[zoned] = _parse_times(text[zoned], utc=True).dt.tz_convert("Asia/Hong_Kong").dt.tz_localize(None)
    chk.flag(blank, column, "empty")
    chk.flag(~blank & ts.isna().to_numpy(), column, BAD_TIME)
    ok = ts.notna().to_numpy()
    years = np.where(ok, ts.dt.year.fillna(2000).to_numpy(), 2000)
    chk.flag(ok & ((years < 1990) | (years > 2100)), column, "date out of range (1990..2100)")
    return ts.astype("datetime64[ns]")


def _per_value(s: pd.Series, clean) -> tuple[pd.Series, np.ndarray]:
    """Apply `clean` (a Series -> Series text transformation) once per distinct value of `s`, not once per row:
    returns the cleaned distinct values and each row's code into them."""
    codes, _ = pd.factorize(s, use_na_sentinel=False)
    first = np.unique(codes, return_index=True)[1]
    return clean(s.iloc[first].reset_index(drop=True)), codes


def _text_column(s: pd.Series, clean, chk: _Checker, column: str, flags, text: str):
    """A text column cleaned per distinct value; flags: [(predicate on cleaned values, reason)]."""
    vals, codes = _per_value(s, clean)
    for pred, reason in flags:
        bad = np.asarray(pred(vals), dtype=bool)
        if bad.any():
            chk.flag(bad[codes], column, reason)
    if text == "category":
        cats, inv = pd.factorize(vals)  # cleaning can merge values (" a" and "a"); NaN stays missing
        return pd.Categorical.from_codes(cats[codes], categories=pd.Index(inv).astype(str))
    return vals.to_numpy()[codes]


def validate(
    raw: pd.DataFrame, label_delay_days: int = DEFAULT_LABEL_DELAY_DAYS, text: str = "str"
) -> tuple[pd.DataFrame, list[Rejection], int, str]:
    """Check every row; return (accepted canonical rows, rejections, rejected count, layout).

    text="category" returns the text columns as categoricals (same values; batch scoring)."""
    raw = raw[[c for c in raw.columns if not str(c).startswith("Unnamed: ")]]
    layout = detect_layout(list(raw.columns))
    check_columns(list(raw.columns), layout)
    if layout == "handbook":
        raw = raw.drop(columns=[c for c in HANDBOOK_IGNORED if c in raw.columns]).rename(columns=HANDBOOK_COLUMNS)
    n = len(raw)
    chk = _Checker(n)
    out: dict[str, object] = {}
    out["txn_id"] = _int_column(raw["txn_id"], chk, "txn_id", optional=False)
    out["timestamp"] = _time_column(raw["timestamp"], chk, "timestamp")
    out["customer_id"] = _int_column(raw["customer_id"], chk, "customer_id", optional=False)
    for col in ("terminal_id", "device_id", "payee_id"):
        out[col] = _int_column(raw[col], chk, col, optional=True) if col in raw else np.full(n, -1, np.int64)

    _amount_and_label(raw, chk, out)
    _text_columns(raw, chk, out, n, text)
    _scenario_and_label_time(raw, chk, out, n, label_delay_days)

    frame = pd.DataFrame(out)
    dup = frame["txn_id"].duplicated(keep="first").to_numpy()
    chk.flag(dup, "txn_id", "duplicate transaction id")
    accepted = frame[~chk.bad] if chk.bad.any() else frame
    if len(accepted):
        accepted = canonical(accepted, text=text)
    return accepted, sorted(chk.rejections, key=lambda r: r.row), int(chk.bad.sum()), layout


def _amount_and_label(raw: pd.DataFrame, chk: _Checker, out: dict) -> None:
    """Amount (a finite, non-negative number up to MAX_AMOUNT) and the 0/1 fraud label, into `out`."""
    amt_blank = _blank(raw["amount"])
    amount = pd.to_numeric(raw["amount"], errors="coerce").astype("float64").to_numpy()
    chk.flag(amt_blank, "amount", "empty")
    chk.flag(~amt_blank & np.isnan(amount), "amount", "not a number")
    chk.flag(np.isinf(amount), "amount", "not a finite number")
    chk.flag(amount < 0, "amount", "negative amount")
    chk.flag(amount > MAX_AMOUNT, "amount", f"absurd amount (over HKD {MAX_AMOUNT:,.0f})")
    out["amount"] = np.nan_to_num(amount, nan=0.0, posinf=0.0)

    lab = pd.to_numeric(raw["is_fraud"], errors="coerce").to_numpy(dtype="float64")
    chk.flag(~np.isin(lab, (0.0, 1.0)), "is_fraud", "must be 0 or 1")
    out["is_fraud"] = np.nan_to_num(lab, nan=0).astype(np.int8)


def _text_columns(raw: pd.DataFrame, chk: _Checker, out: dict, n: int, text: str) -> None:
    """Channel (one of CHANNELS), merchant category and district (short text), defaulted when absent."""
    if "channel" in raw:
        vals, codes = _per_value(
            raw["channel"], lambda v: v.astype(str).str.strip().str.lower().replace({"": "card_present"})
        )
        known = vals.isin(CHANNELS).to_numpy()
        chk.flag(~known[codes], "channel", f"must be one of {', '.join(CHANNELS)}")
        lut = np.array([CHANNELS.index(v) if ok else 0 for v, ok in zip(vals, known)], dtype=np.int8)
        out["channel"] = pd.Categorical.from_codes(lut[codes], categories=list(CHANNELS))
    else:
        out["channel"] = pd.Categorical.from_codes(np.zeros(n, np.int8), categories=list(CHANNELS))
    for col, default in (("merchant_category", "general"), ("district", "unknown")):
        if col in raw:
            out[col] = _text_column(
                raw[col],
                lambda v, d=default: v.astype(str).str.strip().replace({"": d}),
                chk,
                col,
                [(lambda v: (v.str.len() > 64).fillna(False).to_numpy(), "longer than 64 characters")],
                text,
            )
        elif text == "category":
            out[col] = pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[default])
        else:
            out[col] = np.full(n, default, dtype=object)


def _scenario_and_label_time(raw: pd.DataFrame, chk: _Checker, out: dict, n: int, label_delay_days: int) -> None:
    """Scenario code (0..99; 99 for a fraud row without one) and the label's arrival time (not before the
    transaction; the timestamp plus `label_delay_days` when blank)."""
    if "scenario" in raw:
        sc_blank = _blank(raw["scenario"])
        sc = pd.to_numeric(raw["scenario"], errors="coerce").to_numpy(dtype="float64")
        sc = np.where(sc_blank, np.where(out["is_fraud"] == 1, 99, 0), sc)
        chk.flag(
            np.isnan(sc) | (sc < 0) | (sc > 99) | (sc != np.floor(np.nan_to_num(sc))),
            "scenario",
            "must be a whole number 0..99",
        )
        out["scenario"] = np.nan_to_num(sc, nan=0).astype(np.int8)
    else:
        out["scenario"] = np.where(out["is_fraud"] == 1, 99, 0).astype(np.int8)
    ts = out["timestamp"]
    if "label_time" in raw:
        lt_blank = _blank(raw["label_time"])
        sub = _Checker(n)
        lt = _time_column(raw["label_time"].where(~lt_blank, "2000-01-01"), sub, "label_time")
        for r in sub.rejections:
            chk.flag(np.arange(n) == r.row - 1, r.column, r.reason)
        lt = lt.where(~lt_blank, ts + pd.Timedelta(days=label_delay_days))
        chk.flag((lt < ts).fillna(False).to_numpy(), "label_time", "before the transaction's timestamp")
        out["label_time"] = lt
    else:
        out["label_time"] = ts + pd.Timedelta(days=label_delay_days)
