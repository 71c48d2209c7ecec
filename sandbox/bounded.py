"""Bounds on untrusted input, checked before a parser reads it.

A parser given hostile input can spend minutes and gigabytes before it fails (a 1e6-column CSV took 96 s and
3.5 GB; JSON nested 100k deep raised RecursionError). So every reader of a user's file asks here first: the
byte size, the CSV header's column count, the Parquet footer's shape, the JSON nesting depth. Each check reads
a bounded prefix or the metadata only, and refuses with one line naming the file, the limit and the setting that
raises it. Limits are environment variables (`SANDBOX_MAX_...`), read at call time so a test or an operator can
change them without a restart.

The checks take an open binary handle (a `UserFile`'s `.fh`, see sandbox/userfile.py) and the name to show:
the file is read through the handle it was opened with, never reopened by name.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import struct
from typing import IO, Any

from .errors import InvalidInput

KIB, MIB, GIB = 1024, 1024**2, 1024**3

# name -> (default, what it bounds); SANDBOX_<NAME> overrides the default.
DEFAULTS: dict[str, tuple[int, str]] = {
    "MAX_TABLE_BYTES": (1 * GIB, "bytes of a CSV/Parquet file (after gzip decompression)"),
    "MAX_GZIP_RATIO": (100, "decompressed / compressed size of a gzipped CSV (beyond 64 MiB)"),
    "MAX_TABLE_COLUMNS": (1_000, "columns of a CSV/Parquet file"),
    "MAX_TABLE_CELLS": (500_000_000, "rows x columns of a Parquet file"),
    "MAX_HEADER_BYTES": (1 * MIB, "bytes of a CSV header line"),
    "MAX_JSON_BYTES": (64 * MIB, "bytes of a JSON file"),
    "MAX_JSON_DEPTH": (64, "nesting depth of a JSON document"),
    "MAX_PARQUET_FOOTER_BYTES": (16 * MIB, "bytes of a Parquet file's metadata footer"),
}


def limit(name: str) -> int:
    """The current value of limit `name` (a key of DEFAULTS), from $SANDBOX_<name> when set."""
    default, _ = DEFAULTS[name]
    return env_int(f"SANDBOX_{name}", default)


def env_int(var: str, default: int) -> int:
    """A positive integer setting from the environment; a bad value is an error naming the variable."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise InvalidInput(
            var, f"{raw!r} is not a whole number", f"unset it or give a positive integer (default {default})"
        ) from None
    if value <= 0:
        raise InvalidInput(var, f"{value} is not positive", f"unset it or give a positive integer (default {default})")
    return value


def human(n: int) -> str:
    """Bytes for a message: 1 MiB, 2 GiB, 640 KiB, 123 bytes."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            v = n / size
            return f"{v:.0f} {unit}" if v == int(v) or v >= 10 else f"{v:.1f} {unit}"
    return f"{n:,} bytes"


def too_big(field: str, name: str, what: str, found: str, name_of_limit: str, limit_value: str) -> InvalidInput:
    """The one-line refusal every bound uses: the file, what was found, the limit and the setting that raises it."""
    return InvalidInput(
        field,
        f"{name} {what} {found} (limit {limit_value}, set by SANDBOX_{name_of_limit})",
        "split the file or remove what is not needed; an operator may raise the limit",
    )


# -- bytes --------------------------------------------------------------------
def read_capped(fh: IO[bytes], cap: int) -> bytes:
    """At most cap + 1 bytes (one more than allowed, so the caller can tell 'over the limit')."""
    chunks, left = [], cap + 1
    while left > 0:
        b = fh.read(min(left, 4 * MIB))
        if not b:
            break
        chunks.append(b)
        left -= len(b)
    return b"".join(chunks)


def check_bytes(size: int | None, name: str, cap: int, setting: str, field: str = "file") -> None:
    """Refuse a file whose size (from fstat) is over `cap` before any of it is read."""
    if size is not None and size > cap:
        raise too_big(field, name, "is", human(size), setting, human(cap))


class CappedReader(io.RawIOBase):
    """A read-only stream that raises InvalidInput once more than `cap` bytes were read through it
    (a gzip bomb is stopped at the cap, not at the end of the memory)."""

    def __init__(self, raw: IO[bytes], cap: int, field: str, name: str, setting: str):
        self.raw, self.cap, self.field, self.name, self.setting, self.n = raw, cap, field, name, setting, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        self.n += len(data)
        if self.n > self.cap:
            what = "expands to more than" if self.setting == "MAX_GZIP_RATIO" else "holds more than"
            shown = (
                f"{limit(self.setting)}x its compressed size" if self.setting == "MAX_GZIP_RATIO" else human(self.cap)
            )
            raise too_big(self.field, self.name, what, human(self.cap), self.setting, shown)
        b[: len(data)] = data
        return len(data)


# -- CSV ----------------------------------------------------------------------
def csv_header(fh: IO[bytes], field: str, name: str, encoding: str = "utf-8-sig") -> list[str]:
    """The header row of a CSV, read from at most MAX_HEADER_BYTES, with its column count checked against
    MAX_TABLE_COLUMNS. Leaves `fh` where it was (seekable streams) so the real reader starts at the top."""
    cap, max_cols = limit("MAX_HEADER_BYTES"), limit("MAX_TABLE_COLUMNS")
    start = fh.tell() if fh.seekable() else None
    head = read_capped(fh, cap)
    if start is not None:
        fh.seek(start)
    # A quoted header may hold a newline; the first line ending outside quotes ends the header.
    end, quoted = -1, False
    for m in re.finditer(rb'["\n]', head):
        if m.group() == b'"':
            quoted = not quoted
        elif not quoted:
            end = m.start()
            break
    if end < 0:
        if len(head) > cap:
            n = head.count(b",") + 1
            if n > max_cols:
                raise too_big(field, name, "has", f"more than {n:,} columns", "MAX_TABLE_COLUMNS", f"{max_cols:,}")
            raise too_big(field, name, "has a header line longer than", human(cap), "MAX_HEADER_BYTES", human(cap))
        end = len(head)
    line = codecs.decode(head[:end], encoding, errors="replace").rstrip("\r")
    # Count separators before building a list of a million names.
    n = line.count(",") + 1 if line else 0
    if n > max_cols:
        raise too_big(field, name, "has", f"{n:,} columns", "MAX_TABLE_COLUMNS", f"{max_cols:,}")
    row = next(csv.reader([line], skipinitialspace=True), [])
    if len(row) > max_cols:
        raise too_big(field, name, "has", f"{len(row):,} columns", "MAX_TABLE_COLUMNS", f"{max_cols:,}")
    return row


# -- Parquet ------------------------------------------------------------------
def parquet_shape(fh: IO[bytes], field: str, name: str) -> tuple[int, int]:
    """(columns, rows) of a Parquet file from its footer alone, refusing one over MAX_TABLE_COLUMNS,
    MAX_TABLE_CELLS or a footer over MAX_PARQUET_FOOTER_BYTES; nothing of the data is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fix = "check it is a Parquet file (write it again with pandas.DataFrame.to_parquet)"
    try:
        end = fh.seek(0, io.SEEK_END)
        if end < 12:
            raise InvalidInput(field, f"{name} is not a readable Parquet file (too short)", fix)
        fh.seek(end - 8)
        tail = fh.read(8)
        fh.seek(0)
    except (OSError, io.UnsupportedOperation) as err:
        raise InvalidInput(field, f"{name} cannot be read ({type(err).__name__})", fix) from None
    if tail[4:] != b"PAR1":
        raise InvalidInput(field, f"{name} is not a readable Parquet file (no PAR1 footer)", fix)
    footer = struct.unpack("<I", tail[:4])[0]
    cap = limit("MAX_PARQUET_FOOTER_BYTES")
    if footer > cap:
        raise too_big(field, name, "has a metadata footer of", human(footer), "MAX_PARQUET_FOOTER_BYTES", human(cap))
    try:
        meta = pq.ParquetFile(fh).metadata
    except (pa.ArrowException, OSError, ValueError) as err:
        raise InvalidInput(
            field, f"{name} is not a readable Parquet file ({type(err).__name__}: {str(err)[:120]})", fix
        ) from None
    finally:
        fh.seek(0)
    cols = max(meta.num_columns, len(meta.schema.to_arrow_schema()))
    max_cols, max_cells = limit("MAX_TABLE_COLUMNS"), limit("MAX_TABLE_CELLS")
    if cols > max_cols:
        raise too_big(field, name, "has", f"{cols:,} columns", "MAX_TABLE_COLUMNS", f"{max_cols:,}")
    if meta.num_rows * max(cols, 1) > max_cells:
        raise too_big(
            field, name, "has", f"{meta.num_rows:,} rows x {cols:,} columns", "MAX_TABLE_CELLS", f"{max_cells:,} cells"
        )
    return cols, meta.num_rows


# -- JSON ---------------------------------------------------------------------
def json_depth(obj: Any) -> int:
    """The deepest nesting of lists and objects in a parsed JSON value; iterative, so no depth can overflow it."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return deepest


def load_json(data: bytes, field: str, name: str, fix: str) -> Any:
    """json.loads with the size checked first and the nesting depth checked after: never a RecursionError
    (the C decoder stops at the interpreter's recursion limit, about 1,000 levels, in microseconds; that is
    reported as too deep like anything over MAX_JSON_DEPTH)."""
    import json

    cap, max_depth = limit("MAX_JSON_BYTES"), limit("MAX_JSON_DEPTH")
    if len(data) > cap:
        raise too_big(
            field,
            name,
            "is",
            f"over {human(cap)}" if len(data) == cap + 1 else human(len(data)),
            "MAX_JSON_BYTES",
            human(cap),
        )
    deep = too_big(
        field, name, "is JSON nested", f"more than {max_depth} levels deep", "MAX_JSON_DEPTH", f"{max_depth} levels"
    )
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise InvalidInput(field, f"{name} is not UTF-8 text (bad byte at offset {err.start})", fix) from None
    except json.JSONDecodeError as err:
        raise InvalidInput(field, f"{name} is not valid JSON ({err})", fix) from None
    except RecursionError:
        raise deep from None
    if json_depth(obj) > max_depth:
        raise deep
    return obj


def csv_stream(fh: IO[bytes], gzipped: bool, cap: int, field: str, name: str) -> IO[bytes]:
    """`fh` from its start, decompressed when gzipped, stopping with InvalidInput past `cap` bytes (a gzip bomb
    ends at the cap, not at the end of the memory). Each call starts again from the top."""
    import gzip

    setting = "MAX_TABLE_BYTES"
    if gzipped:  # a gzip bomb expands a thousandfold; real CSVs compress about tenfold
        size = fh.seek(0, io.SEEK_END)
        ratio_cap = max(64 * MIB, limit("MAX_GZIP_RATIO") * size)
        if ratio_cap < cap:
            cap, setting = ratio_cap, "MAX_GZIP_RATIO"
        # Count the decompressed bytes first (zlib runs at about 1 GB/s; pandas at a few MB/s), so a bomb is
        # refused in seconds rather than after the parser has filled the memory up to the cap.
        fh.seek(0)
        counter = CappedReader(gzip.GzipFile(fileobj=fh, mode="rb"), cap, field, name, setting)
        buf = bytearray(4 * MIB)
        while counter.readinto(buf):
            pass
    fh.seek(0)
    raw: IO[bytes] = gzip.GzipFile(fileobj=fh, mode="rb") if gzipped else fh
    return io.BufferedReader(CappedReader(raw, cap, field, name, setting), 1 << 20)
