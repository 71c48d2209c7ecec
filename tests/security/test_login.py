"""Finding 12: sign-in guessing is throttled per user and per client, and an unknown name costs what a known one does.

Before: 30 wrong passwords went through the web app in 2 s, and a known user answered in ~50 ms against 0.1 ms for
an unknown one (a user-enumeration oracle). Each test uses its own fresh store, so the suite's shared store never
carries a throttled user.
"""

from __future__ import annotations

import json
import os
import stat
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox import Store, throttle
from sandbox.errors import AuthenticationFailed
from sandbox.throttle import LoginThrottle, LoginThrottled

ROOT = Path(__file__).resolve().parents[2]
RIGHT, WRONG = "right-pass-1", "wrong-pass-1"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "home")
    s.init("root", RIGHT)
    s.add_user("alice", "reviewer", RIGHT)
    s.add_user("bob", "reviewer", RIGHT)
    return s


def _attempt(store: Store, name: str, password: str, client: str | None = None) -> str:
    try:
        store.authenticate(name, password, client=client)
    except LoginThrottled:
        return "throttled"
    except AuthenticationFailed:
        return "wrong"
    return "ok"


def _events(store: Store, event: str) -> list[dict]:
    return [e for e in store.platform_audit().entries() if e["event"] == event]


def test_30_quick_wrong_passwords_are_throttled_and_then_even_the_right_one_is_refused(store):
    results = [_attempt(store, "alice", WRONG) for _ in range(30)]
    assert results[:5] == ["wrong"] * 5
    assert results[5:] == ["throttled"] * 25  # refused without checking the password
    with pytest.raises(LoginThrottled, match=r"too many failed sign-ins for 'alice': try again in \d+ s"):
        store.authenticate("alice", RIGHT)  # the right password too, while the window is open: that is the point
    assert len(_events(store, "auth.throttled")) == 26
    assert _events(store, "auth.failed")[-1]["data"]["closed_for_s"] > 0
    assert _attempt(store, "bob", RIGHT) == "ok"  # another user is not affected


def test_the_window_closes_and_a_success_resets_the_user(store):
    for _ in range(5):
        assert _attempt(store, "alice", WRONG) == "wrong"
    assert _attempt(store, "alice", RIGHT) == "throttled"
    time.sleep(1.1)  # 5 failures -> 1 s
    assert _attempt(store, "alice", RIGHT) == "ok"
    for _ in range(4):  # the count started again
        assert _attempt(store, "alice", WRONG) == "wrong"
    assert _attempt(store, "alice", RIGHT) == "ok"


def test_backoff_doubles_from_one_second_to_five_minutes(tmp_path):
    t = LoginThrottle(tmp_path)
    key = [throttle.user_key("alice")]
    now = 1_000_000.0
    windows = []
    for _ in range(4 + 12):
        opened = t.failed(key, now=now)
        windows.append(None if opened is None else round(opened.until - now, 3))
        assert t.closed(key, now=now) == opened
        now = (opened.until if opened else now) + 0.01  # the next try comes just after the window
    assert windows[:4] == [None] * 4
    assert windows[4:] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert t.closed(key, now=now + 300) is None
    assert t.failed(key, now=now + 300 + throttle.FORGET_AFTER_S + 1) is None  # an old count is forgotten


def test_an_unknown_user_is_throttled_like_a_known_one(store):
    assert [_attempt(store, "ghost", WRONG) for _ in range(6)] == ["wrong"] * 5 + ["throttled"]
    assert [_attempt(store, "alice", WRONG) for _ in range(6)] == ["wrong"] * 5 + ["throttled"]


def test_throttle_per_client_across_user_names(store):
    client = "web:203.0.113.9"
    for i in range(throttle.CLIENT_FREE_FAILURES):
        assert _attempt(store, f"guess{i}", WRONG, client) == "wrong"
    with pytest.raises(LoginThrottled, match="from this client"):
        store.authenticate("alice", RIGHT, client=client)  # a fresh name, even the right password
    assert _attempt(store, "alice", RIGHT, "web:198.51.100.7") == "ok"  # another client signs in
    assert _attempt(store, "alice", RIGHT) == "ok"  # the CLI passes no client


def test_unknown_user_takes_as_long_as_a_known_user(store, monkeypatch):
    monkeypatch.setattr(throttle, "USER_FREE_FAILURES", 1000)  # measure the password check, not the throttle
    known, unknown = [], []
    for i in range(7):
        for name, out in (("alice", known), (f"nobody{i}", unknown)):
            t0 = time.perf_counter()
            assert _attempt(store, name, WRONG) == "wrong"
            out.append(time.perf_counter() - t0)
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.5 < ratio < 2.0, (statistics.median(known), statistics.median(unknown))


def test_throttle_file_is_private_and_counts_concurrent_failures(store):
    t = LoginThrottle(store.state)
    key = [throttle.client_key("web:192.0.2.1")]
    threads = [threading.Thread(target=lambda: [t.failed(key) for _ in range(5)]) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    data = json.loads(t.path.read_text())
    assert data[key[0]]["failures"] == 20
    assert stat.S_IMODE(t.path.stat().st_mode) == 0o600


def test_cli_is_throttled_with_one_line(store):
    env = dict(os.environ, SANDBOX_HOME=str(store.home), SANDBOX_USER="alice", SANDBOX_PASSWORD=WRONG)
    for _ in range(5):  # through the Store API, as the CLI's own sign-in does
        assert _attempt(store, "alice", WRONG) == "wrong"
    for _ in range(5):  # and five more windows' worth (a 32 s window), so a slow start still meets it open
        LoginThrottle(store.state).failed([throttle.user_key("alice")])
    p = subprocess.run(
        [sys.executable, "-m", "apps.cli", "bank", "list"],
        env=dict(env, SANDBOX_PASSWORD=RIGHT),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode == AuthenticationFailed.exit_code and "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "too many failed sign-ins for 'alice'" in lines[0], p.stderr


def test_web_sign_in_is_throttled(store, monkeypatch):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SANDBOX_HOME", str(store.home))
    monkeypatch.setattr(throttle, "BASE_DELAY_S", 60.0)  # an AppTest run takes seconds: keep the window open
    app = str(ROOT / "apps" / "web" / "app.py")

    def sign_in(password: str) -> AppTest:
        at = AppTest.from_file(app, default_timeout=60).run()
        at.text_input(key="login_user").input("alice")
        at.text_input(key="login_password").input(password)
        at.button[0].click().run()
        return at

    for _ in range(5):
        assert any("wrong user name or password" in e.value for e in sign_in(WRONG).error)
    at = sign_in(RIGHT)
    assert any("too many failed sign-ins" in e.value for e in at.error), [e.value for e in at.error]
    throttled = _events(store, "auth.throttled")
    assert throttled and throttled[-1]["data"]["client"].startswith("web:")
