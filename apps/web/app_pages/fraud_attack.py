"""Fraud ring: an attacker that sees only approve/decline searches for campaigns the champion misses; then the
defender retrains and the ring attacks again (the arms race, round by round)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.web import auth, charts, labs, views
from apps.web.app_pages import enter

actor = enter("fraud_attack.py")
ctx = auth.bank_ctx(actor, "assure.fraud_attack", "Fraud ring")
bank = ctx.bank

st.title("Fraud ring vs your champion")
st.caption(
    "A query-budgeted fraud ring probes your fraud champion one transaction at a time, seeing only approve or "
    "decline, and searches amounts, hours, terminals, devices, payees and mule chains for campaigns it misses "
    "(Optuna's TPE sampler). Each defender round retrains with the campaigns found, labelled after the protocol's "
    "delay, and the ring attacks the new model. Everything runs in your workspace on your own data."
)

assure, why = labs.submodule("usecases.assure", "fraud_attack")

ARMS_RACE_COLUMNS = {
    "round": st.column_config.NumberColumn("round", format="%d"),
    "queries": st.column_config.NumberColumn("queries", format="%d"),
    "evasion_rate": st.column_config.NumberColumn("evasion", help="share of the ring's frauds approved", format="%.3f"),
    "hkd_undetected": st.column_config.NumberColumn("HKD undetected", format="localized"),
    "model_recall": st.column_config.NumberColumn("model recall", format="%.3f"),
    "campaign_recall": st.column_config.NumberColumn(
        "campaign recall", help="the best campaign's recall under the model", format="%.3f"
    ),
    "defended_campaign_recall": st.column_config.NumberColumn(
        "after retraining", help="that campaign on fresh victims, against the retrained model", format="%.3f"
    ),
    "recovery_ratio": st.column_config.NumberColumn(
        "recovery", help="after-retraining recall over the retrained model's overall recall", format="%.2f"
    ),
}

FOUND_COLUMNS = {
    "trial": st.column_config.NumberColumn("trial", format="%d"),
    "words": st.column_config.TextColumn("the campaign, in words", width="large"),
    "recall": st.column_config.NumberColumn("recall under the model", format="%.3f"),
    "stolen_hkd": st.column_config.NumberColumn("HKD undetected", format="localized"),
    "queries": st.column_config.NumberColumn("queries", format="%d"),
}


def _curves(rep: dict) -> go.Figure:
    """Evasion rate against queries spent, one line per round."""
    fig = go.Figure()
    for r, curve in enumerate(rep.get("curves") or [], 1):
        fig.add_scatter(
            x=[p["queries"] for p in curve], y=[p["evasion_rate"] for p in curve], mode="lines", name=f"round {r}"
        )
    fig.update_xaxes(title="queries spent")
    fig.update_yaxes(title="evasion rate", range=[0, 1])
    return charts.style(fig, "What the ring learns per query")


def _show(rep: dict) -> None:
    first = (rep.get("arms_race") or [{}])[0]
    cols = st.columns(4)
    cols[0].metric("Evasion, round 1", f"{first.get('evasion_rate', 0):.1%}")
    cols[1].metric("HKD undetected, round 1", f"{first.get('hkd_undetected', 0):,.0f}")
    cols[2].metric("Queries", f"{first.get('queries', 0):,}", help=f"budget {rep.get('budget', 0):,} per round")
    cols[3].metric("Champion", f"v{rep.get('model_version', '?')}")
    st.dataframe(
        pd.DataFrame(rep.get("arms_race") or [])[[c for c in ARMS_RACE_COLUMNS if c in (first or {})]],
        hide_index=True,
        width="stretch",
        column_config=ARMS_RACE_COLUMNS,
    )
    st.dataframe(
        pd.DataFrame([{"target": k, "result": "pass" if v else "FAIL"} for k, v in rep.get("targets", {}).items()]),
        hide_index=True,
        width="content",
    )
    st.plotly_chart(_curves(rep), key="fraud_attack_curves")
    found = [f for rnd in rep.get("found") or [] for f in rnd]
    with st.expander(f"Campaigns found, in words ({len(found)})", expanded=bool(found)):
        if found:
            st.dataframe(
                pd.DataFrame(found)[["trial", "words", "recall", "stolen_hkd", "queries"]],
                hide_index=True,
                width="stretch",
                column_config=FOUND_COLUMNS,
            )
        else:
            st.write("The ring found no campaign worth keeping.")
    if rep.get("not_searched"):
        st.caption("Not searched by this ring: " + "; ".join(rep["not_searched"]))


report = views.picked_report(
    actor,
    bank,
    "fraud",
    "fraud_attack.json",
    "fraud_attack_run",
    "Fraud-ring run",
    "No fraud-ring run yet: start one below (or `sandbox assure fraud-attack BANK`).",
)
if report is not None:
    _show(report)

st.subheader("Run the fraud ring")
if assure is None:
    st.info(f"The assurance package is not available here: {why}")
else:
    with st.form("fraud_attack_form"):
        budget = st.number_input(
            "Query budget per round",
            min_value=20,
            max_value=20_000,
            value=400,
            step=20,
            help="2,000 is the benchmark's; a few hundred take a minute on 2 cores.",
        )
        rounds = st.number_input("Rounds (attack, then retrain)", min_value=1, max_value=5, value=1, step=1)
        observe = st.radio("The ring sees", ["decision", "score"], horizontal=True)
        seed = st.number_input("Seed", min_value=0, value=0, step=1)
        go_ = st.form_submit_button("Run the fraud ring", type="primary")
    if go_:
        labs.run_job(
            assure.fraud_attack,
            ctx,
            "Attacking",
            "Done: reload the page to see the new run.",
            budget=int(budget),
            rounds=int(rounds),
            seed=int(seed),
            observe=observe,
        )
