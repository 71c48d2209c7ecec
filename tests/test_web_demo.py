"""Demo day and the `sandbox app`/`sandbox demo` commands.

The full seeding runs every use case for three banks (minutes), so those tests are marked slow;
the refusals and port checks are fast.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_serving_stops import bindable, survivors, tree

from apps import demo
from sandbox import Store, StoreError

SANDBOX = [sys.executable, "-m", "apps.cli"]


def run_cli(args: list[str], home: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, SANDBOX_HOME=str(home))
    env.pop("SANDBOX_PASSWORD", None)
    return subprocess.run(SANDBOX + args, env=env, capture_output=True, text=True, timeout=timeout)


def invoke(args: list[str], home: Path):
    """The `sandbox` command in-process (fast); its one-line errors land in result.stderr."""
    from click.testing import CliRunner

    from apps.cli import cli

    env = {"SANDBOX_HOME": str(home), "SANDBOX_PASSWORD": None}
    return CliRunner().invoke(cli, args, env=env, prog_name="sandbox")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_refuses_a_store_it_did_not_make(tmp_path):
    store = Store(tmp_path / "real")
    store.init("admin", "a-real-secret-password")
    with pytest.raises(StoreError, match="not made by `sandbox demo`"):
        demo.seed(store, profile="tiny", log=lambda m: None)
    assert set(store.users()) == {"admin"}  # no demo users or banks added
    assert store.banks() == {}


def test_demo_refusal_is_one_line_without_traceback(tmp_path):
    Store(tmp_path).init("admin", "a-real-secret-password")
    out = invoke(["demo", "--no-serve"], tmp_path)
    assert out.exit_code != 0
    assert "not made by `sandbox demo`" in out.stderr and "Traceback" not in out.stderr


def test_app_refuses_a_busy_port_in_one_line(tmp_path):
    Store(tmp_path).init("admin", "a-real-secret-password")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = invoke(["app", "--port", str(port)], tmp_path)
    assert out.exit_code == 2
    assert f"127.0.0.1:{port} is already in use" in out.stderr and "Traceback" not in out.stderr


def test_app_without_a_store_says_how_to_make_one(tmp_path):
    out = invoke(["app", "--port", str(free_port())], tmp_path / "empty")
    assert out.exit_code != 0 and "sandbox init" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_demo_seeds_three_banks_then_a_rerun_adds_nothing(tmp_path):
    first = run_cli(["demo", "--no-serve", "--fast", "--json"], tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    report = json.loads(first.stdout)
    assert report["ok"] and report["wall_s"] > 0 and "seconds" not in report  # units in the name (docs/results.md)
    assert all("wall_s" in s and "seconds" not in s for s in report["steps"])
    assert {(s["bank"], s["usecase"]) for s in report["steps"] if s["status"] == "seeded"} == {
        (b.id, uc) for b in demo.BANKS for uc in demo.USECASE_STEPS
    }
    assert {r["status"] for r in report["reviews"]} <= {"approved", "changes_requested"} and report["reviews"]
    store = Store(tmp_path)
    users, banks = store.users(), store.banks()
    assert set(banks) == {b.id for b in demo.BANKS} and len(users) == 5

    again = run_cli(["demo", "--no-serve", "--fast", "--json"], tmp_path)
    assert again.returncode == 0
    second = json.loads(again.stdout)
    assert {s["status"] for s in second["steps"]} == {"skipped"} and second["reviews"] == []
    assert store.users().keys() == users.keys() and store.banks() == banks
    for b in demo.BANKS:  # one model version per use case: nothing trained twice
        ctx = __import__("sandbox").open_workspace(b.id, store.actor(b.scientist), store)
        assert len(ctx.model_versions("fraud")) == 1 and len(ctx.model_versions("risk")) == 1


@pytest.mark.slow
def test_demo_serves_the_app_and_a_signed_in_mlflow_until_interrupted(tmp_path):
    app_port, ml_port = free_port(), free_port()
    Store(tmp_path)  # nothing yet: the demo makes the store
    env = dict(os.environ, SANDBOX_HOME=str(tmp_path))
    proc = subprocess.Popen(
        SANDBOX + ["demo", "--fast", "--port", str(app_port), "--mlflow-port", str(ml_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 900
        up = set()
        while time.monotonic() < deadline and len(up) < 2:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            for name, url in (
                ("app", f"http://127.0.0.1:{app_port}/_stcore/health"),
                ("mlflow", f"http://127.0.0.1:{ml_port}/health"),
            ):
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        if r.status == 200:
                            up.add(name)
                except OSError:
                    pass
            time.sleep(1)
        assert up == {"app", "mlflow"}
        # MLflow is the permissioned sandbox server: no sign-in, no data (the stock UI answered 200 here)
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(
                f"http://127.0.0.1:{ml_port}/api/2.0/mlflow/experiments/search?max_results=5", timeout=10
            )
        assert denied.value.code == 401
    finally:
        seen = tree(proc.pid)  # Streamlit, the `sandbox server` child, its MLflow server (a session of its own)
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
        out, err = proc.communicate(timeout=90)
    assert f"http://127.0.0.1:{app_port}" in out and "password: sandbox-demo-2026" in out
    assert len(seen) >= 3 and not survivors(seen), f"still running after SIGINT: {survivors(seen)}"
    assert bindable(app_port) and bindable(ml_port)


@pytest.mark.slow
def test_chat_page_answers_from_the_demo_index_with_citations(tmp_path, monkeypatch):
    """After a fast demo: alice asks the Chat page; the answer cites her bank's documents."""
    from streamlit.testing.v1 import AppTest

    from apps.web import auth

    store = Store(tmp_path)
    demo.seed(store, profile="tiny", log=lambda m: None, usecases=("chat",), banks=("harbour-bank",))
    monkeypatch.setenv("SANDBOX_HOME", str(tmp_path))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "apps" / "web" / "app.py"), default_timeout=300)
    at.session_state[auth.ACTOR_KEY] = store.actor("alice")
    at.run()
    at.switch_page("app_pages/chat.py").run()
    at.chat_input(key="chat_q").set_value("How long does a cardholder have to dispute a card transaction?").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Passages cited" in e.label for e in at.expander)
    assert any("Guardrail checks" in e.label for e in at.expander)
    shown = [m.value for m in at.markdown]
    assert any(".md**" in m for m in shown)  # the cited document's name
    assert any(m.startswith("> ") and ":orange-background[" in m for m in shown)  # its passage, cited sentence marked
    assert any("Grounding:" in m and "backed by the cited passages" in m for m in shown)  # verdicts in words
