"""Chat assistant: a bank's policy documents, asked in plain words, answered with citations it can check.

Public API (context first; the CLI, the Streamlit pages and the tests call only these):

    ingest(ctx, paths, progress=None) -> IngestReport
    documents(ctx) -> list[dict]
    delete_document(ctx, doc_id_or_name) -> dict
    write_policy_library(ctx, folder, seed=0) -> list[Path]   (the bank's synthetic policies, to ingest)
    ask(ctx, question, backend=None, k=5, filters=None) -> Answer
    evaluate(ctx, backends=None, progress=None) -> EvalReport
    retriever(ctx, k=5, mode="hybrid") -> langchain_core BaseRetriever
    default_backend() -> str

Pipeline of `ask`: redact PII from the question and screen it for prompt
injection; hybrid retrieval (FAISS + BM25, fused by rank) in this bank's index
only; drop retrieved chunks that carry injected instructions; keep only the
passages about the product, customer type and condition the question names
(`scope`: no mortgage figure for a car-loan question; none left: refuse, naming
what the documents do not cover); refuse when retrieval confidence is low;
generate with the chosen backend; check every
sentence and number against the cited chunks (grounding); fall back to the
extractive answer or refuse; redact the answer; add the AI disclosure; record a
trace in the audit trail and in MLflow.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from sandbox import userfile
from sandbox.errors import InvalidInput, SandboxError

from . import index as _index
from .answer import BACKENDS, REFUSAL, Passage, default_backend, make_backend
from .extract import SUFFIXES, Extracted, extract_file, parsing
from .grounding import CITATION
from .grounding import check as check_grounding
from .pii import redact
from .scope import check as check_scope

__all__ = ["Answer", "EvalReport", "IngestReport", "ask", "default_backend", "delete_document", "documents",
           "evaluate", "ingest", "retriever", "warm", "BACKENDS", "REFUSAL"]

Progress = Callable[[float, str], None] | None
CHUNK_CHARS, CHUNK_OVERLAP = 700, 100
INJECTION_REPLY = ("I can't follow instructions that try to change how I work. "
                   "Ask a question about the bank's policy documents.")
MAX_FILES = 1000
# Top chunk cosine below this: the index holds nothing on the subject; refuse before generating. Kept low
# because a whole chunk scores lower than its one relevant sentence; the backends' own thresholds and the
# grounding check decide the rest.
REFUSE_BELOW = 0.15


# -- results ----------------------------------------------------------------
@dataclass
class IngestReport:
    added: list[dict] = field(default_factory=list)  # {doc_id, name, chunks}
    skipped: list[dict] = field(default_factory=list)  # duplicates: {name, duplicate_of}
    replaced: list[dict] = field(default_factory=list)  # same name, new content: {name, old_doc_id, doc_id}
    rejected: list[dict] = field(default_factory=list)  # {name, reason}
    chunks: int = 0  # chunks embedded in this call
    total_chunks: int = 0  # chunks in the index afterwards
    injection_flagged_chunks: int = 0
    seconds: float = 0.0
    version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    question: str  # as redacted
    answer: str
    refused: bool
    citations: list[dict]
    guardrails: dict
    backend: str
    model_id: str
    latency_ms: float
    confidence: float = 0.0
    grounded: bool = False
    fallback: str | None = None
    trace_id: str | None = None
    prompt_hash: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


from .evaluate import EvalReport  # noqa: E402  (evaluate imports Answer's module lazily)


# -- helpers ----------------------------------------------------------------
def _guardrails():
    try:
        from . import guardrails
    except ImportError as err:
        raise SandboxError("the chat guardrails module is missing", "install the full sandbox (usecases/chat/guardrails.py)") from err
    return guardrails


def _index_root(ctx) -> Path:
    return ctx.path("chat", "index", create=True)


def _bank_snapshot(ctx) -> _index.Snapshot:
    return _index.load(_index_root(ctx))


def _progress(progress: Progress, fraction: float, message: str) -> None:
    if progress is not None:
        progress(max(0.0, min(1.0, fraction)), message)


def _split(text: str) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP,
                                              separators=["\n\n", "\n", ". ", " ", ""], keep_separator="end")
    seen, out = set(), []
    for chunk in (c.strip() for c in splitter.split_text(text)):
        if chunk and chunk not in seen:
            seen.add(chunk)
            out.append(chunk)
    return out


def _refuse_type(name: str) -> str | None:
    suffix = Path(name).suffix
    if suffix.lower() in SUFFIXES:
        return None
    return f"unsupported type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}"


def _expand(ctx, paths: Iterable[str | Path], stack: contextlib.ExitStack) -> tuple[list, list[dict]]:
    """Open each path once, checked by its descriptor before anything in a folder is listed (another bank's
    folder is refused without a name of it printed); folders are walked by descriptor, links in them not followed.
    Returns open UserFiles and FolderEntries (opened when read), and the rejected names with reasons."""
    files: list = []
    rejected: list[dict] = []
    for raw in paths:
        shown = os.path.expanduser(os.fspath(raw))
        name = os.path.basename(shown.rstrip("/")) or shown
        if userfile.has_control(shown):  # a newline in a name printed fake lines in listings
            rejected.append({"name": userfile.printable(name), "reason": f"the file name {name!r} has control "
                             "characters (a newline, escape ...); rename the file without them"})
            continue
        try:
            opened = stack.enter_context(userfile.open_any(ctx, shown, "paths"))
        except userfile.FileMissing:
            rejected.append({"name": name, "reason": f"not found at {shown}"})
            continue
        except InvalidInput as err:  # not a regular file, no permission ...: that file is rejected (a refusal raises)
            rejected.append({"name": name, "reason": err.message.split(": ", 1)[-1]})
            continue
        if isinstance(opened, userfile.UserFolder):
            found, refused = opened.walk(_refuse_type, MAX_FILES)
            files += found
            rejected += refused
        else:
            files.append(opened)
        if len(files) > MAX_FILES:
            raise InvalidInput("paths", f"{len(files)} files in one ingest (limit {MAX_FILES})", "ingest the folder in parts")
    return files, rejected


def _extract(f) -> Extracted:
    """Text of an opened user file, or of a folder entry opened now by the folder's descriptor (links not followed)."""
    if isinstance(f, userfile.FolderEntry):
        with f.open() as src:
            return extract_file(src)
    with f:
        return extract_file(f)


# -- ingest / documents / delete ----------------------------------------------
def ingest(ctx, paths: Iterable[str | Path], progress: Progress = None) -> IngestReport:
    """Add documents to this bank's index: extract, chunk, embed, swap in a new index version atomically.

    Duplicates (same text) are skipped; a document with a known name but new text replaces the old one;
    files that cannot be read are rejected with the reason, and the rest still go in.
    """
    ctx.require("chat.ingest")
    return _ingest(ctx, _index_root(ctx), paths, progress, "chat.ingest")


def _ingest(ctx, root: Path, paths: Iterable[str | Path], progress: Progress, event: str) -> IngestReport:
    from .embed import get_embedder

    if isinstance(paths, (str, Path)):
        paths = [paths]
    t0 = time.perf_counter()
    report = IngestReport()
    extracted: list[Extracted] = []
    with contextlib.ExitStack() as stack:  # never another bank's files, even through a link or a repointed one
        files, report.rejected = _expand(ctx, paths, stack)
        if not files and not report.rejected:
            raise InvalidInput("paths", "no documents given", "pass files or folders of .txt, .md, .html, .docx or .pdf documents")
        _progress(progress, 0.01, f"reading {len(files)} file(s)")
        stack.enter_context(parsing())  # one document-reader process (time and memory limits) for this ingest
        for i, f in enumerate(files):
            try:
                extracted.append(_extract(f))
            except InvalidInput as err:
                report.rejected.append({"name": f.name, "reason": str(err)})
            _progress(progress, 0.1 * (i + 1) / max(len(files), 1), f"read {f.name}")
    guard = _guardrails()
    with _index.writer_lock(root):
        writer = _index.Writer(root)
        embedder = get_embedder() if extracted else None  # every file rejected: the model is not even loaded
        if embedder is not None:
            writer.check_model(embedder.model_id, embedder.sha256)
        plans = []
        for ex in extracted:
            sha = _index.text_hash(ex.text)
            dup = writer.has_sha(sha) or next((p[0] for p in plans if p[0]["sha256"] == sha), None)
            if dup:
                report.skipped.append({"name": ex.name, "duplicate_of": dup["name"], "doc_id": dup["doc_id"]})
                continue
            chunks = _split(ex.text)
            flagged = sum(bool(guard.screen_injection(c).flagged) for c in chunks)
            doc = {"doc_id": sha[:16], "name": ex.name, "kind": ex.kind, "sha256": sha, "title": ex.title,
                   "bytes": ex.size, "chars": len(ex.text), "injection_flagged_chunks": flagged,
                   "added": datetime.now(timezone.utc).isoformat(timespec="seconds"), "added_by": ctx.actor.name}
            plans.append((doc, chunks))
        # One encode call for the whole upload: batches sorted by length, few distinct shapes (bf16 kernels are per shape).
        texts = [f"{doc['title']}\n{c}" for doc, chunks in plans for c in chunks]
        vecs = embedder.encode(texts, bulk=True,
                               progress=lambda n, total: _progress(progress, 0.1 + 0.85 * n / total, f"embedded {n}/{total} chunks")) if texts else None
        offset = 0
        for doc, chunks in plans:
            old = writer.by_name(doc["name"])
            if old is not None:
                writer.remove(old["doc_id"])
                report.replaced.append({"name": doc["name"], "old_doc_id": old["doc_id"], "doc_id": doc["doc_id"]})
            writer.add(doc, chunks, vecs[offset:offset + len(chunks)])
            offset += len(chunks)
            report.added.append({"doc_id": doc["doc_id"], "name": doc["name"], "chunks": len(chunks)})
            report.chunks += len(chunks)
            report.injection_flagged_chunks += doc["injection_flagged_chunks"]
        if plans:
            _progress(progress, 0.96, "writing the index")
            snap = writer.commit()
        else:
            snap = writer.base
    report.total_chunks, report.version = snap.size, snap.version
    report.seconds = round(time.perf_counter() - t0, 3)
    # a file name is free text: a card or an HKID in it never reaches the audit log
    ctx.audit(event, added=[{"doc_id": d["doc_id"], "name": redact(d["name"]).text, "chunks": d["chunks"]} for d in report.added],
              skipped=len(report.skipped), replaced=len(report.replaced),
              rejected=[{"name": redact(r["name"]).text, "reason": redact(r["reason"][:200]).text} for r in report.rejected],
              chunks=report.chunks, total_chunks=report.total_chunks, version=report.version,
              injection_flagged_chunks=report.injection_flagged_chunks, seconds=report.seconds)
    _progress(progress, 1.0, f"{len(report.added)} added, {len(report.skipped)} duplicate(s), {len(report.rejected)} rejected")
    return report


DOC_FIELDS = ("doc_id", "name", "kind", "chunks", "added", "added_by", "bytes", "chars", "injection_flagged_chunks")


def documents(ctx) -> list[dict]:
    """The bank's indexed documents (metadata only, never text)."""
    ctx.require("chat.ask")
    return [{k: d.get(k) for k in DOC_FIELDS} for d in _bank_snapshot(ctx).documents]


def delete_document(ctx, doc_id: str) -> dict:
    """Remove a document (by id, or by its name when one indexed document has it) and its chunks from the bank's
    index (a new version, swapped atomically), from every older version kept on disk (rewritten without it), and
    the copy of it stored in the bank's chat folder (the web app's upload): deleted means gone from the workspace."""
    ctx.require("chat.delete")
    if isinstance(doc_id, str) and not re.fullmatch(r"[0-9a-f]{16}", doc_id):
        named = [d["doc_id"] for d in _bank_snapshot(ctx).documents if d["name"] == doc_id]
        if len(named) == 1:
            doc_id = named[0]
    if not isinstance(doc_id, str) or not re.fullmatch(r"[0-9a-f]{16}", doc_id):
        raise InvalidInput("doc_id", f"{doc_id!r} is neither a document id nor the name of an indexed document",
                           "use an id or a name from `sandbox chat docs BANK`")
    root = _index_root(ctx)
    with _index.writer_lock(root):
        writer = _index.Writer(root)
        doc = writer.remove(doc_id)
        snap = writer.commit()
        purged = _index.purge(root, doc_id, doc["name"])
    copies = _remove_stored_copies(ctx, doc)
    ctx.audit("chat.delete", doc_id=doc_id, name=redact(doc["name"]).text, chunks=doc["chunks"], version=snap.version,
              purged_versions=purged, removed_copies=len(copies))
    return {"doc_id": doc_id, "name": doc["name"], "chunks": doc["chunks"], "version": snap.version,
            "purged_versions": purged, "removed_copies": len(copies)}


def _remove_stored_copies(ctx, doc: dict) -> list[Path]:
    """Unlink the files in the bank's chat folder (outside the indexes) that hold this very document: same name and
    same extracted text. Links are neither followed nor removed; a file that cannot be read is left alone."""
    import os

    chat_dir = ctx.path("chat")
    removed: list[Path] = []
    for top, dirs, names in os.walk(chat_dir, followlinks=False):
        if Path(top) == chat_dir:
            dirs[:] = [d for d in dirs if d not in ("index", "eval")]
        for n in names:
            p = Path(top) / n
            if n != doc["name"] or p.is_symlink() or not p.is_file():
                continue
            try:
                same = _index.text_hash(extract_file(p).text) == doc.get("sha256")
            except (SandboxError, OSError):
                continue
            if same:
                p.unlink()
                removed.append(p)
    return removed


def write_policy_library(ctx, folder: str | Path, seed: int = 0) -> list[Path]:
    """Write the bank's synthetic policy library (the demo's documents, .md/.txt/.html/.docx/.pdf) into `folder`,
    ready for `ingest`. Its facts are the bank's own (a canary included), so only the bank's users may write it."""
    from .corpus import write_corpus

    ctx.require("chat.ingest")
    with ctx.user_folder(folder, "folder", create=True) as d:  # opened (made) once, checked by descriptor
        # Written through the checked descriptor: repointing the folder's name afterwards changes nothing.
        written = write_corpus(Path(d.proc_path), ctx.bank, seed=seed)
        paths = [Path(d.path) / p.name for p in written]
    ctx.audit("chat.corpus", folder=Path(d.path).name, seed=seed, files=len(paths))
    return paths


def retriever(ctx, k: int = 5, mode: str = "hybrid", filters: dict | None = None):
    """This bank's index as a LangChain BaseRetriever (hybrid, dense or bm25)."""
    from .retrieve import make_retriever

    return make_retriever(ctx, k=k, mode=mode, filters=filters)


# -- ask ----------------------------------------------------------------------
def _renumber(text: str, passages: list[Passage]) -> tuple[str, list[dict]]:
    """Renumber citations 1..m in order of first use; list them with document, chunk id and scores."""
    order: list[int] = []
    for m in CITATION.findall(text):
        if int(m) not in order:
            order.append(int(m))
    by_n = {p.n: p for p in passages}
    new = {old: i for i, old in enumerate(order, start=1)}
    text = CITATION.sub(lambda m: f"[{new.get(int(m.group(1)), m.group(1))}]", text)
    cites = [{"n": new[o], "document": by_n[o].document, "chunk_id": by_n[o].chunk_id, "score": round(by_n[o].score, 6),
              "similarity": round(by_n[o].dense_score, 4)} for o in order if o in by_n]
    return text, cites


def ask(ctx, question: str, backend: str | None = None, k: int = 5, filters: dict | None = None,
        *, mode: str = "hybrid", trace: bool = True) -> Answer:
    """Answer a question from this bank's documents, cited, grounded and guarded; record the trace."""
    ctx.require("chat.ask")
    return _ask(ctx, _bank_snapshot(ctx), question, backend, k, filters, mode, trace)


WARM_QUESTION = "How long does a cardholder have to dispute a card transaction?"


def warm(ctx) -> None:
    """Load what a bank's first question would otherwise wait for (about 4 s here: the embedding model, the bank's
    index, the scorer's kernels, MLflow's tracing), recording nothing. The app calls it when the Chat page opens."""
    ctx.require("chat.ask")
    _ask(ctx, _bank_snapshot(ctx), WARM_QUESTION, None, 5, None, "hybrid", trace=False)
    from .trace import prepare

    prepare(ctx)


def _ask(ctx, snap: _index.Snapshot, question: str, backend: str | None, k: int, filters: dict | None,
         mode: str, trace: bool) -> Answer:
    from .embed import get_embedder
    from .retrieve import search

    t_start, t0 = time.time_ns(), time.perf_counter()
    guard = _guardrails()
    q_rep = guard.check_question(question)  # validates (empty, oversized, binary), redacts, screens
    q_red = " ".join(q_rep.text.split())
    name = backend or default_backend()
    embedder = get_embedder()
    gen = make_backend(name, embedder)
    if snap.size and snap.manifest.get("embed_model_sha256") != embedder.sha256:
        raise SandboxError(f"the bank's index was built with {snap.manifest.get('embed_model_id')}, not {embedder.model_id}",
                           "configure the same embedding model, or re-ingest the documents")
    verdicts: dict[str, Any] = {"question": q_rep.to_dict(), "chunks_excluded": [], "chunks_redacted": 0,
                                "grounding": {}, "answer": {}, "refusal_reason": ""}
    timings: dict[str, tuple[int, int]] = {}
    passages: list[Passage] = []
    hits: list = []
    confidence, fallback, prompt_h, grounded = 0.0, None, "", False
    body, reason, scope_refusal = REFUSAL, "", ""
    if q_rep.blocked:
        body = INJECTION_REPLY
        reason = "the question reads as a prompt injection"
    elif not snap.size:
        reason = "no documents in this bank's index"
    else:
        ts = time.time_ns()
        hits = search(snap, embedder, q_red, k=k, mode=mode, filters=filters)
        timings["retrieve"] = (ts, time.time_ns())
        for h in hits:
            c = guard.check_chunk(h.text)
            if c.blocked:  # injected instructions never reach a prompt
                verdicts["chunks_excluded"].append({"chunk_id": h.chunk_id, **c.to_dict()})
                continue
            verdicts["chunks_redacted"] += bool(c.pii)
            passages.append(Passage(n=len(passages) + 1, text=c.text, chunk_id=h.chunk_id, document=h.document,
                                    score=h.score, dense_score=h.dense_score))
        # passages about another product, customer type or condition than the question names never answer it
        sc = check_scope(snap, q_red, passages)
        verdicts["scope"] = sc.to_dict()
        if passages and sc.missing is not None and not sc.covered_elsewhere:
            scope_refusal = f"{REFUSAL} They do not cover {sc.missing.display()}."
        passages = [replace(p, n=i) for i, p in enumerate(sc.kept, start=1)]
        confidence = max((p.dense_score for p in passages), default=0.0)
        if sc.missing is not None:
            reason = f"no passage is about {sc.missing.phrase!r}"
        elif not passages:
            reason = "no usable passages" + (" (passages with injected instructions were left out)" if hits else "")
        elif confidence < REFUSE_BELOW:
            reason = f"low retrieval confidence ({confidence:.2f} < {REFUSE_BELOW})"
        else:
            ts = time.time_ns()
            out = gen.generate(q_red, passages)
            timings["generate"] = (ts, time.time_ns())
            prompt_h, body = out.prompt_hash, out.text
            ts = time.time_ns()
            body, grounded, fallback, verdicts["grounding"] = _grounded(body, passages, name, embedder, q_red)
            timings["grounding"] = (ts, time.time_ns())
            if not grounded:
                reason = "the passages do not answer the question" if fallback is None else "no grounded answer"
    citations: list[dict] = []
    if grounded:
        body, citations = _renumber(body, passages)
        a_rep = guard.check_answer(body)
        verdicts["answer"] = a_rep.to_dict()
        if a_rep.blocked:  # the answer itself reads as an injection: the generator was steered
            grounded, citations, body, reason = False, [], REFUSAL, "the answer reads as a prompt injection"
        else:
            body = a_rep.text
    refused = not grounded
    if refused and body != INJECTION_REPLY:
        body = scope_refusal or REFUSAL
    verdicts["refusal_reason"] = reason if refused else ""
    text = guard.with_disclosure(body, chinese=False)
    timings["total"] = (t_start, time.time_ns())
    ans = Answer(question=q_red, answer=text, refused=refused, citations=citations, guardrails=verdicts, backend=name,
                 model_id=gen.model_id, latency_ms=round((time.perf_counter() - t0) * 1000, 2),
                 confidence=round(confidence, 4), grounded=grounded, fallback=fallback, prompt_hash=prompt_h)
    if trace:
        from .trace import record

        ans.trace_id = record(ctx, {
            "question": q_red, "backend": name, "model_id": gen.model_id, "prompt_hash": prompt_h, "mode": mode, "k": k,
            "filters": filters or {}, "index_version": snap.version,
            "chunks": [{"chunk_id": h.chunk_id, "document": h.document, "score": round(h.score, 6),
                        "similarity": round(h.dense_score, 4)} for h in hits],
            "answer": body, "refused": refused, "fallback": fallback, "citations": citations,
            "guardrails": verdicts, "latency_ms": ans.latency_ms}, timings)
    return ans


def _grounded(body: str, passages: list[Passage], name: str, embedder, question: str) -> tuple[str, bool, str | None, dict]:
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


def evaluate(ctx, backends: list[str] | None = None, progress: Progress = None) -> "EvalReport":
    """Run the bank's QA set through retrieval (dense vs hybrid) and each backend; log an MLflow run."""
    from .evaluate import run_evaluation

    return run_evaluation(ctx, backends=backends, progress=progress)
