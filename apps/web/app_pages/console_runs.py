"""HKMA console, experiment log: search runs across banks, open one (params, metrics, plots, model card), compare."""

from __future__ import annotations

import streamlit as st
from mlflow.exceptions import MlflowException

from apps.web import auth, data, views
from apps.web.app_pages import enter

actor = enter("console_runs.py")

st.title("Experiment log")
st.caption(
    "Every bank's MLflow runs, read-only. Reviewers see parameters, metrics, plots, reports and model cards; "
    "models, data sets and documents stay with the bank."
)

banks = data.bank_ids()
c1, c2, c3 = st.columns([2, 1, 2])
chosen = c1.multiselect("Banks", banks, default=banks, format_func=data.bank_name, key="log_banks")
usecase = c2.selectbox("Use case", ["all", "fraud", "risk", "chat"], key="log_usecase")
text = c3.text_input("Search run name, author or review status", key="log_text")
mlflow_filter = st.text_input(
    "MLflow filter (optional)", placeholder="metrics.average_precision > 0.7", key="log_filter"
)

runs: list[dict] = []
for bank in chosen:
    auth.bank_ctx(actor, "runs.read", "Experiment log", bank)
    try:
        runs += data.runs(actor, bank, None if usecase == "all" else usecase, filter_string=mlflow_filter.strip())
    except auth.SandboxError as err:
        auth.show_error(err)
        st.stop()
    except MlflowException as err:  # a malformed filter
        st.error(f"The MLflow filter was not understood: {err}. Example: metrics.average_precision > 0.7")
        st.stop()
if text.strip():
    t = text.strip().lower()
    runs = [
        r for r in runs if t in f"{r['run_name']} {views.actor_label(r)} {views.review_label(r)} {r['run_id']}".lower()
    ]
runs.sort(key=lambda r: r["start_time"] or 0, reverse=True)

st.markdown(f"**{len(runs)} runs**")
if not runs:
    st.info("No runs match.")
    st.stop()
runs_df = views.runs_frame(runs, bank=True)
st.dataframe(runs_df, hide_index=True, width="stretch", column_config=views.metric_columns(runs_df))

tab_detail, tab_compare, tab_history = st.tabs(["Run detail", "Compare runs", "Metric history"])
with tab_detail:
    views.run_detail(actor, views.pick_run(runs, "log_run"))
with tab_compare:
    views.compare_picker(actor, runs, key="log_cmp")
with tab_history:
    views.metric_history(runs, key="log_hist")
