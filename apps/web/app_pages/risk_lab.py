"""Risk lab: scorecard table, Gini/KS/calibration, an applicant explainer with reason codes,
fairness with flags and PSI by vintage, from the latest (or a chosen) risk run."""

from __future__ import annotations

import json
import math

import pandas as pd
import streamlit as st

from apps.web import (
    auth,
    charts,
    data,
    figures,
    labs,
    risk_import_view,  # noqa: E402  (a bank's own data: upload form, recommendation, plain notes)
    views,
)
from apps.web.app_pages import enter
from usecases.reports import report_path

actor = enter("risk_lab.py")
ctx = auth.bank_ctx(actor, "risk.train", "Risk lab")
bank = ctx.bank

st.title("Risk lab")
st.caption(
    "Credit applicants with a known ground truth: a binned logistic scorecard against a monotone XGBoost, "
    "reason codes for every decision, fairness and stability checks."
)

risk, why = labs.module("risk")


model_metrics = figures.risk_model_metrics


tab_results, tab_explain, tab_fair, tab_train = st.tabs(
    ["Models", "Explain an applicant", "Fairness and stability", "Simulate and train"]
)

runs = [r for r in data.runs(actor, bank, "risk") if r["status"] == "FINISHED"]
run = None
if runs:
    run = views.pick_run(runs, "risk_run", "Risk run", sidebar=True)
arts = data.artifacts(actor, bank, run["run_id"]) if run else []

with tab_results:
    if run is None:
        st.info("No risk run yet: train one in **Simulate and train**.")
    else:
        rid = run["run_id"]
        views.review_box(run)
        risk_import_view.recommendation(data.report(actor, bank, rid, "metrics.json"))
        table = model_metrics(run["metrics"])
        if not table.empty:
            st.dataframe(table, hide_index=True, width="stretch")
        else:
            st.dataframe(pd.DataFrame(sorted(run["metrics"].items()), columns=["metric", "value"]), hide_index=True)
        figures.show(figures.risk(lambda name: data.report(actor, bank, rid, name), arts, run["metrics"]), "risk")
        st.subheader("Scorecard")
        sc_name = p if (p := report_path("risk", "scorecard")) in arts else None  # the lab's own report names
        sc = charts.to_frame(data.report(actor, bank, rid, sc_name), "bin") if sc_name else pd.DataFrame()
        if sc.empty and risk is not None and callable(getattr(risk, "scorecard_table", None)):
            try:
                sc = labs.as_dict(risk.scorecard_table(ctx))
                sc = sc if isinstance(sc, pd.DataFrame) else charts.to_frame(sc, "bin")
            except auth.SandboxError as err:
                auth.show_error(err)
        if sc.empty:
            st.caption("No scorecard table for this run.")
        else:
            if "bin" in sc.columns:  # runs trained before the label fix stored OptBinning's array reprs
                from usecases.risk.scorecard import clean_label

                sc = sc.assign(bin=sc["bin"].astype(str).map(clean_label))
            st.dataframe(sc, hide_index=True, width="stretch", height=420)

with tab_explain:
    mod, why_e = labs.module("risk", "explain")
    if mod is None:
        labs.missing_notice("risk", why_e)
    elif not ctx.can("risk.explain"):
        st.error("Access refused: you may not explain applicant decisions in this bank.")
    else:
        schema, _ = labs.submodule("usecases.risk.schema")
        applicant: dict = {}
        imported = risk_import_view.imported_schema(ctx)  # a model trained on the bank's own data: its own fields
        if imported is not None:
            applicant = risk_import_view.applicant_form(imported)
        elif schema is not None and getattr(schema, "FEATURES", None):
            st.caption("An applicant as the bank would see it; blank numbers mean 'not declared'.")
            cols = st.columns(3)
            defaults = {
                "monthly_income": 28000.0,
                "employment_tenure_years": 2.0,
                "debt_servicing_ratio": 0.62,
                "credit_utilisation": 0.85,
                "dpd_30_count": 2,
                "dpd_60_count": 1,
                "dpd_90_count": 0,
                "bureau_enquiries_6m": 5,
                "loan_to_value": 0.0,
            }
            fields = tuple(schema.FEATURES) + tuple(
                f for f in (getattr(schema, "AGE", None), getattr(schema, "SEX", None)) if f
            )
            defaults.update({"age": 35.0})
            for i, f in enumerate(fields):
                col = cols[i % 3]
                key = f"app_{f.name}"
                label = f"{f.label}" + (f" ({f.unit})" if f.unit else "")
                if f.categories:
                    opts = list(f.categories)
                    pre = {
                        "employment_type": "self_employed",
                        "housing": "private_rented",
                        "product": "personal_loan",
                        "bureau_grade": "G",
                    }.get(f.name, opts[0])
                    applicant[f.name] = col.selectbox(label, opts, index=opts.index(pre) if pre in opts else 0, key=key)
                else:
                    step = 1.0 if f.kind == "count" else (0.01 if (f.high or 0) <= 5 else 500.0)
                    lo = -1.0 if f.special else float(f.low or 0)
                    v = col.number_input(
                        label,
                        min_value=lo,
                        max_value=float(f.high or 1e9),
                        value=float(defaults.get(f.name, f.low or 0)),
                        step=step,
                        key=key,
                        help=f.describe(),
                    )
                    applicant[f.name] = int(v) if f.kind == "count" else v
            if applicant.get("product") != "mortgage":
                applicant.pop("loan_to_value", None)
        else:
            text = st.text_area("Applicant (JSON)", "{}", key="app_json")
            try:
                applicant = json.loads(text)
            except RecursionError:  # JSON nested a thousand deep: one line, not a traceback on the page
                st.error("applicant: the JSON is nested too deeply")
            except ValueError as err:
                st.error(f"applicant: not valid JSON ({err})")
        model = st.radio("Model", ["xgboost", "scorecard"], horizontal=True, key="explain_model")
        if st.button("Explain decision", type="primary", key="explain_btn"):
            try:
                out = mod.explain(ctx, applicant, model=model)
            except auth.SandboxError as err:
                auth.show_error(err)
            else:
                rows = [labs.as_dict(e) for e in (out if isinstance(out, list) else [out])]
                first = rows[0] if rows and isinstance(rows[0], dict) else {}
                c = st.columns(3)
                shown = [k for k in ("decision", "score", "probability") if k in first]
                for col, k in zip(c, shown):
                    v = first[k]
                    col.metric(
                        {"probability": "Probability of default"}.get(k, k.capitalize()),
                        f"{v:.3f}" if isinstance(v, float) and not math.isnan(v) else str(v),
                    )
                reasons = first.get("reasons") or []
                if reasons:
                    st.markdown("**Top adverse factors**")
                    for r in reasons:
                        text = (r.get("text") or r.get("reason") or json.dumps(r)) if isinstance(r, dict) else str(r)
                        st.markdown(f"- {text}")
                if first.get("factors"):
                    st.dataframe(pd.DataFrame(first["factors"]), hide_index=True, width="stretch")
                with st.expander("Full explanation"):
                    st.json(rows)

with tab_fair:
    if run is None:
        st.info("No risk run yet.")
    else:
        rid = run["run_id"]
        st.subheader("Fairness by sex and age band")
        risk_import_view.notes(
            data.report(actor, bank, rid, "fairness.json"), data.report(actor, bank, rid, "psi.json")
        )
        fair_name = p if (p := report_path("risk", "fairness")) in arts else None  # the lab's own report names
        fair, groups = (
            charts.fairness_frame(data.report(actor, bank, rid, fair_name)) if fair_name else (pd.DataFrame(), None)
        )
        if fair.empty:
            st.caption("No fairness report in this run.")
        else:
            flag_col = charts.pick(fair, "flag", "flagged", "breach", "breached")  # plain rows name it their way
            if flag_col:
                flagged = fair[fair[flag_col].astype(bool)]
                if len(flagged):
                    st.warning(
                        f"{len(flagged)} fairness check(s) breach their threshold: "
                        + ", ".join(
                            f"{r.get('model', '')} {r.get('attribute', '')} {r.get('breaches', '')}".strip()
                            for r in flagged.to_dict("records")
                        )
                    )
                else:
                    st.success("No fairness check breaches its threshold.")
                breach = fair[flag_col].astype(bool)
                shown = fair.assign(**{flag_col: breach.map({True: "BREACH", False: "ok"})})
                shown = shown.rename(columns=lambda c: str(c).replace("_", " "))
                st.dataframe(
                    shown.style.apply(
                        lambda r: ["background-color: #ffebe9" if breach.loc[r.name] else ""] * len(r), axis=1
                    ).format(precision=3),
                    hide_index=True,
                    width="stretch",
                )
            else:
                st.dataframe(fair, hide_index=True, width="stretch")
            if groups is not None and not groups.empty:
                with st.expander("Rates by group"):
                    st.dataframe(groups, hide_index=True, width="stretch")
        st.subheader("Population stability by vintage")
        psi_name = p if (p := report_path("risk", "psi")) in arts else None  # the lab's own report names
        psi = charts.psi_frame(data.report(actor, bank, rid, psi_name)) if psi_name else pd.DataFrame()
        if psi.empty:
            st.caption("No PSI report in this run.")
        else:
            feats = sorted(psi["feature"].unique())
            worst = psi.groupby("feature")["psi"].max().sort_values(ascending=False)
            default = [f for f in worst.index[:5]]
            scores = [f for f in feats if f.startswith("score")]
            default = scores[:1] + [f for f in default if f not in scores][: 5 - len(scores[:1])]
            chosen = st.multiselect("Features", feats, default=default, key="psi_feats")
            st.plotly_chart(charts.psi_figure(psi, chosen or default), key="psi_chart")
            flagged = worst[worst >= 0.10]
            if len(flagged):
                st.warning("PSI >= 0.10 (shifted): " + ", ".join(f"{f} ({v:.2f})" for f, v in flagged.items()))

with tab_train:
    if risk is None or not callable(getattr(risk, "train", None)):
        labs.missing_notice("risk", why or "usecases.risk has no train yet")
    else:
        c1, c2 = st.columns(2)
        with c1, st.form("risk_simulate"):
            st.markdown("**1. Simulate applicants**")
            applicants = st.number_input("Applicants", 1_000, 200_000, 20_000, step=1_000, key="risk_n")
            vintages = st.number_input("Vintages (months)", 3, 36, 12, key="risk_v")
            bias = st.slider("Injected bias", 0.0, 1.0, 0.0, key="risk_bias")
            drift = st.slider("Drift", 0.0, 1.0, 0.0, key="risk_drift")
            seed = st.number_input("Seed", 0, 2**31 - 1, 11, key="risk_seed")
            go_sim = st.form_submit_button("Simulate", type="primary")
        with c2, st.form("risk_train"):
            st.markdown("**2. Train scorecard and monotone XGBoost**")
            go_train = st.form_submit_button("Train", type="primary")
        if go_sim:
            labs.run_job(
                risk.simulate,
                ctx,
                "Simulating",
                "Simulated: train the models on it next.",
                applicants=int(applicants),
                vintages=int(vintages),
                bias=bias,
                drift=drift,
                seed=int(seed),
            )
        if go_train:
            labs.run_job(risk.train, ctx, "Training", "Trained: the new run is in **Models** and **Experiments**.")
        if ctx.can("risk.simulate"):
            risk_import_view.import_form(ctx)
