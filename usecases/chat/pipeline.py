"""The pipeline of `ask`: screen the question, retrieve, screen the chunks, keep the passages in scope, generate,
check the grounding, screen the answer, disclose, trace.

In order: redact PII from the question and screen it for prompt injection; hybrid retrieval (FAISS + BM25, fused
by rank) in this bank's index only; drop retrieved chunks that carry injected instructions; keep only the
passages about the product, customer type and condition the question names (`scope`; none left: refuse, naming
what the documents do not cover); refuse when retrieval confidence is low; generate with the chosen backend;
check every sentence and number against the cited chunks (grounding); fall back to the extractive answer or
refuse; redact the answer; add the AI disclosure; record a trace in the audit trail and in MLflow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.compute import metered
from sandbox.errors import SandboxError

from . import guardrails
from . import index as _index
from .answer import REFUSAL, Passage, default_backend, make_backend
from .grounding import CITATION
from .grounding import check as check_grounding
from .library import _bank_snapshot
from .results import Answer
from .scope import check as check_scope
from .versions import Choice, choose
from .zh import has_cjk
from .zh_answer import REFUSAL_ZH

INJECTION_REPLY = (
    "I can't follow instructions that try to change how I work. Ask a question about the bank's policy documents."
)
# Top chunk cosine below this: the index holds nothing on the subject; refuse before generating. Kept low
# because a whole chunk scores lower than its one relevant sentence; the backends' own thresholds and the
# grounding check decide the rest.
REFUSE_BELOW = 0.15
INJECTION_REPLY_ZH = "我不能執行試圖改變我運作方式的指示。請就本行的政策文件提問。"
WARM_QUESTION = "How long does a cardholder have to dispute a card transaction?"


@metered("chat", "ask")
def ask(
    ctx,
    question: str,
    backend: str | None = None,
    k: int = 5,
    filters: dict | None = None,
    *,
    mode: str = "hybrid",
    trace: bool = True,
) -> Answer:
    """Answer a question from this bank's documents, cited, grounded and guarded, with the champion's backend
    unless one is named (usecases/chat/versions.py); record the trace."""
    ctx.require("chat.ask")
    choice = choose(ctx, backend)
    return _ask(ctx, _bank_snapshot(ctx), question, choice.backend, k, filters, mode, trace, choice=choice)


def warm(ctx) -> None:
    """Load what a bank's first question would otherwise wait for (about 4 s here: the embedding model, the bank's
    index, the scorer's kernels, MLflow's tracing), recording nothing. The app calls it when the Chat page opens."""
    ctx.require("chat.ask")
    _ask(ctx, _bank_snapshot(ctx), WARM_QUESTION, choose(ctx, None).backend, 5, None, "hybrid", trace=False)
    from .trace import prepare

    prepare(ctx)


@dataclass
class _Draft:
    """An answer in the making: what each stage found and decided (the Answer and the trace are made from it)."""

    verdicts: dict[str, Any]  # the guardrails' verdicts, as the Answer reports them
    timings: dict[str, tuple[int, int]] = field(default_factory=dict)  # stage -> (start, end) ns, for the trace
    hits: list = field(default_factory=list)  # retrieved chunks
    passages: list[Passage] = field(default_factory=list)  # the usable ones, numbered as cited
    confidence: float = 0.0
    body: str = REFUSAL
    grounded: bool = False
    fallback: str | None = None
    prompt_hash: str = ""
    reason: str = ""  # why it is refused
    scope_refusal: str = ""  # the refusal naming what the documents do not cover
    citations: list[dict] = field(default_factory=list)


def _ask(
    ctx,
    snap: _index.Snapshot,
    question: str,
    backend: str | None,
    k: int,
    filters: dict | None,
    mode: str,
    trace: bool,
    *,
    choice: Choice | None = None,
) -> Answer:
    from .embed import get_embedder

    t_start, t0 = time.time_ns(), time.perf_counter()
    q_rep = guardrails.check_question(question)  # validates (empty, oversized, binary), redacts, screens
    q_red = " ".join(q_rep.text.split())
    name = backend or default_backend()
    embedder = get_embedder()
    gen = make_backend(name, embedder)
    if snap.size and snap.manifest.get("embed_model_sha256") != embedder.sha256:
        raise SandboxError(
            f"the bank's index was built with {snap.manifest.get('embed_model_id')}, not {embedder.model_id}",
            "configure the same embedding model, or re-ingest the documents",
        )
    draft = _Draft(
        verdicts={
            "question": q_rep.to_dict(),
            "chunks_excluded": [],
            "chunks_redacted": 0,
            "grounding": {},
            "answer": {},
            "refusal_reason": "",
        }
    )
    if q_rep.blocked:
        draft.body = INJECTION_REPLY
        draft.reason = "the question reads as a prompt injection"
    elif not snap.size:
        draft.reason = "no documents in this bank's index"
    elif _retrieve(draft, snap, embedder, q_red, k, mode, filters):
        _generate(draft, gen, name, embedder, q_red)
    _screen_answer(draft)
    chinese = has_cjk(q_red)
    if chinese and not draft.grounded:  # a Chinese question is refused in Chinese (the English line kept after it)
        draft.body = f"{INJECTION_REPLY_ZH if draft.body == INJECTION_REPLY else REFUSAL_ZH} {draft.body}"
    text = guardrails.with_disclosure(draft.body, chinese=chinese)
    draft.timings["total"] = (t_start, time.time_ns())
    ans = Answer(
        question=q_red,
        answer=text,
        refused=not draft.grounded,
        citations=draft.citations,
        guardrails=draft.verdicts,
        backend=name,
        model_id=gen.model_id,
        latency_ms=round((time.perf_counter() - t0) * 1000, 2),
        confidence=round(draft.confidence, 4),
        grounded=draft.grounded,
        fallback=draft.fallback,
        prompt_hash=draft.prompt_hash,
        model_version=choice.version if choice else "",
        model_label=choice.label if choice else "",
    )
    if trace:
        ans.trace_id = _record_trace(ctx, snap, draft, ans, name, gen.model_id, mode, k, filters)
    return ans


def _record_trace(
    ctx, snap, draft: _Draft, ans: Answer, name: str, model_id: str, mode: str, k: int, filters: dict | None
) -> str:
    """The question's trace (retrieved chunks, verdicts, timings) in the bank's MLflow experiment."""
    from .trace import record

    chunks = [
        {
            "chunk_id": h.chunk_id,
            "document": h.document,
            "score": round(h.score, 6),
            "similarity": round(h.dense_score, 4),
        }
        for h in draft.hits
    ]
    return record(
        ctx,
        {
            "question": ans.question,
            "backend": name,
            "model_id": model_id,
            "model_version": ans.model_version,
            "prompt_hash": draft.prompt_hash,
            "mode": mode,
            "k": k,
            "filters": filters or {},
            "index_version": snap.version,
            "chunks": chunks,
            "answer": draft.body,
            "refused": ans.refused,
            "fallback": draft.fallback,
            "citations": draft.citations,
            "guardrails": draft.verdicts,
            "latency_ms": ans.latency_ms,
        },
        draft.timings,
    )


def _retrieve(
    draft: _Draft, snap: _index.Snapshot, embedder, question: str, k: int, mode: str, filters: dict | None
) -> bool:
    """Retrieve, leave out chunks with injected instructions, keep the passages in the question's scope; True when
    they are worth generating from (else `draft.reason` says why not)."""
    from .retrieve import search

    ts = time.time_ns()
    draft.hits = search(snap, embedder, question, k=k, mode=mode, filters=filters)
    draft.timings["retrieve"] = (ts, time.time_ns())
    passages: list[Passage] = []
    for h in draft.hits:
        c = guardrails.check_chunk(h.text)
        if c.blocked:  # injected instructions never reach a prompt
            draft.verdicts["chunks_excluded"].append({"chunk_id": h.chunk_id, **c.to_dict()})
            continue
        draft.verdicts["chunks_redacted"] += bool(c.pii)
        passages.append(
            Passage(
                n=len(passages) + 1,
                text=c.text,
                chunk_id=h.chunk_id,
                document=h.document,
                score=h.score,
                dense_score=h.dense_score,
            )
        )
    # passages about another product, customer type or condition than the question names never answer it
    sc = check_scope(snap, question, passages)
    draft.verdicts["scope"] = sc.to_dict()
    if passages and sc.missing is not None and not sc.covered_elsewhere:
        draft.scope_refusal = f"{REFUSAL} They do not cover {sc.missing.display()}."
    draft.passages = [replace(p, n=i) for i, p in enumerate(sc.kept, start=1)]
    draft.confidence = max((p.dense_score for p in draft.passages), default=0.0)
    if sc.missing is not None:
        draft.reason = f"no passage is about {sc.missing.phrase!r}"
    elif not draft.passages:
        draft.reason = "no usable passages" + (
            " (passages with injected instructions were left out)" if draft.hits else ""
        )
    elif draft.confidence < REFUSE_BELOW:
        draft.reason = f"low retrieval confidence ({draft.confidence:.2f} < {REFUSE_BELOW})"
    else:
        return True
    return False


def _generate(draft: _Draft, gen, name: str, embedder, question: str) -> None:
    """Generate from the passages, then keep the answer only if grounded (else the extractive one, else refuse)."""
    ts = time.time_ns()
    out = gen.generate(question, draft.passages)
    draft.timings["generate"] = (ts, time.time_ns())
    draft.prompt_hash = out.prompt_hash
    ts = time.time_ns()
    draft.body, draft.grounded, draft.fallback, draft.verdicts["grounding"] = _grounded(
        out.text, draft.passages, name, embedder, question
    )
    draft.timings["grounding"] = (ts, time.time_ns())
    if not draft.grounded:
        draft.reason = "the passages do not answer the question" if draft.fallback is None else "no grounded answer"


def _screen_answer(draft: _Draft) -> None:
    """Number the citations of a grounded answer and screen it (redaction, injection); a refusal gets its text."""
    if draft.grounded:
        draft.body, draft.citations = _renumber(draft.body, draft.passages)
        a_rep = guardrails.check_answer(draft.body)
        draft.verdicts["answer"] = a_rep.to_dict()
        if a_rep.blocked:  # the answer itself reads as an injection: the generator was steered
            draft.grounded, draft.citations, draft.body = False, [], REFUSAL
            draft.reason = "the answer reads as a prompt injection"
        else:
            draft.body = a_rep.text
    refused = not draft.grounded
    if refused and draft.body != INJECTION_REPLY:
        draft.body = draft.scope_refusal or REFUSAL
    draft.verdicts["refusal_reason"] = draft.reason if refused else ""


def _renumber(text: str, passages: list[Passage]) -> tuple[str, list[dict]]:
    """Renumber citations 1..m in order of first use; list them with document, chunk id and scores."""
    order: list[int] = []
    for m in CITATION.findall(text):
        if int(m) not in order:
            order.append(int(m))
    by_n = {p.n: p for p in passages}
    new = {old: i for i, old in enumerate(order, start=1)}
    text = CITATION.sub(lambda m: f"[{new.get(int(m.group(1)), m.group(1))}]", text)
    cites = [
        {
            "n": new[o],
            "document": by_n[o].document,
            "chunk_id": by_n[o].chunk_id,
            "score": round(by_n[o].score, 6),
            "similarity": round(by_n[o].dense_score, 4),
        }
        for o in order
        if o in by_n
    ]
    return text, cites


def _grounded(
    body: str, passages: list[Passage], name: str, embedder, question: str
) -> tuple[str, bool, str | None, dict]:
    """(answer, grounded, fallback, verdict): keep a grounded answer; else the extractive one if grounded; else refuse."""
    texts = {p.n: p.text for p in passages}
    if body == REFUSAL:
        return body, False, None, {"supported": None, "reason": "the backend declined"}
    g = check_grounding(body, texts)
    verdict = g.to_dict()
    if g.supported:
        return body, True, None, verdict
    if name != "extractive":
        ex = make_backend("extractive", embedder).generate(question, passages)
        if ex.text != REFUSAL:
            g2 = check_grounding(ex.text, texts)
            verdict["fallback"] = g2.to_dict()
            if g2.supported:
                return ex.text, True, "extractive", verdict
    return REFUSAL, False, "refusal", verdict
