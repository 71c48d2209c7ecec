"""The reviewer's sign-off (issue 18, item 2): approving is never the default.

No decision is preselected, every decision needs a comment (on the page, in `sandbox review` and in
`WorkspaceContext.sign_off`), the evidence and the failing checks come before the form, and approving a run
that fails a bar needs an explicit confirmation listing what it fails. Driven with Streamlit's AppTest on a
store of evidence runs (tests/test_web_seed.py, no training): each bank's fraud run has AP 0.61 < 0.72.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
import test_web_seed as seed  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from apps.web import auth  # noqa: E402
from sandbox import InvalidInput, open_workspace  # noqa: E402

APP = str(Path(__file__).resolve().parent.parent / "apps" / "web" / "app.py")


@pytest.fixture(scope="module")
def web_store(tmp_path_factory):
    saved = os.environ.get("SANDBOX_HOME")
    store = seed.build(tmp_path_factory.mktemp("review-home"), real=False)  # its own: decisions recorded here stay here
    os.environ["SANDBOX_HOME"] = str(store.home)
    yield store
    if saved is None:
        os.environ.pop("SANDBOX_HOME", None)
    else:
        os.environ["SANDBOX_HOME"] = saved


def review_page(store, bank: str, usecase: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[auth.ACTOR_KEY] = store.actor("rita")
    at.run()
    at.switch_page("app_pages/console_review.py").run()
    at.selectbox(key="rev_bank").set_value(bank).run()
    at.selectbox(key="rev_usecase").set_value(usecase).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def in_order(at: AppTest) -> list[tuple[str, str]]:
    """(element type, text) of the main area, top to bottom."""
    out: list[tuple[str, str]] = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict) and children:
            for i in sorted(children):
                walk(children[i])
            return
        text = getattr(node, "label", None) or getattr(node, "value", None)
        out.append((node.type, str(text)))

    walk(at.main)
    return out


def decision_of(store, bank: str, run_id: str) -> str:
    held = open_workspace(bank, store.actor("rita"), store).read_ledger().review(run_id)
    return held.state if held else ""


def shown_run_id(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Sign off")).split("`")[1]


def test_no_decision_is_preselected_and_the_evidence_and_failing_checks_come_first(web_store):
    at = review_page(web_store, seed.BANK_B, "fraud")
    assert at.radio(key="rev_decision").value is None
    assert at.radio(key="rev_decision").index is None
    errors = [e.value for e in at.error]
    assert any("Fails" in e and "Average precision 0.610 below 0.72" in e for e in errors), errors
    order = in_order(at)
    first = lambda pred: next(i for i, el in enumerate(order) if pred(el))  # noqa: E731
    form = first(lambda el: el[0] == "radio")
    assert first(lambda el: el[0] == "alert" or "Fails" in el[1]) < form
    assert first(lambda el: el[1] == "**Metrics**") < form  # the run's evidence
    assert first(lambda el: el[0] == "text_area") > form and first(lambda el: el[0] == "button") > form
    assert not at.checkbox  # no confirmation until "Approved" is chosen


def test_recording_without_a_decision_is_refused(web_store):
    at = review_page(web_store, seed.BANK_B, "risk")
    run_id = shown_run_id(at)
    at.text_area(key="rev_comment").input("Looked at the ROC and the calibration.")
    at.button(key="rev_submit").click().run()
    assert any("decision: no decision chosen" in e.value for e in at.error)
    assert decision_of(web_store, seed.BANK_B, run_id) == ""


def test_an_approval_without_a_comment_is_refused_on_the_page(web_store):
    at = review_page(web_store, seed.BANK_B, "risk")  # passes both bars: no confirmation needed
    run_id = shown_run_id(at)
    at.radio(key="rev_decision").set_value("approved").run()
    assert not at.checkbox
    at.button(key="rev_submit").click().run()
    assert not at.exception
    assert any(e.value.startswith("comment: every review decision needs a comment") for e in at.error)
    assert decision_of(web_store, seed.BANK_B, run_id) == ""


def test_approving_a_run_that_fails_a_bar_needs_the_explicit_confirmation(web_store):
    at = review_page(web_store, seed.BANK_B, "fraud")
    run_id = shown_run_id(at)
    at.radio(key="rev_decision").set_value("approved").run()
    box = at.checkbox(key="rev_confirm")
    assert box.label == "I approve although it fails: Average precision 0.610 below 0.72"
    assert box.value is False
    at.text_area(key="rev_comment").input("Accepted for the pilot: alert budget reviewed with the bank.")
    at.button(key="rev_submit").click().run()
    assert any(e.value.startswith("confirmation: this run fails Average precision 0.610 below 0.72") for e in at.error)
    assert decision_of(web_store, seed.BANK_B, run_id) == ""

    at.checkbox(key="rev_confirm").check()
    at.button(key="rev_submit").click().run()
    assert not at.exception
    assert any("Recorded: Approved by rita" in s.value for s in at.success)
    assert decision_of(web_store, seed.BANK_B, run_id) == "approved"
    # the form starts empty again: the next decision is chosen afresh
    assert at.radio(key="rev_decision").value is None and at.text_area(key="rev_comment").value == ""
    assert not at.checkbox


def test_another_run_does_not_inherit_the_decision_or_comment(web_store):
    at = review_page(web_store, seed.BANK_B, "all")
    at.radio(key="rev_decision").set_value("approved").run()
    at.text_area(key="rev_comment").input("About the first run.").run()
    runs = at.selectbox(key="rev_run")
    runs.set_value(runs.options[1]).run()
    assert at.radio(key="rev_decision").value is None and at.text_area(key="rev_comment").value == ""


def test_sign_off_needs_a_comment_for_every_decision(web_store):
    review = open_workspace(seed.BANK_A, web_store.actor("rita"), web_store)
    run_id = next(r.info.run_id for r in review.runs("chat"))
    for decision in ("approved", "changes_requested"):
        with pytest.raises(InvalidInput, match="^comment: ") as err:
            review.sign_off(run_id, decision, "   ")
        assert "\n" not in str(err.value)
    assert decision_of(web_store, seed.BANK_A, run_id) == ""


def test_cli_review_without_a_comment_is_one_line_naming_the_comment(web_store):
    from click.testing import CliRunner

    from apps.cli import cli

    review = open_workspace(seed.BANK_A, web_store.actor("rita"), web_store)
    run_id = next(r.info.run_id for r in review.runs("chat"))
    env = {"SANDBOX_HOME": str(web_store.home), "SANDBOX_USER": "rita", "SANDBOX_PASSWORD": seed.PASSWORD}
    out = CliRunner().invoke(
        cli, ["review", seed.BANK_A, run_id, "--decision", "approved"], env=env, prog_name="sandbox"
    )
    assert out.exit_code == 2, out.output
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "comment: every review decision needs a comment" in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert decision_of(web_store, seed.BANK_A, run_id) == ""
    ok = CliRunner().invoke(
        cli,
        [
            "review",
            seed.BANK_A,
            run_id,
            "--decision",
            "approved",
            "--comment",
            "Correctness 0.93 and refusals 0.97 on the 79 questions.",
        ],
        env=env,
        prog_name="sandbox",
    )
    assert ok.exit_code == 0, ok.output
    assert decision_of(web_store, seed.BANK_A, run_id) == "approved"
