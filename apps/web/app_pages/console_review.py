"""HKMA console, review and sign-off: approve a run, or request changes with a comment.

The decision is recorded through `WorkspaceContext.sign_off` as a `review.sign` event in the
bank's audit chain (the ledger, which every page reads) and the platform's, then mirrored
into run tags (`review.status`, `review.by` ...) for the stock MLflow UI; a mirror that
disagrees with the ledger is shown as tampered. The bank sees it on its Experiments page.
"""
from __future__ import annotations

import streamlit as st

from apps.web import auth, data, views
from apps.web.app_pages import enter

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

runs = [r for r in data.runs(actor, bank, None if usecase == "all" else usecase) if r["status"] == "FINISHED"]
if only_open:
    runs = [r for r in runs if not r["review"].get("status")]
if not runs:
    st.info("No finished runs to review in this selection.")
    st.stop()

run = views.pick_run(runs, "rev_run")

with st.form("sign_off", clear_on_submit=True):
    st.markdown(f"Sign off **{run['run_name']}** (`{run['run_id']}`) of {data.bank_name(bank)}")
    decision = st.radio("Decision", ["approved", "changes_requested"], horizontal=True, key="rev_decision",
                        format_func=lambda d: views.REVIEW_LABELS[d])
    comment = st.text_area("Comment (required when requesting changes)", key="rev_comment", max_chars=4000)
    submitted = st.form_submit_button("Record decision", type="primary")
if submitted:
    try:
        out = ctx.sign_off(run["run_id"], decision, comment)
    except auth.SandboxError as err:
        auth.show_error(err)
    else:
        data.refresh_runs()
        st.success(f"Recorded: {views.REVIEW_LABELS[out['status']]} by {out['by']} at {out['at']}. "
                   f"The bank sees it on its Experiments page.")
        run = data.run(actor, bank, run["run_id"])

views.run_detail(actor, run)
