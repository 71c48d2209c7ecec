"""Finding 7: store files were 0644 (any local user read a bank's canary from `chunks.parquet`; `mlflow.db` and
`mlflow-auth.db` likewise). Local mode trusts whoever owns the store's files, so nobody else may read them:
files 0600, folders 0700, a umask of 077 set by every entry point, `sandbox doctor --fix` for an older store.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_forkserver_client import run_cli

from sandbox import Store, doctor

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-9"
BANK = "harbour-bank"


def _cli(home: Path, user: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_PASSWORD=PASSWORD, SANDBOX_USER=user)
    env.pop("SANDBOX_TRACKING_URI", None)
    out = run_cli(env, *args, stdin=stdin, timeout=600)
    assert out.returncode == 0, f"sandbox {' '.join(args)}: {out.stderr[-800:]}"
    return out


def _loose(home: Path) -> list[str]:
    """Everything under the store home that group or others can read, write or enter."""
    return [
        f"{stat.S_IMODE(os.lstat(p).st_mode):04o} {p.relative_to(home)}"
        for p in [home, *home.rglob("*")]
        if not p.is_symlink() and os.lstat(p).st_mode & 0o077
    ]


def _setup(home: Path) -> None:
    _cli(home, "root", "init", "--admin", "root", "--password-stdin", stdin=PASSWORD + "\n")
    _cli(home, "root", "bank", "create", BANK)
    _cli(
        home,
        "root",
        "user",
        "add",
        "alice",
        "--role",
        "scientist",
        "--bank",
        BANK,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )


def test_cli_workflow_leaves_nothing_readable_by_group_or_others(tmp_path):
    old = os.umask(0o022)  # what a login shell usually has: the CLI must not depend on it
    try:
        home = tmp_path / "home"
        _setup(home)
        _cli(home, "alice", "fraud", "simulate", BANK, "--customers", "40", "--days", "4")
        _cli(home, "alice", "runs", "list", BANK)
    finally:
        os.umask(old)
    assert (home / "mlruns" / "mlflow.db").exists() and (home / "workspaces" / BANK / "fraud" / "data").is_dir()
    assert _loose(home) == []


@pytest.mark.slow
def test_chat_ingest_and_a_run_leave_nothing_readable_by_group_or_others(tmp_path):
    """The finding's own files: the chat index's chunks.parquet (the canary's text) and an MLflow run's artifacts."""
    old = os.umask(0o022)
    try:
        home = tmp_path / "home"
        _setup(home)
        doc = tmp_path / "policy.md"
        doc.write_text("# Refunds\n\nRefunds are paid within 5 business days. Canary: KESTREL-88.\n")
        _cli(home, "alice", "chat", "ingest", BANK, str(doc))
        _cli(home, "alice", "chat", "ask", BANK, "How many days until refunds are paid?")
        _cli(home, "alice", "fraud", "simulate", BANK, "--customers", "300", "--days", "40", "--seed", "3")
        _cli(home, "alice", "fraud", "train", BANK)
    finally:
        os.umask(old)
    assert list((home / "workspaces" / BANK / "chat").rglob("chunks.parquet"))
    assert list((home / "mlruns" / "artifacts").rglob("*"))
    assert _loose(home) == []


def test_web_app_entry_sets_the_umask():
    code = "import os; os.umask(0o022); import apps.web.app; print(oct(os.umask(0)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, SANDBOX_HOME=str(ROOT / ".no-such-home")),
    )
    assert out.stdout.strip().splitlines()[-1] == "0o77", out.stderr[-500:]


def test_server_secrets_and_auth_config_are_owner_only(tmp_path):
    from sandbox import server

    s = Store(tmp_path / "home")
    s.init("root", PASSWORD)
    server.load_secrets(s)
    server.write_auth_config(s)
    for name in (server.SECRETS_FILE, server.AUTH_CONFIG_FILE):
        assert stat.S_IMODE((s.state / name).stat().st_mode) == 0o600, name


def test_doctor_fix_tightens_a_store_written_with_loose_modes(tmp_path):
    """A store written by an older version (umask 022): doctor names every loose path, --fix chmods them."""
    s = Store(tmp_path / "home")
    s.init("root", PASSWORD)
    s.create_bank(BANK)
    index = s.workspaces / BANK / "chat" / "index" / "v000001"
    index.mkdir(parents=True, mode=0o755)
    (index / "chunks.parquet").write_bytes(b"canary text")
    os.chmod(index / "chunks.parquet", 0o644)
    os.chmod(s.mlruns / "mlflow.db", 0o644)
    os.chmod(s.workspaces / BANK, 0o755)
    loose = {f.target for f in doctor.check_modes(s) if not f.ok}
    assert {"mlruns/mlflow.db", f"workspaces/{BANK}", f"workspaces/{BANK}/chat/index/v000001/chunks.parquet"} <= loose
    env = dict(os.environ, SANDBOX_HOME=str(s.home), SANDBOX_PASSWORD=PASSWORD, SANDBOX_USER="root")
    out = run_cli(env, "doctor", "--fix")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FIXED modes" in out.stdout
    assert [f for f in doctor.check_modes(s) if not f.ok] == []
    assert stat.S_IMODE((index / "chunks.parquet").stat().st_mode) == 0o600
    assert stat.S_IMODE((s.workspaces / BANK).stat().st_mode) == 0o700
