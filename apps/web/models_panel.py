"""The model lifecycle in the app (sandbox/lifecycle.py), views only: what the ledger holds, and its transitions.

- `scientist_panel(ctx)` (Experiments page): the bank's versions per use case with their gates and review; submit
  a candidate that passed its gates, promote an approved one, roll back to the previous champion.
- `review_queue(ctx)` (Review and sign-off page): the bank's submitted versions, each with its gate results and
  the bank's note, and the decision form (no decision preselected, a comment required).

Every action goes through `sandbox.lifecycle`, which checks the actor's rights at the workspace door; a refusal
is shown as the one-line error it is.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sandbox import lifecycle
from sandbox.errors import InvalidInput, SandboxError

USECASES = lifecycle.LIFECYCLE_USECASES
STAGE_LABELS = {
    "candidate": "Candidate",
    "submitted": "Submitted for review",
    "approved": "Approved",
    "changes_requested": "Changes requested",
    "champion": "Champion",
    "previous": "Previous champion",
}


def versions_frame(listed: list[lifecycle.ModelVersion]) -> pd.DataFrame:
    rows = []
    for v in reversed(listed):  # newest first
        failed = [g.name for g in v.gates if not g.passed]
        rows.append(
            {
                "version": v.version,
                "model": v.config.get("backend", ""),
                "stage": STAGE_LABELS.get(v.stage, v.stage),
                "gates": "passed" if v.gates_passed else "failed: " + ", ".join(failed),
                "review": f"{v.review['decision']} by {v.review['by']}" if v.review else "",
                "run": v.run_id[:8],
                "registered": v.created_at,
                "by": v.by,
            }
        )
    cols = ["version", "model", "stage", "gates", "review", "run", "registered", "by"]
    if not any(v.config for v in listed):  # fraud and risk: the version is the model
        cols.remove("model")
    return pd.DataFrame(rows, columns=cols)


def gates_frame(mv: lifecycle.ModelVersion) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "gate": g.name,
                "rule": f"{g.metric} {g.op} {g.threshold:g}",
                "value": "" if g.value is None else f"{g.value:.4g}",
                "result": "pass" if g.passed else "FAIL",
                "why": g.why,
            }
            for g in mv.gates
        ],
        columns=["gate", "rule", "value", "result", "why"],
    )


def _do(key: str, fn, *args, **kw) -> None:
    """A button's callback: run the transition, keep its outcome to show at the top of the panel."""
    try:
        mv = fn(*args, **kw)
    except SandboxError as err:
        st.session_state[key] = ("error", str(err))
        return
    st.session_state[key] = ("success", f"{mv.usecase} v{mv.version}: {STAGE_LABELS.get(mv.stage, mv.stage)}")


def _outcome(key: str) -> None:
    got = st.session_state.pop(key, None)
    if got:
        (st.success if got[0] == "success" else st.error)(got[1])


def scientist_panel(ctx) -> None:
    """The bank's versions and the scientist's transitions (submit, promote, roll back)."""
    st.subheader("Models: candidates, review, champion")
    st.caption(
        "A training registers a candidate and checks its gates. Submit one that passed; once an HKMA "
        "reviewer approves it, promote it to champion: scoring uses the champion."
    )
    _outcome("mdl_outcome")
    for usecase, tab in zip(USECASES, st.tabs([u.capitalize() for u in USECASES])):
        with tab:
            listed = lifecycle.versions(ctx, usecase)
            if not listed:
                st.info(
                    f"No {usecase} version yet: "
                    + (
                        "evaluate the assistant on the Chat page."
                        if usecase == "chat"
                        else f"train one in the {usecase.capitalize()} lab."
                    )
                )
                continue
            champ = next((v for v in listed if v.stage == "champion"), None)
            st.markdown(
                f"**Champion:** v{champ.version} (run `{champ.run_id[:8]}`)"
                if champ
                else "**No champion yet**: scoring names the version to promote."
            )
            st.dataframe(versions_frame(listed), hide_index=True, width="stretch")
            mv = lifecycle.resolve(
                ctx,
                usecase,
                st.selectbox("Version", [v.version for v in reversed(listed)], key=f"mdl_{usecase}_version"),
            )
            st.dataframe(gates_frame(mv), hide_index=True, width="stretch")
            if mv.review:
                st.markdown(
                    f"Reviewer **{mv.review['by']}** ({mv.review['decision']}, {mv.review['at']}): "
                    f"{mv.review['comment']}"
                )
            c1, c2, c3 = st.columns(3)
            if mv.stage in ("candidate", "changes_requested"):
                note = c1.text_input("Note for the reviewer", key=f"mdl_{usecase}_note")
                explain = c1.text_input("Why the fairness flags are acceptable (if any)", key=f"mdl_{usecase}_explain")
                c1.button(
                    "Submit for review",
                    key=f"mdl_{usecase}_submit",
                    disabled=not ctx.can("models.submit"),
                    on_click=_do,
                    args=("mdl_outcome", lifecycle.submit, ctx, usecase, mv.version),
                    kwargs={"comment": note or "", "explanation": explain or ""},
                )
            if mv.stage in ("approved", "previous"):
                c2.button(
                    "Promote to champion",
                    key=f"mdl_{usecase}_promote",
                    type="primary",
                    disabled=not ctx.can("models.promote"),
                    on_click=_do,
                    args=("mdl_outcome", lifecycle.promote, ctx, usecase, mv.version),
                )
            if champ is not None and any(v.stage == "previous" for v in listed):
                c3.button(
                    "Roll back to the previous champion",
                    key=f"mdl_{usecase}_rollback",
                    disabled=not ctx.can("models.promote"),
                    on_click=_do,
                    args=("mdl_outcome", lifecycle.rollback, ctx, usecase),
                )


def _decide(ctx, usecase: str, version: str) -> None:
    ss = st.session_state
    decision, comment = ss.get("mdlq_decision"), ss.get("mdlq_comment") or ""
    if decision is None:
        ss["mdlq_outcome"] = (
            "error",
            str(InvalidInput("decision", "no decision chosen", "choose Approved or Changes requested")),
        )
        return
    _do("mdlq_outcome", lifecycle.review, ctx, usecase, version, decision, comment)
    if ss["mdlq_outcome"][0] == "success":
        for key in ("mdlq_decision", "mdlq_comment"):
            ss.pop(key, None)


def review_queue(ctx) -> None:
    """The bank's versions submitted for review, and the decision form for one of them."""
    pending = [v for u in USECASES for v in lifecycle.versions(ctx, u) if v.stage == "submitted"]
    with st.expander(f"Model versions awaiting your decision: {len(pending)}", expanded=bool(pending)):
        _outcome("mdlq_outcome")
        if not pending:
            st.caption(
                "None in this bank. A bank submits a candidate that passed its gates with "
                "`sandbox models submit` or its Experiments page."
            )
            return
        labels = {f"{v.usecase} v{v.version} (run {v.run_id[:8]}, by {v.submitted_by})": v for v in pending}
        mv = labels[st.selectbox("Submitted version", list(labels), key="mdlq_pick")]
        st.dataframe(gates_frame(mv), hide_index=True, width="stretch")
        st.radio(
            "Decision",
            ["approved", "changes_requested"],
            index=None,
            horizontal=True,
            key="mdlq_decision",
            format_func=lambda d: STAGE_LABELS[d],
        )
        st.text_area("Comment (required)", key="mdlq_comment", max_chars=4000)
        st.button(
            "Record decision on the version",
            type="primary",
            key="mdlq_submit",
            on_click=_decide,
            args=(ctx, mv.usecase, mv.version),
        )
