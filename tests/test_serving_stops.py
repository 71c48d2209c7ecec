"""Serving commands stop everything they started (issue 18, item 8).

`kill` (SIGTERM) on `sandbox app` used to orphan its Streamlit child, and `kill -INT` on `sandbox demo` left
Streamlit and MLflow running with their ports bound. Each test starts the real command as a subprocess, records
every descendant while it serves (walking /proc through psutil when installed), sends the signal, and asserts
that the command exits, that no descendant survives and that the port can be bound again.
`sandbox demo` (minutes of seeding) is covered by the slow tests/test_web_demo.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox import Store, procs

SANDBOX = [sys.executable, "-m", "apps.cli"]
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bindable(port: int) -> bool:
    """True when a new server could listen on `port` (SO_REUSEADDR as servers set it: connections in TIME_WAIT
    from the old one do not count, a listener left running does)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def tree(pid: int) -> list[tuple[int, float]]:
    """Every descendant of `pid` (any process group or session) as (pid, start time)."""
    try:
        import psutil
    except ImportError:
        return [(p, float(start)) for p, start in procs.descendants(pid)]
    try:
        return [(c.pid, c.create_time()) for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def survivors(seen: list[tuple[int, float]]) -> list[str]:
    """The processes of `seen` still running (zombies waiting for a reaper do not count: they hold no port)."""
    try:
        import psutil
    except ImportError:
        return [str(p) for p, start in seen if procs.alive(p, int(start))]
    out = []
    for pid, created in seen:
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{pid} {' '.join(p.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return out


def wait_for(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early ({proc.returncode}): {proc.stderr.read()[-2000:]}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


def stop_and_check(proc: subprocess.Popen, sig: int, ports: list[int], timeout: float = 60) -> str:
    seen = tree(proc.pid)
    assert seen, "the command started no child"
    proc.send_signal(sig)  # to the command alone, as `kill` does (not to a terminal's whole group)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        for pid, _ in seen:
            with __import__("contextlib").suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        raise AssertionError(f"{signal.Signals(sig).name} did not stop the command within {timeout:.0f} s") from None
    assert not survivors(seen), f"still running after {signal.Signals(sig).name}: {survivors(seen)}"
    for port in ports:
        assert bindable(port), f"port {port} is still bound"
    assert "Traceback" not in err, err[-2000:]
    return err


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        SANDBOX + args,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def small_store(tmp_path) -> Store:
    store = Store(tmp_path)
    store.init("root", PASSWORD)
    store.create_bank("harbour-bank")
    store.add_user("alice", "scientist", PASSWORD, bank="harbour-bank")
    return store


def env_for(store: Store) -> dict:
    env = dict(
        os.environ,
        SANDBOX_HOME=str(store.home),
        SANDBOX_USER="root",
        SANDBOX_PASSWORD=PASSWORD,
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    env.pop("SANDBOX_TRACKING_URI", None)
    return env


def test_sandbox_app_stops_streamlit_on_sigterm(small_store):
    port = free_port()
    proc = start(["app", "--port", str(port)], env_for(small_store))
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", proc, 120)
        stop_and_check(proc, signal.SIGTERM, [port])
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_sandbox_server_stops_mlflow_and_its_workers_on_sigint(small_store):
    port = free_port()
    proc = start(["server", "--port", str(port)], env_for(small_store))
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc, 240)
        assert len(tree(proc.pid)) >= 1  # mlflow server (its own session) and its worker(s)
        err = stop_and_check(proc, signal.SIGINT, [port])
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "stopped" in err and proc.returncode == 0
    assert not (small_store.state / "mlflow-server.json").exists()  # no stale "running server" record


CHILD = textwrap.dedent("""
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a child that ignores SIGTERM ...
    g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    print(g.pid, flush=True)  # ... and a grandchild that left its process group
    time.sleep(120)
""")


def test_children_stop_kills_a_stubborn_child_and_a_grandchild_that_left_its_group():
    children = procs.Children()
    child = children.start([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    seen = tree(child.pid)
    assert grandchild in {p for p, _ in seen}
    t0 = time.monotonic()
    children.stop(timeout=1.0)
    assert child.returncode == -signal.SIGKILL
    assert not survivors(seen)
    assert time.monotonic() - t0 < 15


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stop_signals_raise_keyboard_interrupt_and_restore_the_handlers(sig):
    before = signal.getsignal(sig)
    with pytest.raises(KeyboardInterrupt):
        with procs.stop_signals():
            os.kill(os.getpid(), sig)
            time.sleep(5)  # the handler interrupts this
    assert signal.getsignal(sig) == before


def test_a_signal_while_a_child_starts_is_held_until_it_is_recorded():
    children = procs.Children()
    try:
        with pytest.raises(KeyboardInterrupt):
            with procs.stop_signals(), procs.shielded():
                children.start([sys.executable, "-c", "import time; time.sleep(60)"])
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.2)
                assert len(children.procs) == 1  # still here: the signal waits for the block's end
    finally:
        children.stop(timeout=5)
    assert children.procs[0].poll() is not None
