"""A tiny real world, built once per session: a store with an admin, two banks, a scientist
for each, and a reviewer, in a temporary SANDBOX_HOME with a real SQLite MLflow store."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from sandbox import Store, open_workspace  # noqa: E402

PASSWORD = "correct-horse-9"
BANK_A, BANK_B = "harbour-bank", "peak-bank"


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
