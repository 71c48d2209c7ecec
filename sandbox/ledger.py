"""The sandbox's own record of what happened to a bank's runs, read from the bank's audit chain.

MLflow tags are writable by whoever holds the run's MLflow credentials (a bank's
scientist, in server mode), so a tag is a claim, not evidence. What the sandbox
believes about a run comes from the bank's hash-chained audit log, which only
the workspace door appends to:

- who ran it: the `<usecase>.run.start`, `<usecase>.run` and `<usecase>.run.failed`
  events of `WorkspaceContext.run` (a run with none was made straight through
  MLflow: "unrecorded");
- its state of each kind: the latest event of a registered kind for a subject.
  `review.sign` (written only by `WorkspaceContext.sign_off`) is kind "review",
  subject the run id, state the decision. Issue 14's lifecycle adds its kinds
  (candidate / approved / champion stages) with `register()`; nothing else changes.

MLflow's review tags are a mirror for the stock UI; `review_of()` compares the
mirror with the ledger and says "consistent", "absent" or "tampered".

Reading is one pass over the log, kept per process keyed on the file's inode,
size and mtime; when the log only grew (the usual case: it is append-only) just
the new lines are read. The prefix is not re-hashed here: `audit verify` is what
proves the chain unedited; the ledger trusts what the door wrote.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USECASES: tuple[str, ...] = ("fraud", "risk", "chat")  # = tracking.USECASES (not imported: tracking is above us)
RUN_OUTCOMES = {
    f"{uc}.run{suffix}": (uc, outcome)
    for uc in USECASES
    for suffix, outcome in ((".start", "started"), ("", "finished"), (".failed", "failed"))
}
MIRROR_CONSISTENT, MIRROR_ABSENT, MIRROR_TAMPERED = "consistent", "absent", "tampered"
REVIEW_MIRROR_TAGS = ("review.status", "review.by", "review.comment", "review.at")


@dataclass(frozen=True)
class Kind:
    """An audit event that sets a state: `event` with data[`subject`] = what, data[`state`] = the new state."""

    event: str
    kind: str
    subject: str
    state: str
    keep: tuple[str, ...] = ()  # further data fields shown with the state (a comment, a time)


@dataclass(frozen=True)
class State:
    kind: str
    subject: str
    state: str
    by: str
    ts: str  # the audit entry's time
    seq: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    usecase: str
    actor: str
    outcome: str  # started | finished | failed (the latest)
    ts: str
    seq: int


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Declare an audit event as a ledger state change (once, at import of the module that writes it)."""
    old = KINDS.get(kind.event)
    if old is not None and old != kind:
        raise ValueError(f"ledger event {kind.event!r} is already registered as {old}")
    KINDS[kind.event] = kind
    _CACHE.clear()  # a cached pass did not look for this event


REVIEW = Kind("review.sign", "review", "run_id", "decision", keep=("comment", "at"))


class Ledger:
    """One pass over a bank's audit log: the latest state per (kind, subject), every state's history,
    and who started each run."""

    def __init__(
        self,
        states: dict[tuple[str, str], list[State]] | None = None,
        runs: dict[str, RunRecord] | None = None,
        entries: int = 0,
    ):
        self._states = states or {}
        self._runs = runs or {}
        self.entries = entries  # how many audit entries were read

    def state(self, kind: str, subject: str) -> State | None:
        history = self._states.get((kind, subject))
        return history[-1] if history else None

    def history(self, kind: str, subject: str) -> list[State]:
        return list(self._states.get((kind, subject), ()))

    def subjects(self, kind: str) -> dict[str, State]:
        return {s: h[-1] for (k, s), h in self._states.items() if k == kind and h}

    def review(self, run_id: str) -> State | None:
        return self.state(REVIEW.kind, run_id)

    def run(self, run_id: str) -> RunRecord | None:
        return self._runs.get(run_id)

    def review_of(self, run_id: str, tags: dict[str, str]) -> dict[str, Any]:
        """The run's review as the ledger holds it, and what its MLflow mirror (tags) looks like beside it.

        The mirror is "tampered" when it claims a decision the ledger lacks or another decision or
        reviewer; "absent" when it holds no review; else "consistent".
        """
        st = self.review(run_id)
        mirror_status, mirror_by = tags.get("review.status", ""), tags.get("review.by", "")
        if st is None:
            out = {"status": "", "by": "", "comment": "", "at": ""}
            mirror = MIRROR_TAMPERED if (mirror_status or mirror_by) else MIRROR_ABSENT
        else:
            out = {
                "status": st.state,
                "by": st.by,
                "comment": str(st.data.get("comment", "")),
                "at": str(st.data.get("at") or st.ts),
            }
            if not mirror_status and not mirror_by:
                mirror = MIRROR_ABSENT
            elif mirror_status == st.state and mirror_by == st.by:
                mirror = MIRROR_CONSISTENT
            else:
                mirror = MIRROR_TAMPERED
        out.update(source="ledger", mirror=mirror)
        if mirror == MIRROR_TAMPERED:  # what the tags claim, so a reviewer sees what was forged
            out["mirror_claims"] = {"status": mirror_status, "by": mirror_by}
        return out


class _Cached:
    __slots__ = ("key", "ident", "offset", "last_line", "states", "runs", "entries", "snapshot")

    def __init__(self) -> None:
        self.key: tuple[int, int, int, int] | None = None  # (dev, inode, size, mtime) of a complete pass
        self.ident: tuple[int, int] | None = None  # (dev, inode) of the file read so far
        self.offset = 0
        self.last_line = b""
        self.states: dict[tuple[str, str], list[State]] = {}
        self.runs: dict[str, RunRecord] = {}
        self.entries = 0
        self.snapshot: Ledger | None = None


_CACHE: dict[str, _Cached] = {}
_LOCK = threading.Lock()


def read(log_path: Path | str) -> Ledger:
    """The ledger of one audit log (a bank's `audit.jsonl`); empty when the log does not exist yet."""
    path = str(Path(log_path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Ledger()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _LOCK:
        c = _CACHE.get(path)
        if c is not None and c.key == key and c.snapshot is not None:
            return c.snapshot
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())  # the file we read, not the name we stat-ed
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            if c is None or not _still_prefix(fh, c, st):
                c = _CACHE[path] = _Cached()
            c.ident = (st.st_dev, st.st_ino)
            fh.seek(c.offset)
            data = fh.read(st.st_size - c.offset)
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        if end:
            _apply(c, data[:end])
            c.last_line = data[data.rfind(b"\n", 0, end - 1) + 1 : end]
            c.offset += end
        c.key = key if c.offset == st.st_size else None
        c.snapshot = Ledger({k: list(v) for k, v in c.states.items()}, dict(c.runs), c.entries)
        return c.snapshot


def _still_prefix(fh, c: _Cached, st: os.stat_result) -> bool:
    """Whether the cached pass can be extended: the same file, grown (an append; the same size with a new
    mtime is an edit in place, read afresh), and the last line read is still where it was."""
    if c.offset == 0 or c.ident != (st.st_dev, st.st_ino) or st.st_size <= c.offset or not c.last_line:
        return False
    fh.seek(c.offset - len(c.last_line))
    return fh.read(len(c.last_line)) == c.last_line


def _tokens() -> tuple[bytes, ...]:
    """Byte strings every line of one of our events contains (its quoted event name, or its start)."""
    return tuple(f'"{e}"'.encode() for e in KINDS) + tuple(f'"{uc}.run'.encode() for uc in USECASES)


def _candidate_lines(blob: bytes) -> list[bytes]:
    """The lines that may hold one of our events, found by searching the blob (not parsing every line):
    most entries (chat.ask, access.denied ...) are none of ours, and json.loads is what costs."""
    starts: set[int] = set()
    for token in _tokens():
        pos = blob.find(token)
        while pos >= 0:
            start = blob.rfind(b"\n", 0, pos) + 1
            starts.add(start)
            end = blob.find(b"\n", pos)
            pos = blob.find(token, end if end >= 0 else len(blob))
    out = []
    for start in sorted(starts):  # the log's order: the latest event of a subject wins
        end = blob.find(b"\n", start)
        out.append(blob[start : end if end >= 0 else len(blob)])
    return out


def _apply(c: _Cached, blob: bytes) -> None:
    c.entries += blob.count(b"\n")
    for line in _candidate_lines(blob):
        try:
            entry = json.loads(line)
            event, actor, data = entry["event"], entry["actor"], entry.get("data") or {}
        except (ValueError, KeyError, TypeError):
            continue  # a damaged line: `audit verify` names it; the ledger reads what it can
        if not isinstance(data, dict):
            continue
        ts, seq = str(entry.get("ts", "")), int(entry.get("seq", 0) or 0)
        if event in RUN_OUTCOMES:
            run_id = data.get("run_id")
            if isinstance(run_id, str) and run_id:
                usecase, outcome = RUN_OUTCOMES[event]
                first = c.runs.get(run_id)  # the actor is whoever started it; later events only move the outcome
                c.runs[run_id] = RunRecord(run_id, usecase, first.actor if first else str(actor), outcome, ts, seq)
            continue
        kind = KINDS.get(event)
        if kind is None:
            continue
        subject, state = data.get(kind.subject), data.get(kind.state)
        if not isinstance(subject, str) or not isinstance(state, str):
            continue
        kept = {k: data[k] for k in kind.keep if k in data}
        c.states.setdefault((kind.kind, subject), []).append(
            State(kind.kind, subject, state, str(actor), ts, seq, kept)
        )


register(REVIEW)
