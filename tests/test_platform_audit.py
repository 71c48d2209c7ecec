"""The audit trail catches every kind of tampering and survives concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sandbox.audit import AuditLog


@pytest.fixture
def log(tmp_path):
    log = AuditLog(tmp_path / "bank.jsonl")
    for i in range(10):
        log.append("fraud.train", "alice", n=i)
    assert log.verify().ok
    return log


def _lines(log):
    return log.path.read_bytes().splitlines(keepends=True)


def _write(log, lines):
    log.path.write_bytes(b"".join(lines))


def test_edit_is_caught_at_the_edited_line(log):
    lines = _lines(log)
    lines[3] = lines[3].replace(b'"n":3', b'"n":4')
    _write(log, lines)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 4 and "edited" in r.reason


def test_rehashed_edit_is_caught_by_the_next_link(log):
    lines = _lines(log)
    entry = json.loads(lines[3])
    entry["data"]["n"] = 99
    from sandbox.audit import _canonical, _entry_hash

    entry["hash"] = _entry_hash(entry)
    lines[3] = _canonical(entry) + b"\n"
    _write(log, lines)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 5


def test_deletion_is_caught(log):
    lines = _lines(log)
    del lines[5]
    _write(log, lines)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 6


def test_insertion_is_caught(log):
    lines = _lines(log)
    lines.insert(2, lines[7])
    _write(log, lines)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 3


def test_duplicated_entry_is_caught_at_the_copy(log):
    lines = _lines(log)
    lines.insert(3, lines[2])
    _write(log, lines)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 4


def test_reorder_is_caught(log):
    lines = _lines(log)
    lines[6], lines[7] = lines[7], lines[6]
    _write(log, lines)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 7


def test_truncation_is_caught(log):
    _write(log, _lines(log)[:7])
    r = log.verify()
    assert not r.ok and r.first_bad_line == 8 and "truncated" in r.reason


def test_half_written_last_line_is_caught(log):
    data = log.path.read_bytes()
    log.path.write_bytes(data[:-20])
    r = log.verify()
    assert not r.ok and r.first_bad_line == 10


def test_garbage_line_is_caught(log):
    lines = _lines(log)
    lines[0] = b"not json\n"
    _write(log, lines)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 1


_WRITER = """
import sys
from sandbox.audit import AuditLog
log = AuditLog(sys.argv[1])
for i in range(1000):
    log.append("event", sys.argv[2], i=i)
"""


def test_two_processes_appending_1000_events_each_leave_a_valid_chain(tmp_path):
    path = tmp_path / "shared.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name]) for name in ("p1", "p2")]
    for p in procs:
        assert p.wait(timeout=120) == 0
    log = AuditLog(path)
    r = log.verify()
    assert r.ok, r
    assert r.entries == 2000
    actors = [e["actor"] for e in log.entries()]
    assert actors.count("p1") == actors.count("p2") == 1000
