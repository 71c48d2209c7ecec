"""Getting a bank's own applicants into its risk workspace: `risk import` (CSV or Parquet, its own column names).

The file is opened once through the workspace door (`ctx.user_file`: no symlinks, checked by its descriptor),
bounded before parsing (sandbox.bounded: bytes, columns, Parquet cells), typed and checked against its schema
(`dataset_schema`: inferred, or declared as JSON), and only then written. Layout (reached only through `ctx.path`):

    risk/imported/<hash>/data.parquet   the typed rows (target as 1 = default/bad, 0 = good)
    risk/imported/<hash>/schema.json    the schema, the file's name, the named warnings
    risk/imported/current.json          which import is live (rewritten atomically, last)
    risk/data/source.json               which data set `risk train` uses: "import" or "simulate"

A failed import raises before anything is written: the previous data set, simulated or imported, stays as it was.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sandbox import bounded, tracking, userfile
from sandbox.atomic import atomic_path, write_json
from sandbox.errors import InvalidInput, NotFound, StoreError

from . import dataset_schema as ds

SOURCE = ("risk", "data", "source.json")
POINTER = ("risk", "imported", "current.json")
MAX_ROWS = 5_000_000


@dataclass
class ImportResult:
    rows: int
    default_rate: float
    schema: dict
    warnings: list[str] = field(default_factory=list)
    data_hash: str = ""
    file: str = ""
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "default_rate": self.default_rate,
            "file": self.file,
            "data_hash": self.data_hash,
            "warnings": self.warnings,
            "schema": self.schema,
            "wall_s": round(self.wall_s, 3),
        }


def read_table(src: Any) -> pd.DataFrame:
    """A CSV (as text cells) or Parquet (typed) file, bounded before it is parsed; one-line errors."""
    with userfile.reading(src, "file") as p:
        name = p.name
        if p.size == 0:
            raise InvalidInput("file", f"{name} is empty", "export a header row and the applicants")
        suffix = p.suffix.lower()
        cap = bounded.limit("MAX_TABLE_BYTES")
        bounded.check_bytes(p.size, name, cap, "MAX_TABLE_BYTES")
        try:
            p.fh.seek(0)
            if suffix in (".parquet", ".pq"):
                bounded.parquet_shape(p.fh, "file", name)
                df = pd.read_parquet(p.fh)
            elif suffix in (".csv", ".txt", ".gz"):

                def stream():
                    return bounded.csv_stream(p.fh, suffix == ".gz", cap, "file", name)

                bounded.csv_header(stream(), "file", name)
                df = pd.read_csv(stream(), dtype=str, keep_default_na=False, skipinitialspace=True)
            else:
                raise InvalidInput("file", f"{name} is neither CSV nor Parquet", "use a .csv or .parquet file")
        except InvalidInput:
            raise
        except (ValueError, OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InvalidInput(
                "file",
                f"{name} could not be read ({type(exc).__name__}: {str(exc)[:160]})",
                "check it is a valid CSV (UTF-8, comma-separated, header row) or Parquet file",
            ) from None
    if len(df) == 0:
        raise InvalidInput("file", f"{name} has no data rows", "export at least one applicant")
    if len(df) > MAX_ROWS:
        raise InvalidInput("file", f"{name} has {len(df):,} rows, more than {MAX_ROWS:,}", "import a sample")
    df.columns = [str(c).strip() for c in df.columns]
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise InvalidInput("file", f"{name} has column {dup[0]!r} twice", "give every column its own name")
    return df


def read_schema(ctx, path: Any) -> dict:
    """A declared schema file (JSON), read through the workspace door and bounded."""
    with ctx.user_file(path, "schema") as p:
        cap = bounded.limit("MAX_JSON_BYTES")
        bounded.check_bytes(p.size, f"file {p.name!r}", cap, "MAX_JSON_BYTES", "schema")
        return bounded.load_json(
            p.read_bytes(cap),
            "schema",
            f"file {p.name!r}",
            "give the schema as JSON, as printed by `sandbox risk import --json`",
        )


def import_data(
    ctx,
    file: Any,
    target: str | None = None,
    schema: Any = None,
    positive: str | None = None,
    time_column: str | None = None,
    id_column: str | None = None,
    protected: list[str] | None = None,
    file_name: str = "upload",
) -> ImportResult:
    """Check FILE against its schema (inferred or declared: a dict, or a path to a JSON file) and make it the data set
    `risk train` uses. Anything wrong raises InvalidInput before a byte is written."""
    ctx.require("risk.simulate")  # the same right as simulating: put applicants into the workspace
    t0 = time.perf_counter()
    if isinstance(schema, (str, Path)):
        schema = read_schema(ctx, schema)
    if isinstance(file, pd.DataFrame):  # the page's upload, already parsed under the same bounds
        raw, name = file, str(file_name)[:200]
    else:
        with ctx.user_file(file, "file") as src:  # opened once, checked and read by its descriptor
            raw = read_table(src)
            name = src.name
    sch, typed, warnings = ds.build(raw, target or "", schema, positive, time_column, id_column, protected)
    data_hash = tracking.hash_frame(typed)
    folder = ctx.path("risk", "imported", data_hash[:16], create=True)
    with atomic_path(folder / "data.parquet", suffix=".parquet") as tmp:
        typed.to_parquet(tmp, index=False)
    meta = {
        "bank": ctx.bank,
        "file": name,
        "rows": len(typed),
        "data_hash": data_hash,
        "default_rate": float(typed[sch.target].mean()),
        "warnings": [str(w) for w in warnings],
        "warning_names": sorted({w.name for w in warnings}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema": sch.to_json(),
    }
    write_json(folder / "schema.json", meta)
    write_json(ctx.path(*POINTER, create=True), {"bank": ctx.bank, "folder": data_hash[:16], "data_hash": data_hash})
    set_source(ctx, "import")
    ctx.audit(
        "risk.import",
        file=name,
        rows=len(typed),
        features=len(sch.features),
        data_hash=data_hash,
        protected=sch.protected,
        time=sch.time,
        warnings=meta["warning_names"],
    )
    return ImportResult(
        rows=len(typed),
        default_rate=meta["default_rate"],
        schema=sch.to_json(),
        warnings=meta["warnings"],
        data_hash=data_hash,
        file=name,
        wall_s=time.perf_counter() - t0,
    )


def set_source(ctx, source: str) -> None:
    """Which data set `risk train` reads next: the last one simulated or imported."""
    write_json(ctx.path(*SOURCE, create=True), {"bank": ctx.bank, "source": source})


def active(ctx) -> bool:
    """Is the bank's current data set an import (rather than the simulator's)?"""
    path = ctx.path(*SOURCE)
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text()).get("source") == "import"
    except (ValueError, UnicodeDecodeError, AttributeError):
        return False


def _damaged(ctx, detail: str) -> StoreError:
    return StoreError(
        f"the bank's imported applicants are damaged ({detail})",
        f"import the file again: `sandbox risk import {ctx.bank} FILE --target COLUMN`",
    )


def load(ctx) -> tuple[pd.DataFrame, ds.DatasetSchema, dict]:
    """The bank's imported rows (scientists of the bank only), their schema and the import's metadata."""
    ctx.require("data.read")
    pointer = ctx.path(*POINTER)
    if not pointer.exists():
        raise NotFound(
            f"bank {ctx.bank} has no imported applicants",
            f"import a file: `sandbox risk import {ctx.bank} FILE --target COLUMN`",
        )
    try:
        current = json.loads(pointer.read_text())
        if current.get("bank") != ctx.bank:
            raise _damaged(ctx, f"current.json belongs to bank {current.get('bank')!r}")
        folder = ctx.path("risk", "imported", str(current["folder"]))
        meta = json.loads((folder / "schema.json").read_text())
    except (ValueError, KeyError, OSError, UnicodeDecodeError, TypeError) as err:
        raise _damaged(ctx, type(err).__name__) from None
    if meta.get("bank") != ctx.bank:
        raise _damaged(ctx, f"the import was made by bank {meta.get('bank')!r}")
    try:
        df = pd.read_parquet(folder / "data.parquet")
    except (OSError, ValueError) as err:
        raise _damaged(ctx, f"data.parquet: {type(err).__name__}") from None
    if tracking.hash_frame(df) != current.get("data_hash"):
        raise _damaged(ctx, "data.parquet does not match its hash")
    return df, ds.from_json(meta["schema"]), meta


def imported_models(ctx, version: Any = None):
    """The models `risk explain` would use, when they were trained on imported data; None otherwise (also when the
    bank never imported: one stat, so the simulator's reason codes pay nothing for this check)."""
    if not ctx.path(*POINTER).exists():
        return None
    from sandbox.errors import SandboxError

    from . import store

    try:
        models = store.load(ctx, version) if version is not None else store.load(ctx)
    except SandboxError:
        return None  # no model yet: lab.explain reports it in its own words
    return models if isinstance(models.sidecar.get("dataset"), dict) else None
