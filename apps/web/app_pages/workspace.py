"""Workspace: the bank's data sets, models, recent runs and compute used against its quota."""

from __future__ import annotations

import streamlit as st

from apps.web import auth, data, tables, views
from apps.web.app_pages import enter
from apps.web.suites_ui import bank_section

actor = enter("workspace.py")
ctx = auth.bank_ctx(actor, "data.read", "Workspace")
bank = ctx.bank

st.title(f"{data.bank_name(bank)} workspace")
st.caption(f"Bank id `{bank}` · signed in as {actor.name} (bank data scientist) · device {ctx.device}")

usage = data.usage(actor, bank)
quota = usage.get("quota_s")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Work metered", f"{usage['runs']} runs, {usage.get('jobs', 0)} jobs")
c2.metric("Compute used", f"{usage['wall_s']:,.0f} s")
c3.metric("Quota", "unlimited" if quota is None else f"{quota:,.0f} s")
c4.metric("Remaining", "-" if quota is None else f"{usage['remaining_s']:,.0f} s")
if quota:
    share = min(usage["wall_s"] / quota, 1.0)
    st.progress(share, text=f"{share:.0%} of the compute quota used")
if usage.get("by_usecase"):
    st.caption(
        "Compute by use case: "
        + ", ".join(f"{k} {v:,.0f} s" for k, v in sorted(usage["by_usecase"].items()))
        + " · by kind of work: "
        + ", ".join(f"{k} {v:,.0f} s" for k, v in sorted(usage.get("by_kind", {}).items()))
    )
with st.expander("Compute over time, per user"):
    views.usage_section(data.usage_records(actor, bank), "user", f"{bank}-usage.csv", "ws_usage_csv")

st.subheader("Recent runs")
runs = data.runs(actor, bank, max_results=20)
if runs:
    st.dataframe(tables.recent_runs(runs), hide_index=True, width="stretch", column_config=tables.RUN_COLUMNS)
else:
    st.info("No runs yet: simulate data and train a model in the Fraud lab or Risk lab.")

st.subheader("Registered models")
models = data.models(actor, bank)
if models:
    st.dataframe(tables.models(models), hide_index=True, width="content", column_config=tables.MODEL_COLUMNS)
else:
    st.info("No registered models yet.")

st.subheader("Data sets and indexes")
files = data.workspace_files(actor, bank)
if files:  # a row per folder (a data set, a model's files, an index); every file one click away
    st.dataframe(tables.data_sets(files), hide_index=True, width="stretch", column_config=tables.FILE_COLUMNS)
    with st.expander(f"Every file ({len(files)})"):
        st.dataframe(tables.file_list(files), hide_index=True, width="stretch", column_config=tables.FILE_COLUMNS)
else:
    st.info("The workspace holds no files yet.")

bank_section(ctx)  # its regulator-held suite results and gaps (apps/web/suites_ui.py)
