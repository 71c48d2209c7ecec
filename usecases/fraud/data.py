"""The bank's transaction data set in its workspace: one Parquet file plus a JSON description.

Written atomically: an interrupted simulate or import leaves the previous data set in place.
"""
from __future__ import annotations

import json

import pandas as pd

from sandbox import atomic
from sandbox.errors import NotFound

DATA_FILE = "transactions.parquet"
META_FILE = "transactions.json"


def save(ctx, df: pd.DataFrame, meta: dict) -> None:
    path = ctx.path("fraud", "data", DATA_FILE, create=True)
    with atomic.atomic_path(path, suffix=".parquet") as tmp:
        df.to_parquet(tmp, index=False)
    atomic.write_json(ctx.path("fraud", "data", META_FILE, create=True), meta)


def meta(ctx) -> dict:
    path = ctx.path("fraud", "data", META_FILE)
    if not path.exists():
        raise NotFound(f"bank {ctx.bank} has no fraud transactions yet",
                       f"simulate some (`sandbox fraud simulate {ctx.bank}`) or import a file (`sandbox fraud import {ctx.bank} FILE`)")
    return json.loads(path.read_text(encoding="utf-8"))


def load(ctx) -> tuple[pd.DataFrame, dict]:
    info = meta(ctx)
    path = ctx.path("fraud", "data", DATA_FILE)
    if not path.exists():
        raise NotFound(f"bank {ctx.bank} has no fraud transactions file", f"simulate again: `sandbox fraud simulate {ctx.bank}`")
    return pd.read_parquet(path), info
