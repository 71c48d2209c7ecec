"""Fraud lab: simulate and train with progress, the PR curve, an alert-budget slider, recall per scenario,
and a transaction scored with its reasons."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from apps.web import auth, charts, data, figures, labs, views
from apps.web.app_pages import enter
from sandbox import Actor
from usecases.reports import report_path

actor = enter("fraud_lab.py")


@st.cache_resource(show_spinner="Loading the bank's scorer", max_entries=8, ttl=600)
def _load_scorer(_mod, bank_id: str, who: tuple, model_run: str):
    """One warmed streaming scorer per bank, user and model version (its state moves on with each score)."""
    return _mod.load_scorer(data.ctx(Actor(*who), bank_id))


def _scorer(mod, c):
    """The champion's scorer (sandbox/lifecycle.py), cached per champion run: a promotion or rollback loads anew."""
    from sandbox import lifecycle

    champ = lifecycle.champion(c, "fraud")
    if champ is None:
        raise lifecycle.no_champion(c, "fraud", bool(lifecycle.versions(c, "fraud")))
    return _load_scorer(mod, c.bank, data.who(actor), champ.run_id)


ctx = auth.bank_ctx(actor, "fraud.train", "Fraud lab")
bank = ctx.bank

st.title("Fraud lab")
st.caption(
    "Card and FPS transactions with labelled fraud scenarios, XGBoost detectors, and the alert budget "
    "your investigators can work."
)

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

        arts = data.artifacts(actor, bank, rid)
        figs = {f.key: f for f in figures.fraud(lambda name: data.report(actor, bank, rid, name), arts)}
        left, right = st.columns(2)
        with left:
            if "pr" in figs:
                figures.slot().plotly_chart(figs.pop("pr").figure, key="pr_chart")
            else:
                st.warning("reports/pr_curve.json has no precision/recall points.")
        with right:
            budget = charts.alert_budget_frame(data.report(actor, bank, rid, report_path("fraud", "alert_budget")))
            if budget.empty:
                st.info("This run has no alert-budget report.")
            else:
                options = budget["alerts_per_day"].tolist()
                planned = run["metrics"].get("alert_budget", run["metrics"].get("alerts_per_day"))
                default = planned if planned in options else options[len(options) // 2]
                chosen = st.select_slider(
                    "Alerts per day your team can investigate", options=options, value=default, key="alert_budget"
                )
                row = budget[budget["alerts_per_day"] == chosen].iloc[0]
                m1, m2, m3 = st.columns(3)
                m1.metric("Alerts per day", f"{chosen:g}")
                m2.metric("Precision", f"{row['precision']:.3f}" if "precision" in row else "-")
                m3.metric("Recall", f"{row['recall']:.3f}" if "recall" in row else "-")
                if "threshold" in row:  # each budget's row carries its threshold (evaluate.budget_curve)
                    st.caption(f"Score threshold for this budget: {row['threshold']:.4f}")
                figures.slot().plotly_chart(charts.alert_budget_figure(budget, chosen), key="budget_chart")

        figures.show(list(figs.values()), "fraud")
        scen_path = report_path("fraud", "recall_per_scenario")
        scen = charts.scenario_recall_frame(data.report(actor, bank, rid, scen_path)) if scen_path in arts else None
        if scen is not None and not scen.empty:
            with st.expander("Recall per scenario (table)"):
                st.dataframe(scen, hide_index=True, width="stretch")

# -- simulate and train ---------------------------------------------------------
with tab_train:
    if fraud is None:
        labs.missing_notice("fraud", why)
    else:
        c1, c2 = st.columns(2)
        with c1, st.form("fraud_simulate"):
            st.markdown("**1. Simulate transactions**")
            preset = st.selectbox(
                "Preset",
                ["hk", "handbook"],
                key="sim_preset",
                help="hk: Hong Kong cards and FPS with five scenarios; handbook: the Fraud Detection Handbook design",
            )
            customers = st.number_input("Customers", 100, 50_000, 2_000, step=500, key="sim_customers")
            days = st.number_input("Days", 14, 183, 35, step=7, key="sim_days")
            seed = st.number_input("Seed", 0, 2**31 - 1, 7, key="sim_seed")
            go_sim = st.form_submit_button("Simulate", type="primary")
        with c2, st.form("fraud_train"):
            st.markdown("**2. Train and evaluate**")
            model = st.selectbox("Model", ["xgboost", "logreg"], key="train_model")
            go_train = st.form_submit_button("Train", type="primary")
        if go_sim:
            labs.run_job(
                fraud.simulate,
                ctx,
                "Simulating",
                "Simulated: train a model on it next.",
                preset=preset,
                customers=int(customers),
                days=int(days),
                seed=int(seed),
            )
        if go_train:
            labs.run_job(
                fraud.train, ctx, "Training", "Trained: the new run is in **Results** and **Experiments**.", model=model
            )


# -- score one transaction ----------------------------------------------------------
def _default_time(runs: list[dict]) -> datetime:
    """Just after the latest run's test period, so the customer's history feeds the windows."""
    for r in runs:
        p = r["params"]
        try:
            start = datetime.fromisoformat(p["train_start"])
            days = sum(int(p.get(k, 7)) for k in ("train_days", "delay_days", "test_days"))
        except (KeyError, ValueError):
            continue
        return start + timedelta(days=days, hours=2, minutes=14)
    return datetime(2025, 3, 1, 2, 14)


with tab_score:
    scorer_mod, why_s = labs.module("fraud", "load_scorer")
    if scorer_mod is None:
        labs.missing_notice("fraud", why_s)
    elif not ctx.can("fraud.score"):
        st.error("Access refused: you may not score transactions in this bank.")
    else:
        schema, _ = labs.submodule("usecases.fraud.schema")
        feats, _ = labs.submodule("usecases.fraud.features")
        channels = list(getattr(schema, "CHANNELS", ("card_present", "card_not_present", "fps")))
        categories = list(getattr(feats, "CATEGORY_VOCAB", ("general",)))
        when = _default_time(data.runs(actor, bank, "fraud"))
        st.caption(
            "One transaction through the bank's streaming scorer: its customer, terminal, device and payee "
            "windows are warmed on the bank's history, and the top reasons come with the score."
        )
        with st.form("score_txn"):
            c1, c2, c3, c4 = st.columns(4)
            customer = c1.number_input("Customer id", 0, 10_000_000, 42, key="txn_customer")
            amount = c2.number_input("Amount (HKD)", 0.01, 10_000_000.0, 18_500.0, key="txn_amount")
            channel = c3.selectbox(
                "Channel", channels, index=channels.index("fps") if "fps" in channels else 0, key="txn_channel"
            )
            category = c4.selectbox(
                "Merchant category",
                categories,
                index=categories.index("transfer") if "transfer" in categories else 0,
                key="txn_cat",
            )
            c5, c6, c7, c8 = st.columns(4)
            terminal = c5.number_input("Terminal id (-1: none)", -1, 10_000_000, -1, key="txn_terminal")
            device = c6.number_input(
                "Device id",
                -1,
                10_000_000,
                999_999,
                key="txn_device",
                help="A device the customer has never used is a takeover signal",
            )
            payee = c7.number_input("Payee id (-1: none)", -1, 10_000_000, 777_777, key="txn_payee")
            day = c8.date_input("Date", when.date(), key="txn_date")
            clock = c8.time_input("Time", when.time(), key="txn_time")
            go_score = st.form_submit_button("Score", type="primary")
        if go_score:
            txn = {
                "timestamp": datetime.combine(day, clock).isoformat(),
                "customer_id": int(customer),
                "amount": float(amount),
                "channel": channel,
                "merchant_category": category,
            }
            for key, value in (("terminal_id", terminal), ("device_id", device), ("payee_id", payee)):
                if value >= 0:
                    txn[key] = int(value)
            try:
                scorer = _scorer(scorer_mod, ctx)
                result = labs.as_dict(scorer.score(txn))
            except auth.SandboxError as err:
                auth.show_error(err)
            else:
                m1, m2, m3 = st.columns(3)
                m1.metric("Fraud score", f"{result['score']:.4f}")
                m2.metric("Alert threshold", f"{result.get('threshold', 0):.4f}")
                m3.metric("Decision", "ALERT" if result.get("alert") else "pass")
                st.caption(f"Scored by the champion, v{scorer.sidecar.get('model_version', '?')}.")
                if result.get("reasons"):
                    st.markdown("**Top reasons**")
                    for r in result["reasons"]:
                        st.markdown(f"- {r}")
                with st.expander("Transaction and result"):
                    st.json({"transaction": txn, "result": result})
