"""A tour of the app over a store (e.g. after `sandbox demo`): page render times for every role, and screenshots.

    python -m apps.web.tour --home DIR [--password PW] [--shots DIR] [--json]

1. Render times (server side, warm): every page a role may open is run in
   Streamlit's AppTest twice; the second run, with the caches warm, is timed
   (median of --repeat runs).
2. With --shots and Debian's chromium: `streamlit run` on a free port, each
   role signs in through the form in headless Chromium, every page is opened
   from the sidebar (browser wall time to a settled page, warm) and saved as a PNG.

Needs the demo's users (admin, rita, alice, bob, carol) or --users.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

WEB = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def server_times(home: Path, users: list[str], repeat: int) -> list[dict]:
    os.environ["SANDBOX_HOME"] = str(home)
    from streamlit.testing.v1 import AppTest

    from apps.web import auth
    from apps.web.app_pages import PAGES
    from sandbox import Store

    store = Store(home)
    rows = []
    for user in users:
        actor = store.actor(user)
        at = AppTest.from_file(str(WEB / "app.py"), default_timeout=120)
        at.session_state[auth.ACTOR_KEY] = actor
        at.run()
        for page in PAGES:
            if not auth.allowed(actor, page.action):
                continue
            t0 = time.perf_counter()
            at.switch_page(f"app_pages/{page.file}").run()
            cold = time.perf_counter() - t0
            warm = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - t0)
            rows.append(
                {
                    "user": user,
                    "role": actor.role,
                    "page": page.title,
                    "first_s": round(cold, 3),
                    "warm_median_s": round(statistics.median(warm), 3),
                    "warm_max_s": round(max(warm), 3),
                    "errors": [e.value for e in at.exception],
                }
            )
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_tour(home: Path, users: list[str], password: str, shots: Path) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from apps.cli_web import streamlit_command
    from apps.web import auth
    from apps.web.app_pages import PAGES
    from sandbox import Store

    store = Store(home)
    port = _free_port()
    env = dict(os.environ, SANDBOX_HOME=str(home), MLFLOW_DISABLE_TELEMETRY="true")
    proc = subprocess.Popen(streamlit_command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    rows: list[dict] = []
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        shots.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for user in users:
                actor = store.actor(user)
                page = browser.new_page(viewport={"width": 1440, "height": 1300})
                page.set_default_timeout(120_000)
                page.goto(url)
                page.get_by_label("User name").fill(user)
                page.get_by_role("textbox", name="Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                wait_run(page, 0)
                mine = [spec for spec in PAGES if auth.allowed(actor, spec.action)]
                for spec in mine:
                    timings = []
                    for _ in range(2):  # the first visit fills the caches; the second is the warm figure
                        before = run_number(page)
                        t0 = time.perf_counter()
                        if len(mine) > 1:
                            page.get_by_test_id("stSidebarNav").get_by_text(spec.title, exact=True).click()
                        else:  # one page: Streamlit draws no navigation; rerun it instead
                            page.keyboard.press("r")
                        wait_run(page, before)
                        timings.append(time.perf_counter() - t0)
                    page.wait_for_timeout(1000)  # tables and charts paint after the script's last message
                    name = f"{actor.role}-{spec.url_path}-{user}.png"
                    page.screenshot(path=str(shots / name), full_page=True)
                    rows.append(
                        {
                            "user": user,
                            "page": spec.title,
                            "browser_first_s": round(timings[0], 3),
                            "browser_warm_s": round(timings[1], 3),
                            "screenshot": name,
                        }
                    )
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return rows


def run_number(page) -> int:
    """The number of the last finished script run, from the marker app.py draws after every page."""
    return int(
        page.evaluate(
            "() => Math.max(0, ...Array.from(document.querySelectorAll('.sandbox-run')).map(e => +e.dataset.run))"
        )
    )


def wait_run(page, after: int, timeout_ms: int = 120_000) -> int:
    """Wait until a script run numbered above `after` has finished drawing its page."""
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('.sandbox-run')).some(e => +e.dataset.run > n)",
        arg=after,
        timeout=timeout_ms,
    )
    return run_number(page)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True, help="sandbox store (e.g. the demo's)")
    ap.add_argument("--users", default="alice,rita,admin", help="users to tour as (comma-separated)")
    ap.add_argument("--password", default=os.environ.get("SANDBOX_PASSWORD", "sandbox-demo-2026"))
    ap.add_argument("--repeat", type=int, default=5, help="warm runs per page (median reported)")
    ap.add_argument("--shots", type=Path, help="save a screenshot of every page here (needs /usr/bin/chromium)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    users = [u for u in args.users.split(",") if u]
    out = {
        "server": server_times(args.home.resolve(), users, args.repeat),
        "nproc": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if args.shots:
        out["browser"] = browser_tour(args.home.resolve(), users, args.password, args.shots)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for r in out["server"]:
            print(
                f"{r['user']:<6} {r['page']:<22} first {r['first_s']:6.2f} s   warm median {r['warm_median_s']:5.2f} s"
                f"   max {r['warm_max_s']:5.2f} s" + (f"   ERRORS {r['errors']}" if r["errors"] else "")
            )
        for r in out.get("browser", []):
            print(
                f"{r['user']:<6} {r['page']:<22} browser first {r['browser_first_s']:5.2f} s   warm {r['browser_warm_s']:5.2f} s"
                f"   {r['screenshot']}"
            )
        print(f"(load average {out['load_avg_1m']} on {out['nproc']} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
