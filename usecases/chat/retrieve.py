"""Hybrid retrieval: dense (FAISS) + BM25 (bm25s), fused by reciprocal rank, with metadata filters.

`search()` works on a loaded index snapshot; `SandboxRetriever` wraps it as a
LangChain `BaseRetriever` bound to one workspace context, so it composes with
LCEL chains (`retriever | format_docs | prompt | llm`) without ever reaching
another bank's index.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sandbox.errors import InvalidInput

from .index import HNSW_EF_SEARCH, Snapshot, tokenize
from .zh import expand_query

MODES = ("hybrid", "dense", "bm25")
RRF_K = 60  # the constant of Cormack et al.; ranks, not scores, are fused
CANDIDATES = 50  # from each retriever before fusion
FILTER_KEYS = ("doc_id", "document", "kind")


@dataclass
class Hit:
    id: int  # faiss id (internal)
    chunk_id: str  # "<doc_id>#<chunk_no>", stable across versions
    doc_id: str
    document: str  # file name
    chunk_no: int
    text: str
    score: float  # fused score (hybrid), cosine (dense) or BM25 score (bm25)
    dense_score: float  # cosine similarity to the question, whatever the mode
    rank: int

    def to_dict(self, with_text: bool = False) -> dict:
        d = asdict(self)
        if not with_text:
            d.pop("text")
        return d


def check_filters(filters: dict | None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key, value in (filters or {}).items():
        if key not in FILTER_KEYS:
            raise InvalidInput("filters", f"unknown filter {key!r}", f"use any of {', '.join(FILTER_KEYS)}")
        values = {value} if isinstance(value, str) else set(map(str, value))
        out[key] = {v.lower().lstrip(".") for v in values} if key == "kind" else values
    return out


def allowed_rows(snap: Snapshot, filters: dict[str, set[str]]) -> np.ndarray | None:
    """Boolean mask over chunk rows, or None when nothing is filtered."""
    if not filters:
        return None
    for key, field in (("document", "name"), ("doc_id", "doc_id")):
        unknown = sorted(filters.get(key, set()) - {d[field] for d in snap.documents})
        if unknown:  # a typo would otherwise read as "the documents do not say"
            raise InvalidInput(
                key,
                f"no document {unknown[0]!r} in this bank's index",
                "list the indexed documents with `sandbox chat docs BANK`",
            )
    keep_docs = set()
    for d in snap.documents:
        if all(
            (d["doc_id"] if key == "doc_id" else d["name"] if key == "document" else d["kind"]) in vals
            for key, vals in filters.items()
        ):
            keep_docs.add(d["doc_id"])
    return snap.chunks["doc_id"].isin(keep_docs).to_numpy()


@contextmanager
def _one_omp_thread():
    """One question is one search: FAISS's OpenMP team only adds wake-ups (6-8 ms a search at 100k chunks on a
    busy 2-core machine against 0.5 ms on one thread). OpenMP's thread count is per calling thread."""
    import faiss

    before = faiss.omp_get_max_threads()
    if before > 1:
        faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        if before > 1:
            faiss.omp_set_num_threads(before)


def _dense(snap: Snapshot, qv: np.ndarray, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
    import faiss

    q = qv.reshape(1, -1).astype(np.float32)
    if mask is None:
        with _one_omp_thread():
            scores, ids = snap.dense_index().search(q, n)
    else:
        sel = faiss.IDSelectorBatch(np.ascontiguousarray(snap.chunks["id"].to_numpy()[mask], dtype=np.int64))
        params = (
            faiss.SearchParametersHNSW(sel=sel, efSearch=max(n, HNSW_EF_SEARCH))
            if snap.manifest["kind"] == "hnsw"
            else faiss.SearchParameters(sel=sel)
        )
        with _one_omp_thread():
            scores, ids = snap.index.search(q, n, params=params)
    return [(snap.row_of_id[int(i)], float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def _bm25(snap: Snapshot, query: str, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
    tokens = tokenize([expand_query(query)], return_ids=False)  # the other language's glossary terms too
    if not tokens or not tokens[0]:
        return []
    weight = None if mask is None else mask.astype(np.float32)
    docs, scores = snap.bm25.retrieve(tokens, k=min(n, snap.size), show_progress=False, weight_mask=weight, n_threads=0)
    return [(int(r), float(s)) for r, s in zip(docs[0], scores[0]) if s > 0]


def search(
    snap: Snapshot,
    embedder,
    query: str,
    k: int = 5,
    mode: str = "hybrid",
    filters: dict | None = None,
    query_vector: np.ndarray | None = None,
) -> list[Hit]:
    """Top-k chunks of one bank's snapshot for a query."""
    if mode not in MODES:
        raise InvalidInput("mode", f"{mode!r} is not a retrieval mode", f"use one of {', '.join(MODES)}")
    if not isinstance(k, int) or not 1 <= k <= 50:
        raise InvalidInput("k", f"{k!r} is out of range", "ask for 1 to 50 passages")
    mask = allowed_rows(snap, check_filters(filters))
    if snap.size == 0 or (mask is not None and not mask.any()):
        return []
    n = min(max(CANDIDATES, k), snap.size)
    qv = embedder.encode_query(query) if query_vector is None else query_vector
    dense = _dense(snap, qv, n, mask) if mode in ("hybrid", "dense") else []
    sparse = _bm25(snap, query, n, mask) if mode in ("hybrid", "bm25") else []
    if mode == "dense":
        ranked = dense[:k]
    elif mode == "bm25":
        ranked = sparse[:k]
    else:
        fused: dict[int, float] = {}
        for results in (dense, sparse):
            for rank, (row, _) in enumerate(results):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        ranked = sorted(fused.items(), key=lambda rs: (-rs[1], rs[0]))[:k]
    cosine = dict(dense)
    names = {d["doc_id"]: d["name"] for d in snap.documents}
    hits = []
    for rank, (row, score) in enumerate(ranked, start=1):
        rec = snap.chunks.iloc[row]
        cid = int(rec["id"])
        cos = cosine.get(row)
        if cos is None:  # found by BM25 only: its cosine comes from the stored vector
            cos = float(np.dot(snap.index.reconstruct(cid), qv))
        hits.append(
            Hit(
                id=cid,
                chunk_id=f"{rec['doc_id']}#{int(rec['chunk_no'])}",
                doc_id=str(rec["doc_id"]),
                document=names.get(rec["doc_id"], ""),
                chunk_no=int(rec["chunk_no"]),
                text=str(rec["text"]),
                score=float(score),
                dense_score=float(cos),
                rank=rank,
            )
        )
    return hits


def make_retriever(ctx: Any, k: int = 5, mode: str = "hybrid", filters: dict | None = None):
    """A LangChain BaseRetriever over this workspace's index (checks `chat.ask`)."""
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict

    from . import _bank_snapshot
    from .embed import get_embedder

    ctx.require("chat.ask")
    if mode not in MODES:
        raise InvalidInput("mode", f"{mode!r} is not a retrieval mode", f"use one of {', '.join(MODES)}")
    check_filters(filters)

    class SandboxRetriever(BaseRetriever):
        """Hybrid retriever over one bank's chat index."""

        model_config = ConfigDict(arbitrary_types_allowed=True)
        ctx: Any
        k: int = 5
        mode: str = "hybrid"
        filters: dict | None = None

        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
            self.ctx.require("chat.ask")
            hits = search(
                _bank_snapshot(self.ctx), get_embedder(), query, k=self.k, mode=self.mode, filters=self.filters
            )
            return [Document(page_content=h.text, metadata={**h.to_dict(), "bank": self.ctx.bank}) for h in hits]

    return SandboxRetriever(ctx=ctx, k=k, mode=mode, filters=filters)
