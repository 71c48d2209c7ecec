"""Chat: ask the bank's policy assistant (citations, guardrail verdicts), upload documents, see the evaluation."""

from __future__ import annotations

import logging
import re
import threading

import pandas as pd
import streamlit as st

from apps.web import auth, charts, data, labs, tables, verdicts, views
from apps.web.app_pages import enter
from apps.web.verdicts import highlight_passage
from sandbox import atomic

actor = enter("chat.py")
ctx = auth.bank_ctx(actor, "chat.ask", "Chat")
bank = ctx.bank

st.title("Policy assistant")
st.caption(
    "Answers come only from your bank's own documents, with the passages they rest on; every sentence and "
    "number is checked against them, and the assistant says so when the documents do not."
)

chat, why = labs.module("chat", "ask", "ingest", "documents")


@st.cache_resource(show_spinner=False, max_entries=256)
def _warming(home: str, bank: str) -> threading.Thread:
    """Once per server process and bank: load the model and the index while the user types the first question."""

    def work() -> None:
        try:
            chat.warm(ctx)
        except Exception as err:  # noqa: BLE001 - a failed warm-up only means the first question loads it instead
            logging.getLogger(__name__).warning("chat warm-up for %s failed: %s", bank, err)

    thread = threading.Thread(target=work, name=f"chat-warm-{bank}", daemon=True)
    thread.start()
    return thread


if chat is not None and callable(getattr(chat, "warm", None)):
    _warming(str(ctx.store.home), bank)


def _passages(turn: dict) -> dict[str, str]:
    """The cited passages' text, as the assistant saw it (PII redacted), looked up in this bank's index once per
    answer; a scientist's own documents, so only on her bank's page (reviewers see the redacted answer only)."""
    if "passages" not in turn:
        try:
            from usecases.chat.passages import passage_texts

            turn["passages"] = passage_texts(ctx, [c["chunk_id"] for c in turn.get("citations") or []])
        except auth.SandboxError:
            turn["passages"] = {}
    return turn["passages"]


_SENTENCE_END = r"(?<=[.!?])\s+|(?<=[。！？])\s*"  # Chinese sentences end at 。！？ with no space after


def _highlight(passage: str, answer: str, n: int) -> str:
    """The passage as a quote, its own Markdown shown as text (a '## 4.' heading in a policy is not a heading
    here), with the sentence that shares most words with the answer's sentences citing [n] marked (within its line:
    a mark across a paragraph break does not render)."""
    return highlight_passage(passage, " ".join(s for s in re.split(_SENTENCE_END, answer) if f"[{n}]" in s))


HISTORY = f"chat_history::{bank}"
INGESTED = f"chat_ingested::{bank}"  # the last ingest's summary, shown after the rerun that lists the new documents
tab_ask, tab_docs, tab_eval = st.tabs(["Ask", "Documents", "Evaluation"])

with tab_eval:
    with_eval = data.runs_with(actor, bank, "chat", "reports/eval.json")
    if not with_eval:
        st.info("No evaluation yet: run one below (or `sandbox chat eval BANK`).")
    else:
        run = views.pick_run(with_eval, "eval_run", "Evaluation run")
        views.review_box(run)
        views.threshold_metrics(run)
        report = data.report(actor, bank, run["run_id"], "eval.json")
        if isinstance(report, dict):
            top = charts.scalars(report)
            if top:
                st.dataframe(pd.DataFrame(sorted(top.items()), columns=["metric", "value"]), hide_index=True)
            for key, value in report.items():
                df = charts.to_frame(value, "name")
                if isinstance(value, (dict, list)) and not df.empty:
                    st.markdown(f"**{key.replace('_', ' ').capitalize()}**")
                    # backends: a row per measure in words, a column per backend (whole at 1440 px)
                    if key == "backends" and isinstance(value, list):
                        df = tables.backends(value)
                        cfg = tables.backend_columns(df)
                        st.dataframe(df, hide_index=True, width="stretch", height="content", column_config=cfg)
                    else:
                        cfg = tables.retrieval_columns(df) if key == "retrieval" else None
                        st.dataframe(df, hide_index=True, width="stretch", column_config=cfg)
        else:
            st.json(report)
    if chat is not None and callable(getattr(chat, "evaluate", None)) and ctx.can("chat.eval"):
        if st.button("Run the evaluation now", key="eval_btn"):
            labs.run_job(chat.evaluate, ctx, "Evaluating", "Evaluated: reload the page to see the new run.")

if chat is None:
    with tab_ask:
        labs.missing_notice("chat", why)
    with tab_docs:
        labs.missing_notice("chat", why)
    st.stop()

with tab_docs:
    if INGESTED in st.session_state:
        done, rejected = st.session_state.pop(INGESTED)
        st.success(done)
        for line in rejected:
            st.warning(line)
    try:
        docs = chat.documents(ctx)
    except auth.SandboxError as err:
        docs = []
        auth.show_error(err)
    if docs:
        st.dataframe(pd.DataFrame(docs), hide_index=True, width="stretch")
    else:
        st.info("No documents indexed yet: upload your policies below.")
    if ctx.can("chat.ingest"):
        suffixes = [s.lstrip(".") for s in getattr(chat, "SUFFIXES", ())] or ["txt", "md", "pdf", "docx", "html"]
        files = st.file_uploader("Upload policy documents", type=suffixes, accept_multiple_files=True, key="uploads")
        if files and st.button("Ingest", type="primary", key="ingest_btn"):
            paths = []
            for f in files:
                name = re.sub(r"[^A-Za-z0-9._-]+", "_", f.name).lstrip(".") or "upload"
                target = ctx.path("chat", "uploads", name, create=True)
                atomic.write_bytes(target, f.getvalue())
                paths.append(target)
            try:
                rep = labs.as_dict(chat.ingest(ctx, paths, progress=labs.progress_bar("Ingesting")))
            except auth.SandboxError as err:
                auth.show_error(err)
            else:
                data.refresh_runs()
                chunks = rep.get("total_chunks")
                st.session_state[INGESTED] = (
                    f"Added {len(rep.get('added', []))}, skipped {len(rep.get('skipped', []))} duplicates, "
                    f"rejected {len(rep.get('rejected', []))}; the index holds {chunks} chunk{'' if chunks == 1 else 's'}.",
                    [f"{r.get('name')}: {r.get('reason')}" for r in rep.get("rejected", [])],
                )
                st.rerun()  # redraw the document list with the new documents

with tab_ask:
    history = st.session_state.setdefault(HISTORY, [])
    for turn in history:
        with st.chat_message("user"):
            st.markdown(turn["question"])
        with st.chat_message("assistant"):
            if turn.get("error"):
                st.error(turn["error"])
                continue
            st.markdown(turn["answer"])
            model = turn.get("model_label") or f"backend {turn.get('backend')}"
            meta = f"{model} · {turn.get('latency_ms', 0):.0f} ms"
            if turn.get("refused"):
                meta = "refused · " + meta
            st.caption(meta)
            cites = turn.get("citations") or []
            with st.expander(f"Passages cited ({len(cites)})", expanded=bool(cites)):
                if not cites:
                    st.write("No passages cited.")
                for c in cites:
                    st.markdown(
                        f"**[{c['n']}] {c['document']}** · chunk `{c['chunk_id']}` · similarity "
                        f"{c.get('similarity', 0):.2f}"
                    )
                    passage = _passages(turn).get(c["chunk_id"])
                    if passage:
                        st.markdown(_highlight(passage, turn["answer"], c["n"]))
            checks = verdicts.lines(turn.get("guardrails") or {})
            with st.expander(
                "Guardrail checks" + ("" if all(ok for ok, _ in checks) else " (one stopped or changed the answer)")
            ):
                for ok, line in checks:
                    st.markdown(f"{':material/check_circle:' if ok else ':material/error:'} {line}")
                with st.expander("Raw verdicts (JSON)"):
                    st.json(turn.get("guardrails") or {}, expanded=False)
    question = st.chat_input(
        "Ask about your bank's policies in English or Chinese, e.g. 'How long does a cardholder "
        "have to dispute a charge?' or '持卡人最遲要在結單日後多少日內提出交易爭議？'",
        key="chat_q",
    )
    if question:
        try:
            answer = labs.as_dict(chat.ask(ctx, question))
        except auth.SandboxError as err:
            history.append({"question": question, "error": str(err)})
        else:
            history.append(answer)
        st.rerun()
    if history and st.button("Clear conversation", key="chat_clear"):
        st.session_state[HISTORY] = []
        st.rerun()
