"""A tiny real world, built once per session: a store with an admin, two banks, a scientist
for each, and a reviewer, in a temporary SANDBOX_HOME with a real SQLite MLflow store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from world import BANK_A, BANK_B, PASSWORD  # noqa: E402,F401  (tests import them from world, not from here)

from sandbox import Store, open_workspace  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("sandbox-home")


@pytest.fixture(scope="session")
def store(home):
    s = Store(home)
    s.init("root", PASSWORD)
    for bank in (BANK_A, BANK_B):
        s.create_bank(bank)
    s.add_user("alice", "scientist", PASSWORD, bank=BANK_A)
    s.add_user("bob", "scientist", PASSWORD, bank=BANK_B)
    s.add_user("rita", "reviewer", PASSWORD)
    return s


@pytest.fixture(scope="session")
def alice(store):
    return store.actor("alice")


@pytest.fixture(scope="session")
def bob(store):
    return store.actor("bob")


@pytest.fixture(scope="session")
def rita(store):
    return store.actor("rita")


@pytest.fixture(scope="session")
def admin(store):
    return store.actor("root")


@pytest.fixture(scope="session")
def ctx_a(store, alice):
    """Alice, scientist of harbour-bank, in her workspace."""
    return open_workspace(BANK_A, alice, store)


@pytest.fixture(scope="session")
def ctx_b(store, bob):
    """Bob, scientist of peak-bank, in his workspace."""
    return open_workspace(BANK_B, bob, store)


@pytest.fixture(scope="session")
def review_a(store, rita):
    """Rita, HKMA reviewer, looking at harbour-bank."""
    return open_workspace(BANK_A, rita, store)


@pytest.fixture
def cli_env(home, store):
    """Environment for running the `sandbox` CLI as a subprocess against the session store."""
    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_PASSWORD=PASSWORD)
    env.pop("SANDBOX_TRACKING_URI", None)
    return env


@pytest.fixture(scope="session")
def sandbox_exec():
    """`sandbox ARGS...` by `python -m apps.cli` itself: for the tests that look at start-up (imports under the
    command's own environment), which a forked child of the preloaded server cannot show."""
    from cli_forkserver_client import exec_cli

    return exec_cli


@pytest.fixture(scope="session")
def sandbox_cli():
    """The one CLI runner: `sandbox_cli(env, "--user", "alice", "fraud", "train", BANK_A, stdin=None)` runs the
    `sandbox` command in a process of its own with `env` (e.g. `cli_env`, or a fresh store's) and returns the
    CompletedProcess (returncode, stdout, stderr as text). The process is forked from a server that imported the
    libraries once (tests/cli_forkserver.py): the same command, seconds less each; where fork is unavailable or
    SANDBOX_TEST_EXEC=1, a plain `python -m apps.cli`. Module helpers call `cli_forkserver_client.run_cli`."""
    from cli_forkserver_client import run_cli

    return run_cli
