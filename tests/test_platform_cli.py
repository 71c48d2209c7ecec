"""The `sandbox` command as a user meets it: one-line errors, --json, nothing lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def one_line_error(proc):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture
def fresh(tmp_path, sandbox_cli):
    env = dict(os.environ, SANDBOX_HOME=str(tmp_path), SANDBOX_USER="root", SANDBOX_PASSWORD="admin-pass-1")
    assert sandbox_cli(env, "init", "--admin", "root", "--password-stdin", stdin="admin-pass-1\n").returncode == 0
    return env


def test_init_bank_user_quota_round_trip(fresh, sandbox_exec):
    sandbox_cli = sandbox_exec  # by `python -m apps.cli` itself: start-up under the command's own environment
    made = sandbox_cli(fresh, "bank", "create", "harbour-bank", "--name", "Harbour Bank")
    assert made.returncode == 0 and "compute quota of 36,000 s" in made.stdout  # a default, never unlimited
    assert json.loads(sandbox_cli(fresh, "quota", "show", "--json").stdout)[0]["quota_s"] == 36_000
    p = sandbox_cli(
        fresh,
        "user",
        "add",
        "alice",
        "--role",
        "scientist",
        "--bank",
        "harbour-bank",
        "--password-stdin",
        stdin="alice-pass-1\n",
    )
    assert p.returncode == 0, p.stderr
    assert sandbox_cli(fresh, "quota", "set", "harbour-bank", "--seconds", "3600").returncode == 0
    users = json.loads(sandbox_cli(fresh, "user", "list", "--json").stdout)
    assert {u["name"] for u in users} == {"root", "alice"} and all("hash" not in u for u in users)
    quota = json.loads(sandbox_cli(fresh, "quota", "show", "--json").stdout)
    assert quota[0]["bank"] == "harbour-bank" and quota[0]["quota_s"] == 3600
    banks = json.loads(sandbox_cli(fresh, "bank", "list", "--json").stdout)
    assert banks[0]["id"] == "harbour-bank"
    verify = sandbox_cli(fresh, "audit", "verify", "--all", "--json")
    assert verify.returncode == 0 and all(r["ok"] for r in json.loads(verify.stdout))


def test_store_file_holds_hashes_not_passwords(fresh):
    text = (Path(fresh["SANDBOX_HOME"]) / "state" / "store.json").read_text()
    assert "admin-pass-1" not in text and "$argon2id$" in text


def test_wrong_password_and_unknown_user_get_one_line(fresh, sandbox_cli):
    assert "wrong user name or password" in one_line_error(
        sandbox_cli({**fresh, "SANDBOX_PASSWORD": "nope-nope"}, "bank", "list")
    )
    assert "wrong user name or password" in one_line_error(
        sandbox_cli({**fresh, "SANDBOX_USER": "mallory"}, "bank", "list")
    )


def test_invalid_bank_id_names_the_rule(fresh, sandbox_cli):
    assert "not a valid bank id" in one_line_error(sandbox_cli(fresh, "bank", "create", "Bad_Bank"))


def test_scientist_cannot_administer_or_read_another_bank(fresh, sandbox_cli):
    sandbox_cli(fresh, "bank", "create", "harbour-bank")
    sandbox_cli(fresh, "bank", "create", "peak-bank")
    sandbox_cli(
        fresh,
        "user",
        "add",
        "alice",
        "--role",
        "scientist",
        "--bank",
        "harbour-bank",
        "--password-stdin",
        stdin="alice-pass-1\n",
    )
    alice = {**fresh, "SANDBOX_USER": "alice", "SANDBOX_PASSWORD": "alice-pass-1"}
    assert "may not" in one_line_error(sandbox_cli(alice, "bank", "create", "evil-bank"))
    assert "no access to bank peak-bank" in one_line_error(sandbox_cli(alice, "runs", "list", "peak-bank"))
    assert "no access" in one_line_error(sandbox_cli(alice, "audit", "show", "peak-bank"))
    assert sandbox_cli(alice, "runs", "list", "harbour-bank", "--json").returncode == 0


def test_counts_that_are_not_positive_get_one_line(fresh, sandbox_cli):
    sandbox_cli(fresh, "bank", "create", "harbour-bank")
    assert "--last" in one_line_error(sandbox_cli(fresh, "audit", "show", "-n", "-5"))
    assert "--max" in one_line_error(sandbox_cli(fresh, "runs", "list", "harbour-bank", "--max", "0"))


def test_missing_store_says_how_to_create_one(tmp_path, sandbox_cli):
    env = dict(os.environ, SANDBOX_HOME=str(tmp_path / "nowhere"), SANDBOX_USER="root", SANDBOX_PASSWORD="x" * 10)
    assert "sandbox init" in one_line_error(sandbox_cli(env, "bank", "list"))


def test_corrupted_users_file_is_reported_and_left_untouched(fresh, sandbox_cli):
    f = Path(fresh["SANDBOX_HOME"]) / "state" / "store.json"
    f.write_text('{"schema": 1, "users": ')
    line = one_line_error(sandbox_cli(fresh, "bank", "list"))
    assert "corrupted" in line and "backup" in line
    assert f.read_text() == '{"schema": 1, "users": '


def test_tampered_audit_log_fails_verify_naming_the_line(fresh, sandbox_cli):
    sandbox_cli(fresh, "bank", "create", "harbour-bank")
    log = Path(fresh["SANDBOX_HOME"]) / "state" / "audit" / "platform.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("harbour-bank", "evil-bank")
    log.write_text("".join(lines))
    p = sandbox_cli(fresh, "audit", "verify")
    assert p.returncode != 0 and "BROKEN at line 2" in p.stdout


def test_locked_store_gives_a_clear_error(fresh, sandbox_cli):
    import fcntl

    lock = Path(fresh["SANDBOX_HOME"]) / "state" / "store.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        line = one_line_error(sandbox_cli({**fresh, "SANDBOX_LOCK_TIMEOUT": "0.5"}, "bank", "create", "harbour-bank"))
        assert "locked" in line
    finally:
        os.close(fd)


def test_every_command_has_help(sandbox_cli):
    env = dict(os.environ)
    for args in (
        ["--help"],
        ["init", "--help"],
        ["bank", "create", "--help"],
        ["bank", "list", "--help"],
        ["user", "add", "--help"],
        ["user", "list", "--help"],
        ["quota", "set", "--help"],
        ["quota", "show", "--help"],
        ["audit", "verify", "--help"],
        ["audit", "show", "--help"],
        ["runs", "list", "--help"],
        ["review", "--help"],
    ):
        p = sandbox_cli(env, *args)
        assert p.returncode == 0 and "Usage:" in p.stdout, args


def test_reviewer_lists_every_banks_runs_and_opens_one_scientist_only_their_own(fresh, sandbox_cli):
    import mlflow

    from sandbox import Store, open_workspace

    for bank in ("harbour-bank", "peak-bank"):
        sandbox_cli(fresh, "bank", "create", bank)
    sandbox_cli(
        fresh,
        "user",
        "add",
        "alice",
        "--role",
        "scientist",
        "--bank",
        "harbour-bank",
        "--password-stdin",
        stdin="alice-pass-1\n",
    )
    sandbox_cli(fresh, "user", "add", "rita", "--role", "reviewer", "--password-stdin", stdin="rita-pass-1\n")
    store = Store(fresh["SANDBOX_HOME"])
    ids = {}
    for bank, user in (("harbour-bank", "alice"), ("peak-bank", None)):
        if user is None:
            sandbox_cli(
                fresh,
                "user",
                "add",
                "bob",
                "--role",
                "scientist",
                "--bank",
                bank,
                "--password-stdin",
                stdin="bob-pass-1\n",
            )
            user = "bob"
        with open_workspace(bank, store.actor(user), store).run("risk", run_name="cli-check") as r:
            mlflow.log_metric("gini", 0.5)
            ids[bank] = r.info.run_id
    rita = {**fresh, "SANDBOX_USER": "rita", "SANDBOX_PASSWORD": "rita-pass-1"}
    alice = {**fresh, "SANDBOX_USER": "alice", "SANDBOX_PASSWORD": "alice-pass-1"}
    rows = json.loads(sandbox_cli(rita, "runs", "list", "--json").stdout)
    assert {r["bank"] for r in rows} == {"harbour-bank", "peak-bank"}
    mine = json.loads(sandbox_cli(alice, "runs", "list", "--json").stdout)
    assert {r["bank"] for r in mine} == {"harbour-bank"}
    shown = json.loads(sandbox_cli(rita, "runs", "show", "peak-bank", ids["peak-bank"], "--json").stdout)
    assert shown["metrics"]["gini"] == 0.5 and shown["run_name"] == "cli-check"
    assert "no access" in one_line_error(sandbox_cli(alice, "runs", "show", "peak-bank", ids["peak-bank"]))
    assert one_line_error(sandbox_cli(alice, "runs", "show", "harbour-bank", ids["peak-bank"]))  # another bank's run id
