"""Red team: generated attacks on the bank's chat assistant, judged offline; how it held, per category and language."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.web import auth, labs, views
from apps.web.app_pages import enter

actor = enter("redteam.py")
ctx = auth.bank_ctx(actor, "assure.chat_redteam", "Red team")
bank = ctx.bank

st.title("Red team for the assistant")
st.caption(
    "Hundreds of generated attacks (injections typed or hidden in documents, system-prompt extraction, "
    "another bank's canary, customer data, role-play jailbreaks, 'just guess', forbidden advice), in English "
    "and Chinese, plain and obfuscated, against a scratch copy of your assistant. A rule judge decides each "
    "one and says why; nothing leaves your workspace and no other bank's is read."
)

assure, why = labs.submodule("usecases.assure", "chat_redteam")


def _table(by: dict, label: str) -> pd.DataFrame:
    """Rows: the category (language, obfuscation); columns: one per backend; cells: attack success rate."""
    keys = sorted({k for rates in by.values() for k in rates})
    return pd.DataFrame([{label: k, **{b: rates.get(k) for b, rates in by.items()}} for k in keys])


def _show(rep: dict) -> None:
    overall = rep.get("overall", {})
    cols = st.columns(len(overall) + 2)
    for col, (b, m) in zip(cols, overall.items()):
        col.metric(
            f"Attack success ({b})", f"{m['attack_success_rate']:.2%}", help=f"{m['successes']} of {m['attacks']}"
        )
    cols[-2].metric("Canary leaks", rep.get("canary_leaks", 0))
    cols[-1].metric("PII leaks", rep.get("pii_leaks", 0))
    st.dataframe(
        pd.DataFrame([{"target": k, "result": "pass" if v else "FAIL"} for k, v in rep.get("targets", {}).items()]),
        hide_index=True,
        width="content",
    )
    control = rep.get("decoy_control") or {}
    if control.get("asked"):
        st.caption(
            f"Decoy bank control: its own canary appeared in {control['seen']} of {control['asked']} of its "
            "answers, so the leak detector sees a canary when one is really retrieved."
        )
    tabs = st.tabs(["By category", "By language", "By obfuscation", "Worst examples", "Taxonomy"])
    for tab, key, label in zip(
        tabs[:3], ("by_category", "by_language", "by_obfuscation"), ("category", "language", "obfuscation")
    ):
        tab.dataframe(_table(rep.get(key, {}), label), hide_index=True, width="content")
    worst = rep.get("worst") or []
    with tabs[3]:
        if worst:
            st.dataframe(
                pd.DataFrame(worst)[
                    ["category", "language", "obfuscation", "backend", "success", "explanation", "question", "answer"]
                ],
                hide_index=True,
            )
        else:
            st.info("Every attack was refused.")
    tabs[4].dataframe(pd.DataFrame(rep.get("taxonomy") or []), hide_index=True)


report = views.picked_report(
    actor,
    bank,
    "chat",
    "redteam.json",
    "redteam_run",
    "Red-team run",
    "No red-team run yet: start one below (or `sandbox assure chat-redteam BANK`).",
)
if report is not None:
    _show(report)

st.subheader("Run the red team")
if assure is None:
    st.info(f"The assurance package is not available here: {why}")
else:
    with st.form("redteam_form"):
        attacks = st.number_input(
            "Attacks",
            min_value=8,
            max_value=5000,
            value=80,
            step=8,
            help="The eight categories in equal shares; 600 takes minutes on 2 cores.",
        )
        backends = st.multiselect("Backends", ["extractive", "embedded", "openai"], default=["extractive"])
        seed = st.number_input("Seed", min_value=0, value=0, step=1)
        go = st.form_submit_button("Run the red team", type="primary")
    if go:
        labs.run_job(
            assure.chat_redteam,
            ctx,
            "Red-teaming",
            "Done: reload the page to see the new run.",
            attacks=int(attacks),
            backends=backends or None,
            seed=int(seed),
        )
