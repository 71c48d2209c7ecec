"""End to end in headless Chromium: `streamlit run` on a free port over a small seeded store, driven by Playwright.

A scientist signs in and sees the fraud lab's PR chart; a reviewer sees the cross-bank table, signs off a run
with a change request, and the scientist sees it on her Experiments page. Screenshots go to tests/screenshots/.
Uses Debian's Chromium (`make browser`); never downloads a browser.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import test_web_seed as seed

from apps.web.tour import run_number, wait_run

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium: run `make browser`"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from apps.cli_web import streamlit_command

    saved = os.environ.get("SANDBOX_HOME")
    home = seed.shared(tmp_path_factory).home
    if saved is None:
        os.environ.pop("SANDBOX_HOME", None)
    else:
        os.environ["SANDBOX_HOME"] = saved
    port = free_port()
    env = dict(os.environ, SANDBOX_HOME=str(home), MLFLOW_DISABLE_TELEMETRY="true")
    log = open(home / "streamlit.log", "w")
    proc = subprocess.Popen(streamlit_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def sign_in(browser, url: str, user: str):
    page = browser.new_page(viewport={"width": 1440, "height": 1200})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(seed.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_run(page, 0)
    return page


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def go(page, title: str) -> None:
    """Open a page from the sidebar and wait until its script run has finished drawing it."""
    before = run_number(page)
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    wait_run(page, before)


def test_scientist_sees_workspace_and_the_fraud_labs_pr_chart(server, browser):
    page = sign_in(browser, server, "alice")
    page.get_by_role("heading", name="Harbour Bank workspace").wait_for()
    shot(page, "scientist-workspace")
    go(page, "Fraud lab")
    page.get_by_role("heading", name="Fraud lab").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.get_by_text("Precision-recall curve").count() >= 1
    shot(page, "scientist-fraud-lab")
    go(page, "Risk lab")
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "scientist-risk-lab")
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    assert "All banks" not in nav and "Banks, users, quotas" not in nav
    page.close()


def test_a_typed_console_url_shows_no_console_to_a_scientist(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 1200})
    page.set_default_timeout(60_000)
    page.goto(f"{server}/console_review")  # a fresh session: signed out, and no such page for a visitor
    wait_run(page, 0)
    page.get_by_text("Page not found").wait_for()
    shot(page, "typed-console-url-signed-out")
    page.keyboard.press("Escape")
    page.get_by_text("Page not found").wait_for(state="hidden")
    assert page.get_by_text("Record decision").count() == 0
    page.get_by_label("User name").fill("alice")
    page.get_by_role("textbox", name="Password").fill(seed.PASSWORD)
    before = run_number(page)
    page.get_by_role("button", name="Sign in").click()
    wait_run(page, before)
    page.wait_for_timeout(500)
    assert page.get_by_role("heading", name="Review and sign-off").count() == 0
    assert page.get_by_text("Record decision").count() == 0
    shot(page, "scientist-typed-console-url")
    page.close()


def test_reviewer_signs_off_and_the_bank_sees_it(server, browser):
    page = sign_in(browser, server, "rita")
    page.get_by_role("heading", name="All banks at a glance").wait_for()
    table = page.get_by_test_id("stTable").first
    table.wait_for()
    assert "Harbour Bank" in table.inner_text() and "Peak Bank" in table.inner_text()
    assert "below threshold" in table.inner_text()
    shot(page, "reviewer-all-banks")

    go(page, "Review and sign-off")
    page.get_by_role("heading", name="Review and sign-off").wait_for()
    page.get_by_test_id("stRadio").get_by_text("Changes requested", exact=True).click()
    comment = "Please add the out-of-time validation to the model card."
    page.get_by_label("Comment (required: what you checked, or what the bank should change)").fill(comment)
    before = run_number(page)
    page.get_by_role("button", name="Record decision").click()
    wait_run(page, before)
    page.get_by_text("Recorded: Changes requested").wait_for()
    shot(page, "reviewer-sign-off")
    go(page, "Audit trail")
    page.get_by_text("Chain verified").wait_for()
    shot(page, "reviewer-audit-trail")
    page.close()

    bank = sign_in(browser, server, "alice")
    bank.get_by_role("heading", name="Harbour Bank workspace").wait_for()
    go(bank, "Experiments")
    bank.get_by_text(comment).first.wait_for()
    assert bank.get_by_text("Changes requested").count() >= 1
    shot(bank, "scientist-experiments-review")
    bank.close()


def ask(page, question: str):
    """Ask the Chat page and return the assistant's reply once the script run has drawn it."""
    page.get_by_test_id("stChatInputTextArea").fill(question)
    before = run_number(page)
    page.keyboard.press("Enter")
    wait_run(page, before)
    reply = page.get_by_test_id("stChatMessage").last
    reply.wait_for()
    return reply


def test_scientist_uploads_a_policy_and_the_assistant_cites_it_only_for_her_bank(server, browser, tmp_path):
    policy = tmp_path / "card-replacement.md"
    policy.write_text(
        "# Card replacement\n\nHarbour Bank charges a fee of HKD 175 for replacing a lost or stolen "
        "credit card. The replacement card is posted within 5 working days.\n",
        encoding="utf-8",
    )
    question = "What fee does the bank charge for replacing a lost credit card?"

    page = sign_in(browser, server, "alice")
    go(page, "Chat")
    page.get_by_role("tab", name="Documents").click()
    page.locator("input[type=file]").set_input_files(str(policy))
    page.get_by_role("button", name="Ingest").wait_for()
    before = run_number(page)
    page.get_by_role("button", name="Ingest").click()
    wait_run(page, before)
    page.get_by_text("Added 1").wait_for(timeout=180_000)
    page.get_by_test_id("stDataFrame").first.wait_for()  # the rerun lists the new document
    assert page.get_by_text("No documents indexed yet").count() == 0
    shot(page, "scientist-chat-upload")
    page.get_by_role("tab", name="Ask").click()
    answer = ask(page, question)
    assert "175" in answer.inner_text() and "[1]" in answer.inner_text()
    page.get_by_text("Passages cited (").last.wait_for()  # open by default when the answer cites
    quote = answer.locator("blockquote").last  # the cited passage, as the assistant saw it
    quote.wait_for()
    assert "charges a fee of HKD 175" in quote.inner_text() and "card-replacement.md" in answer.inner_text()
    page.wait_for_timeout(500)  # let the expander finish drawing before the screenshot
    shot(page, "scientist-chat-answer")
    page.close()

    other = sign_in(browser, server, "bob")  # Peak Bank: the same question finds nothing of Harbour Bank's
    go(other, "Chat")
    reply = ask(other, question)
    assert "175" not in reply.inner_text() and "card-replacement" not in other.content()
    other.close()


def test_reviewer_sees_the_cohort_and_downloads_a_pack_that_verifies(server, browser, tmp_path):
    """The console's cohort page, then a signed evidence pack of a run downloaded from Review and sign-off."""
    import re

    from sandbox import evidence

    page = sign_in(browser, server, "rita")
    go(page, "Cohort and evidence packs")
    page.get_by_role("heading", name="Cohort: every bank's champion").wait_for()
    page.get_by_test_id("stDataFrame").first.wait_for()
    shot(page, "reviewer-cohort")
    go(page, "Review and sign-off")
    page.get_by_role("heading", name="Review and sign-off").wait_for()
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name=re.compile("Download evidence pack")).first.click()
    target = tmp_path / "pack.zip"
    info.value.save_as(target)
    checked = evidence.verify(target.read_bytes())
    assert checked["ok"], checked
    assert checked["subject"]["bank"] == "harbour-bank"
    page.close()
