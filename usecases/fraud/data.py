"""The bank's transaction data set in its workspace: one Parquet file plus a JSON description.

Written atomically: an interrupted simulate or import leaves the previous data set in place. The new
description is written first as `transactions.json.new` and renamed last, and the Parquet footer carries the
data hash, so a writer killed between the two renames leaves a pair that `meta()` still matches up.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from sandbox import atomic
from sandbox.crashpoint import crash_point
from sandbox.errors import NotFound, StoreError

DATA_FILE = "transactions.parquet"
META_FILE = "transactions.json"
ROW_GROUP = 131_072  # small row groups: batch scoring reads only the days of history it needs


HASH_KEY = b"sandbox.data_hash"


def save(ctx, df: pd.DataFrame, meta: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = ctx.path("fraud", "data", DATA_FILE, create=True)
    meta_path = ctx.path("fraud", "data", META_FILE, create=True)
    pending = meta_path.with_name(META_FILE + ".new")
    atomic.write_json(pending, meta)
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), HASH_KEY: str(meta.get("data_hash", "")).encode()}
    )
    with atomic.atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, row_group_size=ROW_GROUP)
    crash_point("fraud.data.between_files")
    os.replace(pending, meta_path)


def _pending_meta(ctx) -> dict | None:
    """The description of a save killed between its two renames, when the Parquet file on disk is that save's."""
    pending = ctx.path("fraud", "data", META_FILE + ".new")
    if not pending.exists():
        return None
    import pyarrow.parquet as pq

    try:
        info = json.loads(pending.read_text(encoding="utf-8"))
        footer = (pq.read_schema(ctx.path("fraud", "data", DATA_FILE)).metadata or {}).get(HASH_KEY, b"").decode()
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return info if isinstance(info, dict) and footer and info.get("data_hash") == footer else None


def meta(ctx) -> dict:
    pending = _pending_meta(ctx)
    if pending is not None:
        return pending
    path = ctx.path("fraud", "data", META_FILE)
    if not path.exists():
        raise NotFound(
            f"bank {ctx.bank} has no fraud transactions yet",
            f"simulate some (`sandbox fraud simulate {ctx.bank}`) or import a file (`sandbox fraud import {ctx.bank} FILE`)",
        )
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise damaged(ctx, f"{META_FILE} is not valid JSON") from None
    if not isinstance(info, dict):
        raise damaged(ctx, f"{META_FILE} is not a description of the data set")
    return info


def current_rows(ctx) -> int:
    """How many transactions the bank's data set holds now (0 when it has none)."""
    try:
        return int(meta(ctx).get("rows", 0))
    except NotFound:
        return 0


def damaged(ctx, detail: str) -> StoreError:
    """One line for a data set that is not what simulate/import wrote (a file replaced by another process)."""
    return StoreError(
        f"the bank's transactions data set is damaged ({detail})",
        f"re-import or re-simulate: `sandbox fraud import {ctx.bank} FILE` or `sandbox fraud simulate {ctx.bank}`",
    )


def check_file(ctx, path) -> None:
    """Refuse a stored data set whose Parquet schema lacks a column or holds one of the wrong type, before any
    row is read (training on it died with a KeyError traceback; issue 11, finding 9)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .schema import COLUMNS

    try:
        arrow = pq.read_schema(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        raise damaged(ctx, f"{DATA_FILE} is not a readable Parquet file: {type(err).__name__}") from None
    t = pa.types

    def text(x) -> bool:
        return t.is_string(x) or t.is_large_string(x) or (t.is_dictionary(x) and text(x.value_type))

    kinds = {
        "integer": t.is_integer,
        "number": lambda x: t.is_integer(x) or t.is_floating(x),
        "timestamp": t.is_timestamp,
        "text": text,
    }
    want = {
        c: "integer" for c in ("txn_id", "customer_id", "terminal_id", "device_id", "payee_id", "is_fraud", "scenario")
    }
    want.update(
        amount="number",
        timestamp="timestamp",
        label_time="timestamp",
        channel="text",
        merchant_category="text",
        district="text",
    )
    names = set(arrow.names)
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise damaged(ctx, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for c in COLUMNS:
        typ = arrow.field(c).type
        if not kinds[want[c]](typ):
            raise damaged(ctx, f"column {c} holds {typ}, not {want[c]}")


def load(ctx) -> tuple[pd.DataFrame, dict]:
    info = meta(ctx)
    path = ctx.path("fraud", "data", DATA_FILE)
    if not path.exists():
        raise NotFound(
            f"bank {ctx.bank} has no fraud transactions file", f"simulate again: `sandbox fraud simulate {ctx.bank}`"
        )
    check_file(ctx, path)
    return pd.read_parquet(path), info


def load_history(ctx, before, days: float, columns: list[str]) -> pd.DataFrame:
    """`columns` of the transactions before `before` whose timestamp is within `days` of the latest of them.

    The stored data set is in data order (timestamp, then txn_id), so this reads the timestamps, finds the
    row range by binary search, and decodes only the row groups that hold it. An empty frame when there is
    no stored data set.
    """
    import pyarrow.parquet as pq

    try:
        meta(ctx)
    except NotFound:
        return pd.DataFrame({c: [] for c in columns})
    path = ctx.path("fraud", "data", DATA_FILE)
    if not path.exists():
        return pd.DataFrame({c: [] for c in columns})
    check_file(ctx, path)
    pf = pq.ParquetFile(path)
    ts = pf.read(columns=["timestamp"]).column(0).to_numpy().astype("datetime64[ns]")
    if len(ts) > 1 and not (ts[1:] >= ts[:-1]).all():  # not in data order (written by an older version): filter
        df = pd.read_parquet(path, columns=columns)
        df = df[df["timestamp"] < before]
        return df[df["timestamp"] > df["timestamp"].max() - pd.Timedelta(days=days)].reset_index(drop=True)
    hi = int(np.searchsorted(ts, np.datetime64(pd.Timestamp(before), "ns"), side="left"))
    if hi == 0:
        return pd.read_parquet(path, columns=columns).iloc[:0]
    lo = int(np.searchsorted(ts, ts[hi - 1] - np.timedelta64(int(days * 86_400), "s"), side="right"))
    sizes = np.array([pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    groups = [i for i in range(len(sizes)) if starts[i] < hi and starts[i + 1] > lo]
    table = pf.read_row_groups(groups, columns=columns).slice(lo - starts[groups[0]], hi - lo)
    return table.to_pandas()
