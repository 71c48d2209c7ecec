"""Append-only, hash-chained audit logs: one per bank plus one for the platform.

Each line is canonical JSON holding `seq`, `prev` (the previous entry's hash)
and `hash` (SHA-256 of the entry without its own hash). A sidecar `.head`
file records the last `seq`/`hash`, so truncation is caught as well as edits,
deletions, insertions and reorders. Appends take an exclusive `flock` on the
head file and write each line with one `write()` on an O_APPEND descriptor,
so several processes can append at once and no entry is ever half-written.
(The head is written after the line: a writer killed between the two leaves
a head one entry behind, which verify reports rather than hides.)
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

GENESIS = "0" * 64
HEAD_WIDTH = 120


def _canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def _entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_line: int | None = None
    reason: str = ""
    path: str = ""

    def to_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "first_bad_line": self.first_bad_line,
                "reason": self.reason, "path": self.path}


class AuditLog:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")

    @contextmanager
    def _locked(self) -> Iterator[int]:
        """Hold the exclusive lock on the head file (which doubles as the lock) and yield its fd."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _parse_head(raw: bytes) -> tuple[int, str]:
        raw = raw.strip(b"\0 \n")
        if not raw:
            return 0, GENESIS
        head = json.loads(raw)
        return int(head["seq"]), str(head["hash"])

    def _read_head(self) -> tuple[int, str]:
        try:
            return self._parse_head(self.head_path.read_bytes())
        except FileNotFoundError:
            return 0, GENESIS

    @staticmethod
    def _write_head(fd: int, seq: int, digest: str) -> None:
        # Fixed-width record rewritten in place under the lock: one small pwrite, no rename.
        os.pwrite(fd, json.dumps({"seq": seq, "hash": digest}).encode().ljust(HEAD_WIDTH) + b"\n", 0)

    def append(self, event: str, actor: str, **data: Any) -> dict:
        return self.append_many([(event, actor, data)])[-1]

    def append_many(self, events: Iterable[tuple[str, str, dict]]) -> list[dict]:
        """Append events in order under one lock acquisition."""
        written: list[dict] = []
        with self._locked() as head_fd:
            seq, prev = self._parse_head(os.pread(head_fd, HEAD_WIDTH + 1, 0))
            lines = []
            for event, actor, data in events:
                seq += 1
                entry = {"seq": seq, "ts": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                         "event": event, "actor": actor, "data": data, "prev": prev}
                entry["hash"] = prev = _entry_hash(entry)
                lines.append(_canonical(entry) + b"\n")
                written.append(entry)
            if not lines:
                return written
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, b"".join(lines))
            finally:
                os.close(fd)
            self._write_head(head_fd, seq, prev)
        return written

    def entries(self) -> list[dict]:
        """All entries, parsed; raises ValueError on an unparseable line (verify() says which)."""
        if not self.path.exists():
            return []
        with open(self.path, "rb") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def tail(self, n: int = 50) -> list[dict]:
        return self.entries()[-n:]

    def verify(self) -> VerifyResult:
        """Walk the chain; name the first bad line (1-based) and why."""
        path = str(self.path)
        head_seq, head_hash = self._read_head()
        if not self.path.exists():
            if head_seq:
                return VerifyResult(False, 0, 1, f"log is missing but its head records {head_seq} entries", path)
            return VerifyResult(True, 0, path=path)
        prev = GENESIS
        n = 0
        with open(self.path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.endswith(b"\n"):
                    return VerifyResult(False, n, lineno, "last line is incomplete (half-written or truncated)", path)
                try:
                    entry = json.loads(raw)
                    seq, entry_prev, digest = entry["seq"], entry["prev"], entry["hash"]
                except (ValueError, KeyError, TypeError):
                    return VerifyResult(False, n, lineno, "line is not a valid audit entry (edited or corrupted)", path)
                if _entry_hash(entry) != digest:
                    return VerifyResult(False, n, lineno, "entry content does not match its hash (edited)", path)
                if seq != lineno:
                    what = "deleted" if seq > lineno else "inserted or duplicated"
                    return VerifyResult(False, n, lineno, f"sequence {seq} where {lineno} was expected (an entry was {what}, or entries reordered)", path)
                if entry_prev != prev:
                    return VerifyResult(False, n, lineno, "previous-hash link broken (entries inserted or reordered)", path)
                prev = digest
                n = lineno
        if n != head_seq or (n and prev != head_hash):
            if n < head_seq:
                return VerifyResult(False, n, n + 1, f"log ends after {n} entries but its head records {head_seq} (truncated)", path)
            if n == head_seq + 1:
                return VerifyResult(False, n, n, "head is one entry behind the log (a writer was interrupted mid-append, or the head was altered)", path)
            return VerifyResult(False, n, head_seq + 1 if n > head_seq else n, f"log has {n} entries but its head records {head_seq} (head file altered)", path)
        return VerifyResult(True, n, path=path)
