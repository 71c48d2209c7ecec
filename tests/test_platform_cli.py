"""The `sandbox` command as a user meets it: one-line errors, --json, nothing lost."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SANDBOX = [sys.executable, "-m", "apps.cli"]
ROOT = Path(__file__).resolve().parent.parent


def run(args, env, stdin=None):
    return subprocess.run(SANDBOX + args, env=env, input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


def one_line_error(proc):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture
def fresh(tmp_path):
    env = dict(os.environ, SANDBOX_HOME=str(tmp_path), SANDBOX_USER="root", SANDBOX_PASSWORD="admin-pass-1")
    assert run(["init", "--admin", "root", "--password-stdin"], env, "admin-pass-1\n").returncode == 0
    return env


def test_init_bank_user_quota_round_trip(fresh):
    made = run(["bank", "create", "harbour-bank", "--name", "Harbour Bank"], fresh)
    assert made.returncode == 0 and "compute quota of 36,000 s" in made.stdout  # a default, never unlimited
    assert json.loads(run(["quota", "show", "--json"], fresh).stdout)[0]["quota_s"] == 36_000
    p = run(["user", "add", "alice", "--role", "scientist", "--bank", "harbour-bank", "--password-stdin"], fresh, "alice-pass-1\n")
    assert p.returncode == 0, p.stderr
    assert run(["quota", "set", "harbour-bank", "--seconds", "3600"], fresh).returncode == 0
    users = json.loads(run(["user", "list", "--json"], fresh).stdout)
    assert {u["name"] for u in users} == {"root", "alice"} and all("hash" not in u for u in users)
    quota = json.loads(run(["quota", "show", "--json"], fresh).stdout)
    assert quota[0]["bank"] == "harbour-bank" and quota[0]["quota_s"] == 3600
    banks = json.loads(run(["bank", "list", "--json"], fresh).stdout)
    assert banks[0]["id"] == "harbour-bank"
    verify = run(["audit", "verify", "--all", "--json"], fresh)
    assert verify.returncode == 0 and all(r["ok"] for r in json.loads(verify.stdout))


def test_store_file_holds_hashes_not_passwords(fresh):
    text = (Path(fresh["SANDBOX_HOME"]) / "state" / "store.json").read_text()
    assert "admin-pass-1" not in text and "$argon2id$" in text


def test_wrong_password_and_unknown_user_get_one_line(fresh):
    assert "wrong user name or password" in one_line_error(run(["bank", "list"], {**fresh, "SANDBOX_PASSWORD": "nope-nope"}))
    assert "wrong user name or password" in one_line_error(run(["bank", "list"], {**fresh, "SANDBOX_USER": "mallory"}))


def test_invalid_bank_id_names_the_rule(fresh):
    assert "not a valid bank id" in one_line_error(run(["bank", "create", "Bad_Bank"], fresh))


def test_scientist_cannot_administer_or_read_another_bank(fresh):
    run(["bank", "create", "harbour-bank"], fresh)
    run(["bank", "create", "peak-bank"], fresh)
    run(["user", "add", "alice", "--role", "scientist", "--bank", "harbour-bank", "--password-stdin"], fresh, "alice-pass-1\n")
    alice = {**fresh, "SANDBOX_USER": "alice", "SANDBOX_PASSWORD": "alice-pass-1"}
    assert "may not" in one_line_error(run(["bank", "create", "evil-bank"], alice))
    assert "no access to bank peak-bank" in one_line_error(run(["runs", "list", "peak-bank"], alice))
    assert "no access" in one_line_error(run(["audit", "show", "peak-bank"], alice))
    assert run(["runs", "list", "harbour-bank", "--json"], alice).returncode == 0


def test_counts_that_are_not_positive_get_one_line(fresh):
    run(["bank", "create", "harbour-bank"], fresh)
    assert "--last" in one_line_error(run(["audit", "show", "-n", "-5"], fresh))
    assert "--max" in one_line_error(run(["runs", "list", "harbour-bank", "--max", "0"], fresh))


def test_missing_store_says_how_to_create_one(tmp_path):
    env = dict(os.environ, SANDBOX_HOME=str(tmp_path / "nowhere"), SANDBOX_USER="root", SANDBOX_PASSWORD="x" * 10)
    assert "sandbox init" in one_line_error(run(["bank", "list"], env))


def test_corrupted_users_file_is_reported_and_left_untouched(fresh):
    f = Path(fresh["SANDBOX_HOME"]) / "state" / "store.json"
    f.write_text('{"schema": 1, "users": ')
    line = one_line_error(run(["bank", "list"], fresh))
    assert "corrupted" in line and "backup" in line
    assert f.read_text() == '{"schema": 1, "users": '


def test_tampered_audit_log_fails_verify_naming_the_line(fresh):
    run(["bank", "create", "harbour-bank"], fresh)
    log = Path(fresh["SANDBOX_HOME"]) / "state" / "audit" / "platform.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("harbour-bank", "evil-bank")
    log.write_text("".join(lines))
    p = run(["audit", "verify"], fresh)
    assert p.returncode != 0 and "BROKEN at line 2" in p.stdout


def test_locked_store_gives_a_clear_error(fresh):
    import fcntl

    lock = Path(fresh["SANDBOX_HOME"]) / "state" / "store.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        line = one_line_error(run(["bank", "create", "harbour-bank"], {**fresh, "SANDBOX_LOCK_TIMEOUT": "0.5"}))
        assert "locked" in line
    finally:
        os.close(fd)


def test_every_command_has_help():
    env = dict(os.environ)
    for args in (["--help"], ["init", "--help"], ["bank", "create", "--help"], ["bank", "list", "--help"],
                 ["user", "add", "--help"], ["user", "list", "--help"], ["quota", "set", "--help"],
                 ["quota", "show", "--help"], ["audit", "verify", "--help"], ["audit", "show", "--help"],
                 ["runs", "list", "--help"], ["review", "--help"]):
        p = run(args, env)
        assert p.returncode == 0 and "Usage:" in p.stdout, args


def test_reviewer_lists_every_banks_runs_and_opens_one_scientist_only_their_own(fresh):
    import mlflow

    from sandbox import Store, open_workspace

    for bank in ("harbour-bank", "peak-bank"):
        run(["bank", "create", bank], fresh)
    run(["user", "add", "alice", "--role", "scientist", "--bank", "harbour-bank", "--password-stdin"], fresh, "alice-pass-1\n")
    run(["user", "add", "rita", "--role", "reviewer", "--password-stdin"], fresh, "rita-pass-1\n")
    store = Store(fresh["SANDBOX_HOME"])
    ids = {}
    for bank, user in (("harbour-bank", "alice"), ("peak-bank", None)):
        if user is None:
            run(["user", "add", "bob", "--role", "scientist", "--bank", bank, "--password-stdin"], fresh, "bob-pass-1\n")
            user = "bob"
        with open_workspace(bank, store.actor(user), store).run("risk", run_name="cli-check") as r:
            mlflow.log_metric("gini", 0.5)
            ids[bank] = r.info.run_id
    rita = {**fresh, "SANDBOX_USER": "rita", "SANDBOX_PASSWORD": "rita-pass-1"}
    alice = {**fresh, "SANDBOX_USER": "alice", "SANDBOX_PASSWORD": "alice-pass-1"}
    rows = json.loads(run(["runs", "list", "--json"], rita).stdout)
    assert {r["bank"] for r in rows} == {"harbour-bank", "peak-bank"}
    mine = json.loads(run(["runs", "list", "--json"], alice).stdout)
    assert {r["bank"] for r in mine} == {"harbour-bank"}
    shown = json.loads(run(["runs", "show", "peak-bank", ids["peak-bank"], "--json"], rita).stdout)
    assert shown["metrics"]["gini"] == 0.5 and shown["run_name"] == "cli-check"
    assert "no access" in one_line_error(run(["runs", "show", "peak-bank", ids["peak-bank"]], alice))
    assert one_line_error(run(["runs", "show", "harbour-bank", ids["peak-bank"]], alice))  # another bank's run id
