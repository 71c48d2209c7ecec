"""Fraud lab: simulate and train with progress, the PR curve, an alert-budget slider, recall per scenario,
and a transaction scored with its reasons."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from apps.web import auth, charts, data, labs, views
from apps.web.app_pages import enter

actor = enter("fraud_lab.py")
ctx = auth.bank_ctx(actor, "fraud.train", "Fraud lab")
bank = ctx.bank

st.title("Fraud lab")
st.caption("Card and FPS transactions with labelled fraud scenarios, XGBoost detectors, and the alert budget "
           "your investigators can work.")

fraud, why = labs.module("fraud")
tab_results, tab_train, tab_score = st.tabs(["Results", "Simulate and train", "Score a transaction"])

# -- results of a run -------------------------------------------------------
with tab_results:
    with_pr = data.runs_with(actor, bank, "fraud", "reports/pr_curve.json")
    if not with_pr:
        st.info("No fraud run yet: train one in **Simulate and train**.")
    else:
        run = views.pick_run(with_pr, "fraud_run")
        rid = run["run_id"]
        views.review_box(run)
        views.threshold_metrics(run, ("ROC AUC", ("roc_auc", "test_roc_auc")))

        fig = charts.pr_curve(data.report(actor, bank, rid, "pr_curve.json"))
        left, right = st.columns(2)
        with left:
            if fig is not None:
                st.plotly_chart(fig, key="pr_chart")
            else:
                st.warning("reports/pr_curve.json has no precision/recall points.")
        with right:
            budget = charts.alert_budget_frame(data.report(actor, bank, rid, "alert_budget.json"))
            if budget.empty:
                st.info("This run has no alert-budget report.")
            else:
                options = budget["alerts_per_day"].tolist()
                default = options[len(options) // 2]
                chosen = st.select_slider("Alerts per day your team can investigate", options=options, value=default,
                                          key="alert_budget")
                row = budget[budget["alerts_per_day"] == chosen].iloc[0]
                m1, m2, m3 = st.columns(3)
                m1.metric("Alerts per day", f"{chosen:g}")
                m2.metric("Precision", f"{row['precision']:.3f}" if "precision" in row else "-")
                m3.metric("Recall", f"{row['recall']:.3f}" if "recall" in row else "-")
                thr = charts.pick(budget, "threshold", "score_threshold")
                if thr:
                    st.caption(f"Score threshold for this budget: {row[thr]:.4f}")
                st.plotly_chart(charts.alert_budget_figure(budget, chosen), key="budget_chart")

        arts = data.artifacts(actor, bank, rid)
        scen_name = next((a for a in arts if a.startswith("reports/") and "scenario" in a and a.endswith(".json")), None)
        if scen_name:
            scen = charts.scenario_recall_frame(data.report(actor, bank, rid, scen_name))
            if not scen.empty:
                st.plotly_chart(charts.bar(scen.sort_values("recall"), "scenario", "recall", "Recall per fraud scenario",
                                           horizontal=True), key="scenario_chart")
                with st.expander("Recall per scenario (table)"):
                    st.dataframe(scen, hide_index=True, width="stretch")
        imp_name = next((a for a in arts if a.startswith("reports/") and "importance" in a and a.endswith(".json")), None)
        if imp_name:
            imp = charts.to_frame(data.report(actor, bank, rid, imp_name), "feature")
            fcol, vcol = charts.pick(imp, "feature", "name"), charts.pick(imp, "importance", "gain", "value")
            if fcol and vcol:
                top = imp.sort_values(vcol, ascending=False).head(15).sort_values(vcol)
                st.plotly_chart(charts.bar(top, fcol, vcol, "Feature importance (top 15)", horizontal=True),
                                key="importance_chart")

# -- simulate and train ---------------------------------------------------------
with tab_train:
    if fraud is None:
        labs.missing_notice("fraud", why)
    else:
        c1, c2 = st.columns(2)
        with c1, st.form("fraud_simulate"):
            st.markdown("**1. Simulate transactions**")
            preset = st.selectbox("Preset", ["hk", "handbook"], key="sim_preset",
                                  help="hk: Hong Kong cards and FPS with five scenarios; handbook: the Fraud Detection Handbook design")
            customers = st.number_input("Customers", 100, 50_000, 2_000, step=500, key="sim_customers")
            days = st.number_input("Days", 14, 183, 35, step=7, key="sim_days")
            seed = st.number_input("Seed", 0, 2**31 - 1, 7, key="sim_seed")
            go_sim = st.form_submit_button("Simulate", type="primary")
        with c2, st.form("fraud_train"):
            st.markdown("**2. Train and evaluate**")
            model = st.selectbox("Model", ["xgboost", "logreg"], key="train_model")
            go_train = st.form_submit_button("Train", type="primary")
        if go_sim:
            labs.run_job(fraud.simulate, ctx, "Simulating", "Simulated: train a model on it next.", preset=preset,
                         customers=int(customers), days=int(days), seed=int(seed))
        if go_train:
            labs.run_job(fraud.train, ctx, "Training", "Trained: the new run is in **Results** and **Experiments**.",
                         model=model)

# -- score one transaction ----------------------------------------------------------
with tab_score:
    scorer_mod, why_s = labs.module("fraud", "load_scorer")
    if scorer_mod is None:
        labs.missing_notice("fraud", why_s)
    else:
        ctx.require("fraud.score")
        example = getattr(scorer_mod, "EXAMPLE_TRANSACTION", None) or {
            "customer_id": "C000001", "terminal_id": "T000001", "amount": 1250.0, "channel": "card_not_present",
            "timestamp": "2026-01-15T02:14:00"}
        txn_text = st.text_area("Transaction (JSON)", json.dumps(example, indent=2), height=220, key="txn_json")
        if st.button("Score", type="primary", key="score_btn"):
            try:
                txn = json.loads(txn_text)
            except ValueError as err:
                st.error(f"transaction: not valid JSON ({err}): fix the text above")
            else:
                try:
                    scorer = scorer_mod.load_scorer(ctx)
                    result = labs.as_dict(scorer.score(txn))
                except auth.SandboxError as err:
                    auth.show_error(err)
                else:
                    score = result.get("score") if isinstance(result, dict) else result
                    st.metric("Fraud score", f"{float(score):.4f}" if isinstance(score, (int, float)) else str(score))
                    if isinstance(result, dict):
                        reasons = result.get("reasons") or []
                        if reasons:
                            st.markdown("**Top reasons**")
                            st.dataframe(pd.DataFrame(reasons) if isinstance(reasons[0], dict) else pd.DataFrame({"reason": reasons}),
                                         hide_index=True, width="stretch")
                        with st.expander("Full result"):
                            st.json(result)
