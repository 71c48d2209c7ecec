"""Regulator-held test suites in the app: a reviewer runs a suite on a bank's champion (cohort console); a bank's
page shows its own results and the optimism gap. Views only: the work is `usecases.assure`'s."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.web import auth, data


def _show(results: list[dict]) -> None:
    """One table row per headline metric: the suite's figure, the bank's own test figure, the gap."""
    rows = [
        {
            "suite": r["suite"],
            "usecase": r["usecase"],
            "version": r["model_version"],
            "gates": "pass" if r["passed"] else "FAIL",
            "metric": k,
            "suite figure": r["metrics"].get(k),
            "bank's test figure": own,
            "gap (suite - bank)": (r.get("gaps") or {}).get(f"{k}_gap"),
        }
        for r in results
        for k, own in (r.get("bank_figures") or {}).items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def reviewer_section(actor) -> None:
    """The suites the reviewers hold, and a form to run one on a bank's champion (under the platform identity)."""
    from usecases import assure

    st.subheader("Regulator-held test suites")
    st.caption(
        "Data the reviewers hold and the banks never read. A run scores the bank's champion on it under the "
        "platform identity: you see aggregates and the gap to the bank's own test figures, never its rows or "
        "model; the bank sees its own result, never the suite's rows."
    )
    store = auth.store()
    try:
        held = assure.list_suites(store, actor)
    except auth.SandboxError as err:
        st.error(str(err))
        return
    if not held:
        st.info("No suite yet: `sandbox assure suite create NAME --usecase fraud|risk|chat`.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": s.name,
                    "usecase": s.usecase,
                    "rows": s.rows,
                    "by": s.by,
                    "created": s.created,
                    "what": s.description,
                }
                for s in held
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    with st.form("suite_run_form"):
        suite = st.selectbox("Suite", held, format_func=lambda s: f"{s.name} ({s.usecase})")
        bank = st.selectbox("Bank", sorted(store.banks()), format_func=data.bank_name)
        go = st.form_submit_button("Run the suite on the bank's champion", type="primary")
    if go:
        try:
            with st.spinner(f"Scoring {data.bank_name(bank)}'s {suite.usecase} champion on {suite.name} ..."):
                result = assure.run_suite(store, actor, bank, suite.usecase, suite.name)
        except auth.SandboxError as err:
            st.error(str(err))
            return
        st.success(f"{'Passed' if result.passed else 'FAILED'} the bank's gates on {suite.name} (run {result.run_id}).")
        _show([result.to_dict() | {"model_version": result.model_version}])


def bank_section(ctx) -> None:
    """The bank's own suite results (its ledger's), with the gap; nothing of the suite's rows."""
    from usecases import assure

    st.subheader("Regulator-held test suites")
    try:
        results = assure.suite_results(ctx)
    except auth.SandboxError as err:
        st.error(str(err))
        return
    if not results:
        st.info("No regulator-held suite has been run on your champions yet.")
        return
    st.caption(
        "HKMA reviewers scored your champion on data they hold: their figure beside your own test figure. "
        "A negative gap means your own figure was optimistic."
    )
    _show(results)
