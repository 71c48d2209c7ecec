"""Finding 4: an audit chain rewritten end to end (every hash, link and the head recomputed) must not verify.

The chain is keyed (an HMAC under `<home>/keys/audit.key`, outside `state/`), and a reviewer can keep a signed
anchor outside the sandbox that catches even a rewrite by whoever holds the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_forkserver_client import run_cli

from sandbox import Store
from sandbox.audit import GENESIS, HEAD_WIDTH, AuditLog, _canonical, check_anchor_signature
from sandbox.errors import AuditChainBroken

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "admin-pass-1"
BANK = "harbour-bank"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "home")
    s.init("root", PASSWORD)
    s.create_bank(BANK)
    s.add_user("rita", "reviewer", PASSWORD)  # reads and anchors every bank's log (an admin reads no bank's)
    log = s.bank_audit(BANK)
    for i in range(8):
        log.append("fraud.score", "alice", n=i)
    assert log.verify().ok
    return s


def _sha(entry: dict) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k not in ("hash", "mac")})).hexdigest()


def _rewrite(log: AuditLog, entries: list[dict], keep_macs: bool = True) -> None:
    """What an attacker who can write state/ but not read the key does: recompute every prev/hash and the head."""
    prev = GENESIS
    out = []
    for i, e in enumerate(entries, start=1):
        e = dict(e, seq=i, prev=prev)
        if not keep_macs:
            e.pop("mac", None)
        e["hash"] = prev = _sha(e)
        out.append(_canonical(e) + b"\n")
    log.path.write_bytes(b"".join(out))
    log.head_path.write_bytes(json.dumps({"seq": len(entries), "hash": prev}).encode().ljust(HEAD_WIDTH) + b"\n")


def _cli(args: list[str], home: Path, user: str = "rita") -> subprocess.CompletedProcess:
    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_USER=user, SANDBOX_PASSWORD=PASSWORD)
    return run_cli(env, *args, timeout=120)


def _one_error_line(p: subprocess.CompletedProcess) -> str:
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]


# -- the key ----------------------------------------------------------------
def test_key_lives_outside_state_readable_by_the_owner_only(store):
    key = store.home / "keys" / "audit.key"
    assert key.exists() and store.state not in key.parents
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert all("mac" in e for e in store.bank_audit(BANK).entries())
    assert json.loads(store.platform_audit().head_path.read_text())["mac"]


def test_a_key_readable_by_others_is_refused(store):
    key = store.home / "keys" / "audit.key"
    os.chmod(key, 0o644)
    with pytest.raises(Exception, match="readable by others"):
        Store(store.home).bank_audit(BANK).append("x", "alice")


# -- rewrites without the key -----------------------------------------------
@pytest.mark.parametrize("keep_macs", [True, False], ids=["stale-macs", "macs-stripped"])
def test_edited_entry_with_every_hash_and_the_head_recomputed_fails_verify(store, keep_macs):
    log = store.bank_audit(BANK)
    entries = log.entries()
    entries[3]["data"]["n"] = 99
    _rewrite(log, entries, keep_macs)
    assert AuditLog(log.path).verify().ok  # the unkeyed chain is consistent: this is the attack that used to pass
    r = log.verify()
    assert not r.ok and r.first_bad_line == (4 if keep_macs else 1)  # stripped: every entry lacks its MAC
    assert ("MAC does not match" if keep_macs else "no MAC") in r.reason


def test_dropping_the_last_entry_and_rewriting_the_head_fails_verify(store):
    log = store.bank_audit(BANK)
    _rewrite(log, log.entries()[:-1])
    assert AuditLog(log.path).verify().ok
    r = log.verify()
    assert not r.ok and "head" in r.reason


def test_dropping_the_last_entry_keeping_the_head_mac_fails_verify(store):
    log = store.bank_audit(BANK)
    lines = log.path.read_bytes().splitlines(keepends=True)[:-1]
    last = json.loads(lines[-1])
    old_mac = json.loads(log.head_path.read_text())["mac"]
    log.path.write_bytes(b"".join(lines))
    log.head_path.write_bytes(
        json.dumps({"seq": last["seq"], "hash": last["hash"], "mac": old_mac}).encode().ljust(HEAD_WIDTH) + b"\n"
    )
    r = log.verify()
    assert not r.ok and "head MAC does not match" in r.reason


def test_another_banks_log_copied_over_fails_verify(store):
    store.create_bank("peak-bank")
    other = store.bank_audit("peak-bank")
    for i in range(8):
        other.append("fraud.score", "bob", n=i)
    log = store.bank_audit(BANK)
    log.path.write_bytes(other.path.read_bytes())
    log.head_path.write_bytes(other.head_path.read_bytes())
    r = log.verify()
    assert not r.ok and r.first_bad_line == 1 and "MAC" in r.reason


def test_cli_verify_fails_after_a_rewrite(store):
    log = store.bank_audit(BANK)
    entries = log.entries()
    entries[2]["actor"] = "mallory"
    _rewrite(log, entries)
    p = _cli(["audit", "verify", BANK], store.home)
    assert p.returncode == AuditChainBroken.exit_code and "line 3" in p.stdout and "MAC does not match" in p.stdout, (
        p.stdout
    )


# -- older stores (logs written before the key) -------------------------------
def _legacy_store(tmp_path: Path, n: int = 5) -> Store:
    """A store as the sandbox wrote it before keying: logs and heads without MACs, no keys/ folder."""
    s = Store(tmp_path / "old")
    s.init("root", PASSWORD)
    s.create_bank(BANK)
    for name in ("platform.jsonl", f"{BANK}.jsonl"):
        path = s.state / "audit" / name
        path.unlink()
        path.with_name(name + ".head").unlink()
        bare = AuditLog(path)  # no key: the old writer
        for i in range(n):
            bare.append("legacy.event", "root", n=i)
    for f in (s.home / "keys").iterdir():
        f.unlink()
    (s.home / "keys").rmdir()
    return Store(s.home)


def test_older_store_is_keyed_lazily_and_its_legacy_entries_still_verify(tmp_path):
    s = _legacy_store(tmp_path)
    log = s.bank_audit(BANK)
    assert log.verify().ok  # keys the store: records 5 legacy entries, outside state/
    legacy = json.loads((s.home / "keys" / "audit-legacy.json").read_text())
    assert legacy[f"{BANK}.jsonl"]["entries"] == 5
    log.append("fraud.score", "alice")
    assert log.verify().ok and "mac" in log.entries()[-1] and "mac" not in log.entries()[0]


def test_stripping_macs_does_not_make_entries_legacy(tmp_path):
    s = _legacy_store(tmp_path)
    log = s.bank_audit(BANK)
    for i in range(3):
        log.append("fraud.score", "alice", n=i)
    entries = log.entries()
    entries[6]["data"]["n"] = 42
    _rewrite(log, entries, keep_macs=False)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 6 and "no MAC" in r.reason


def test_rewriting_a_legacy_entry_fails_verify(tmp_path):
    s = _legacy_store(tmp_path)
    log = s.bank_audit(BANK)
    assert log.verify().ok  # keyed now, nothing appended since
    entries = log.entries()
    entries[1]["actor"] = "mallory"
    _rewrite(log, entries)
    r = log.verify()
    assert not r.ok and r.first_bad_line == 5 and "keyed" in r.reason


def test_a_lost_key_is_not_silently_replaced(store):
    for f in (store.home / "keys").iterdir():
        f.unlink()
    with pytest.raises(Exception, match="missing"):
        Store(store.home).bank_audit(BANK).verify()


_APPENDER = """
import sys
from sandbox import Store
s = Store(sys.argv[1])
for i in range(20):
    s.bank_audit("harbour-bank").append("event", sys.argv[2], i=i)
"""


def test_processes_keying_an_older_store_at_once_agree_on_one_key(tmp_path):
    s = _legacy_store(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, str(s.home), f"p{i}"], cwd=ROOT) for i in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    r = Store(s.home).bank_audit(BANK).verify()
    assert r.ok and r.entries == 5 + 4 * 20, r


# -- anchors -------------------------------------------------------------------
def test_anchor_then_truncate_and_extend_with_the_key_fails_verify_anchor(store):
    log = store.bank_audit(BANK)
    anchor = log.anchor()
    assert anchor["seq"] == 9 and log.verify_anchor(anchor).ok
    # Whoever holds the key (the store's owner) truncates before the anchor and writes new, validly MAC'd entries.
    kept = log.entries()[:5]
    log.path.unlink()
    log.head_path.unlink()
    for e in kept:
        log.append(e["event"], e["actor"], **e["data"])
    for i in range(6):
        log.append("fraud.score", "alice", n=100 + i)
    assert log.verify().ok  # a consistent, keyed log ...
    r = log.verify_anchor(anchor)  # ... that no longer extends the anchor
    assert not r.ok and r.first_bad_line == 9 and "no longer has the hash" in r.reason


def test_anchor_then_truncate_fails_verify_anchor(store):
    log = store.bank_audit(BANK)
    anchor = log.anchor()
    lines = log.path.read_bytes().splitlines(keepends=True)[:6]
    log.path.write_bytes(b"".join(lines))
    log.head_path.unlink()
    r = log.verify_anchor(anchor)
    assert not r.ok


def test_legit_log_after_more_appends_still_extends_the_anchor(store):
    log = store.bank_audit(BANK)
    anchor = log.anchor()
    for i in range(20):
        log.append("fraud.score", "alice", n=i)
    r = log.verify_anchor(anchor)
    assert r.ok and r.entries == 29


@pytest.mark.parametrize(
    "field,value",
    [
        ("seq", 3),
        ("hash", "f" * 64),
        ("time", "2020-01-01T00:00:00+00:00"),
        ("log", "platform"),
        ("mac", "0" * 64),
        ("ed25519", "00" * 64),
    ],
)
def test_forged_anchor_is_refused(store, field, value):
    log = store.bank_audit(BANK)
    anchor = dict(log.anchor(), **{field: value})
    target = store.platform_audit() if field == "log" else log
    r = target.verify_anchor(anchor)
    assert not r.ok and ("signature" in r.reason or "anchor" in r.reason), r.reason


def test_anchor_from_another_store_is_refused(store, tmp_path):
    other = Store(tmp_path / "other")
    other.init("root", PASSWORD)
    other.create_bank(BANK)
    for i in range(8):
        other.bank_audit(BANK).append("fraud.score", "alice", n=i)
    r = store.bank_audit(BANK).verify_anchor(other.bank_audit(BANK).anchor())
    assert not r.ok and "another key" in r.reason


def test_reviewer_checks_an_anchor_signature_without_the_key(store):
    anchor = store.bank_audit(BANK).anchor()
    public_key = anchor["public_key"]  # recorded by the reviewer from a first anchor
    assert check_anchor_signature(anchor, public_key)
    assert not check_anchor_signature(dict(anchor, seq=anchor["seq"] - 1), public_key)
    assert not check_anchor_signature(anchor, "11" * 32)


def test_cli_anchor_and_verify_anchor(store, tmp_path):
    p = _cli(["audit", "anchor", BANK], store.home)
    assert p.returncode == 0, p.stderr
    anchor_file = tmp_path / "anchor.json"
    anchor_file.write_text(p.stdout)
    anchor = json.loads(p.stdout)
    assert {"log", "seq", "hash", "time", "mac", "key_id"} <= set(anchor) and anchor["log"] == BANK
    store.bank_audit(BANK).append("fraud.score", "alice", n=1)
    ok = _cli(["audit", "verify", BANK, "--anchor", str(anchor_file)], store.home)
    assert ok.returncode == 0 and "extends the anchor" in ok.stdout, ok.stderr
    # platform anchor: the default without a bank, and --platform
    assert json.loads(_cli(["audit", "anchor", "--platform", "--json"], store.home).stdout)["log"] == "platform"
    # a forged anchor: one line, non-zero
    anchor_file.write_text(json.dumps(dict(anchor, hash="a" * 64)))
    line = _one_error_line(_cli(["audit", "verify", "--anchor", str(anchor_file)], store.home))
    assert "signature is wrong" in line
    # rewrite (keyed, by the owner) below the anchor: verify passes, verify --anchor does not
    anchor_file.write_text(json.dumps(anchor))
    log = store.bank_audit(BANK)
    log.path.unlink()
    log.head_path.unlink()
    for i in range(12):
        log.append("fraud.score", "alice", n=i)
    assert _cli(["audit", "verify", BANK], store.home).returncode == 0
    bad = _cli(["audit", "verify", BANK, "--anchor", str(anchor_file)], store.home)
    assert bad.returncode == AuditChainBroken.exit_code
    assert "no longer has the hash" in _one_error_line(bad)
    missing = _cli(["audit", "verify", "--anchor", str(tmp_path / "nope.json")], store.home)
    assert "--anchor" in _one_error_line(missing)
