"""HKMA console, review and sign-off: approve a run, or request changes, with a comment either way.

The evidence (failing checks first, then the run's metrics, plots and reports) comes before the form, the
form preselects no decision, and approving a run that fails a bar needs an explicit confirmation naming the
failing checks: approval is never one click. Every decision needs a comment; `WorkspaceContext.sign_off`
enforces that for every face (this page, `sandbox review`).

The decision is recorded through `WorkspaceContext.sign_off` as a `review.sign` event in the
bank's audit chain (the ledger, which every page reads) and the platform's, then mirrored
into run tags (`review.status`, `review.by` ...) for the stock MLflow UI; a mirror that
disagrees with the ledger is shown as tampered. The bank sees it on its Experiments page.
"""

from __future__ import annotations

import streamlit as st

from apps.web import auth, data, models_panel, views
from apps.web.app_pages import enter
from apps.web.evidence_ui import pack_button
from sandbox.errors import InvalidInput

FORM_KEYS = ("rev_decision", "rev_comment", "rev_confirm")


def failing_checks(run: dict) -> list[str]:
    """What the run fails, in words: bars below their minimum or not logged, and the run's own failed checks."""
    out = []
    for c in views.check_thresholds(run):
        if c["value"] is None:
            out.append(f"{c['check']} not logged (bar {c['minimum']:.2f})")
        elif not c["passes"]:
            out.append(f"{c['check']} {c['value']:.3f} below {c['minimum']:.2f}")
    return out + views.count_flags(run)


def _clear_form() -> None:
    for key in FORM_KEYS:
        st.session_state.pop(key, None)


def _record(ctx, run_id: str, failing: list[str]) -> None:
    """The button's callback (runs before the page redraws): check the choice, sign off, then clear the form."""
    ss = st.session_state
    decision, comment = ss.get("rev_decision"), ss.get("rev_comment") or ""
    try:
        if decision is None:
            raise InvalidInput("decision", "no decision chosen", "choose Approved or Changes requested")
        if decision == "approved" and failing and not ss.get("rev_confirm"):
            raise InvalidInput(
                "confirmation",
                f"this run fails {'; '.join(failing)}",
                "tick 'I approve although it fails' to approve it anyway, or request changes",
            )
        out = ctx.sign_off(run_id, decision, comment)
    except auth.SandboxError as err:
        ss["rev_outcome"] = ("error", str(err))
        return
    data.refresh_runs()
    ss["rev_outcome"] = (
        "success",
        f"Recorded: {views.REVIEW_LABELS[out['status']]} by {out['by']} at {out['at']}. "
        "The bank sees it on its Experiments page.",
    )
    _clear_form()


actor = enter("console_review.py")

st.title("Review and sign-off")

banks = data.bank_ids()
c1, c2, c3 = st.columns([2, 1, 1])
bank = c1.selectbox("Bank", banks, format_func=data.bank_name, key="rev_bank")
usecase = c2.selectbox("Use case", ["all", "fraud", "risk", "chat"], key="rev_usecase")
only_open = c3.toggle("Only unreviewed", value=False, key="rev_open")
if bank is None:
    st.info("No banks yet.")
    st.stop()
ctx = auth.bank_ctx(actor, "review.sign", "Review and sign-off", bank)
models_panel.review_queue(ctx)  # model versions submitted for review (issue 14), above the run sign-off

runs = [r for r in data.runs(actor, bank, None if usecase == "all" else usecase) if r["status"] == "FINISHED"]
if only_open:
    runs = [r for r in runs if not r["review"].get("status")]
outcome = st.session_state.pop("rev_outcome", None)
if outcome:  # what the last click did, at the top where it is seen
    (st.success if outcome[0] == "success" else st.error)(outcome[1])
if not runs:
    st.info("No finished runs to review in this selection.")
    st.stop()

run = views.pick_run(runs, "rev_run")
if st.session_state.get("rev_for") != run["run_id"]:  # another run: no decision or comment carried over to it
    _clear_form()
    st.session_state["rev_for"] = run["run_id"]
failing = failing_checks(run)

st.subheader("Evidence")
if failing:
    st.error(f"Fails {len(failing)} check(s): " + "; ".join(failing))
elif views.check_thresholds(run):
    st.success("Meets every bar of its use case, with no failed checks of its own.")
else:
    st.info("No absolute bar applies to this run: judge it on its evidence below.")
views.run_detail(actor, run)
pack_button(actor, bank, run["usecase"], run_id=run["run_id"], key="rev_pack")  # signed evidence pack (issue 14)

st.divider()
st.subheader("Decision")
st.markdown(f"Sign off **{run['run_name']}** (`{run['run_id']}`) of {data.bank_name(bank)}")
decision = st.radio(
    "Decision",
    ["approved", "changes_requested"],
    index=None,
    horizontal=True,
    key="rev_decision",
    format_func=lambda d: views.REVIEW_LABELS[d],
)
st.text_area("Comment (required: what you checked, or what the bank should change)", key="rev_comment", max_chars=4000)
if decision == "approved" and failing:
    st.checkbox("I approve although it fails: " + "; ".join(failing), value=False, key="rev_confirm")
st.button("Record decision", type="primary", key="rev_submit", on_click=_record, args=(ctx, run["run_id"], failing))
