"""Finding 17: Streamlit served `/_stcore/metrics` to anyone without signing in, and its pages carried no
anti-framing header (another site could frame the sign-in or a reviewer's sign-off: click-jacking).

The attack runs against a real `sandbox app` on a free port (the CLI, as an operator starts it): the metrics
endpoint under every spelling, every HTML page and asset for the headers, then headless Chromium loads the app and
a hostile page tries to frame it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, method: str = "GET", headers: dict | None = None):
    """(status, headers (case-insensitive), body)."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.fixture(scope="module")
def app_url(home, store):
    """`sandbox app --port N` over the session store, stopped with Ctrl-C as a person would."""
    port = free_port()
    env = dict(os.environ, SANDBOX_HOME=str(home), MLFLOW_DISABLE_TELEMETRY="true")
    env.pop("SANDBOX_TRACKING_URI", None)
    log = open(home / f"app-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "apps.cli", "app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"sandbox app exited with {proc.returncode}: {(home / f'app-{port}.log').read_text()[-2000:]}"
                )
            try:
                if get(f"{url}/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("sandbox app did not answer within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)  # `sandbox app` stops Streamlit on Ctrl-C
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this fixture started, if anything is left
        except ProcessLookupError:
            pass
        log.close()


@pytest.mark.parametrize(
    "path",
    [
        "/_stcore/metrics",
        "/_stcore/metrics/",
        "//_stcore//metrics",
        "/_STCORE/Metrics",
        "/_stcore/metrics?families=session_events",
        "/_stcore/agent/openapi.json",
        "/_stcore/agent/mcp",
    ],
)
def test_metrics_and_agent_endpoints_are_not_served_without_sign_in(app_url, path):
    for method in ("GET", "HEAD", "OPTIONS"):
        status, headers, body = get(app_url + path, method, {"Accept": "application/openmetrics-text"})
        assert status in (403, 404), (method, path, status)
        assert b"session" not in body.lower() and b"# TYPE" not in body


def test_protobuf_metrics_are_refused_too(app_url):
    status, _, body = get(f"{app_url}/_stcore/metrics", headers={"Accept": "application/x-protobuf"})
    assert status in (403, 404) and len(body) < 100


def test_every_page_and_asset_carries_the_anti_framing_headers(app_url):
    status, headers, body = get(app_url + "/")
    assert status == 200 and b"<html" in body.lower()
    pages = [
        "/",
        "/login",
        "/fraud_lab",
        "/no/such/page",
        "/_stcore/health",
        "/_stcore/host-config",
        "/_stcore/metrics",
    ]
    assets = re.findall(rb'(?:src|href)="\.?/?(static/[^"]+)"', body)[:4]
    assert assets, "the page names no static assets"
    for path in pages + ["/" + a.decode() for a in assets]:
        status, headers, body = get(app_url + path)
        for name, value in HEADERS.items():
            assert headers.get(name) == value, (path, status, name, headers.get(name))
        assert headers.get("X-Content-Type-Options") == "nosniff"


def test_ready_is_a_server_rendered_status_page(app_url):
    """A status check (or a plain headless screenshot) gets a painted page at once, with the same headers."""
    status, headers, body = get(app_url + "/ready")
    assert status == 200 and b"<b>ready</b>" in body and b"<script" not in body.lower()
    assert headers.get("X-Frame-Options") == "DENY"


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium: run `make browser`"
)
def test_a_plain_headless_screenshot_of_ready_is_not_blank(app_url, tmp_path):
    shot = tmp_path / "ready.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=800,400",
            app_url + "/ready",
        ],
        capture_output=True,
        timeout=60,
    )
    from PIL import Image

    pixels = Image.open(shot).convert("L").getcolors(maxcolors=1 << 20)
    assert len(pixels) > 2  # text drawn, not one white page


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium: run `make browser`"
)
def test_the_app_loads_in_chromium_and_refuses_to_be_framed(app_url):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(app_url)
            page.get_by_label("User name").wait_for()  # the sign-in form drew: scripts, styles and the socket work
            assert page.get_by_role("button", name="Sign in").count() == 1

            hostile = browser.new_page()
            hostile.set_content(
                f'<h1>Win a prize</h1><iframe id="f" src="{app_url}/" width="800" height="600"></iframe>'
            )
            time.sleep(3)
            framed = [f for f in hostile.frames if f != hostile.main_frame]
            texts = []
            for f in framed:
                try:
                    texts.append(f.content())
                except sync_api.Error:
                    texts.append("")
            assert not any("User name" in t or "stApp" in t for t in texts)
        finally:
            browser.close()
