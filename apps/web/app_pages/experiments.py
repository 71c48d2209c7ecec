"""Experiments: the bank's own MLflow runs, reviewer sign-offs, and two runs compared."""

from __future__ import annotations

import streamlit as st

from apps.web import auth, data, models_panel, views
from apps.web.app_pages import enter
from apps.web.evidence_ui import pack_button

actor = enter("experiments.py")
ctx = auth.bank_ctx(actor, "runs.read", "Experiments")
bank = ctx.bank

st.title("Experiments")
st.caption(f"Every run of {data.bank_name(bank)}, as tracked in MLflow, with the HKMA reviewer's sign-off.")

usecase = st.segmented_control("Use case", ["all", "fraud", "risk", "chat"], default="all", key="exp_usecase")
runs = data.runs(actor, bank, None if usecase in (None, "all") else usecase)
if not runs:
    st.info("No runs yet: train a model in the Fraud lab or Risk lab, or evaluate the assistant in Chat.")
    st.stop()

reviewed = [r for r in runs if r["review"].get("status")]
c1, c2, c3 = st.columns(3)
c1.metric("Runs", len(runs))
c2.metric("Approved", sum(r["review"].get("status") == "approved" for r in runs))
c3.metric("Changes requested", sum(r["review"].get("status") == "changes_requested" for r in runs))

runs_df = views.runs_frame(runs)
st.dataframe(runs_df, hide_index=True, width="stretch", column_config=views.metric_columns(runs_df))

if reviewed:
    st.subheader("Reviewer sign-offs")
    for r in reviewed[:10]:
        rv = r["review"]
        icon = ":material/check_circle:" if rv.get("status") == "approved" else ":material/rate_review:"
        st.markdown(
            f"{icon} **{views.review_label(r)}** · {r['usecase']} run *{r['run_name']}* (`{r['run_id'][:8]}`) · "
            f"by {rv.get('by')} on {views.local_time(rv.get('at'))}"
            + (f"  \n> {rv.get('comment')}" if rv.get("comment") else "")
        )

tab_detail, tab_compare, tab_history = st.tabs(["Run detail", "Compare two runs", "Metric history"])
with tab_detail:
    picked = views.pick_run(runs, "exp_run")
    views.run_detail(actor, picked)
    pack_button(
        actor, bank, picked["usecase"], run_id=picked["run_id"], key="exp_pack"
    )  # signed evidence pack (issue 14)
with tab_compare:
    views.compare_picker(actor, runs, key="exp_cmp")
with tab_history:
    views.metric_history(runs, key="exp_hist")

models_panel.scientist_panel(ctx)  # versions, gates, review; submit, promote, roll back (issue 14)
