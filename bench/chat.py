"""Chat assistant benchmark: ours beside a peer, measured in the same run, as ratios.

    .venv/bin/python bench/chat.py [--quick] [--json] [--chunks N] [--embedded-questions N]
    .venv/bin/python bench/chat.py --calibration      # extractive backend per bank:seed, held-out wordings apart,
                                                      # product-swapped questions and answers citing another product
    .venv/bin/python bench/chat.py --latency-only     # retrieval latency at 100,000 chunks, stage by stage

Figures (peer in brackets):
- retrieval recall@5 and MRR on the QA set: hybrid (dense + BM25, rank fusion) [dense only];
- backends on the QA set: correctness, refusal accuracy, injection resistance, answers with numbers
  absent from their cited chunks, p50 latency: each backend [the extractive one]; the best one is
  written to usecases/chat/default_backend.json, which `default_backend()` reads;
- ingest throughput, chunks/s: our embedder (bf16 where the CPU has it) and the whole `ingest`
  [plain SentenceTransformer.encode in fp32 on the same chunks], with dense recall@5 of both;
- retrieval p50 with N chunks (100,000 by default): hybrid search incl. query embedding, HNSW
  + BM25 [exact IndexFlatIP search of the same vectors, dense only, no query embedding];
- end-to-end answer p50 with the default backend (ask() with guardrails, grounding, audit and MLflow trace).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds platform.py, which would shadow the standard library's `platform` (torch imports it).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

BANK = "bench-bank"
PASSWORD = "bench-password-1"


def p50(xs):
    return round(statistics.median(xs), 3) if xs else None


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup(home: Path):
    from sandbox import Store, open_workspace

    store = Store(home)
    store.init("root", PASSWORD)
    store.create_bank(BANK)
    store.add_user("ben", "scientist", PASSWORD, bank=BANK)
    return open_workspace(BANK, store.actor("ben"), store)


def corpus_chunks(n_banks: int) -> list[str]:
    """Chunks of several banks' generated libraries (the same splitter as ingest)."""
    from usecases.chat import _split
    from usecases.chat.corpus import generate_corpus

    out = []
    for i in range(n_banks):
        for doc in generate_corpus(f"bank-{i:03d}", seed=i):
            out += [f"{doc.title}\n{c}" for c in _split(doc.text)]
    return out


def bench_ingest(ctx, files, quick: bool) -> dict:
    """Our embedder vs plain fp32 SentenceTransformer.encode on the same chunks; then the full ingest."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from usecases.chat.embed import get_embedder, model_path

    texts = corpus_chunks(3 if quick else 8)
    ours = get_embedder()
    peer = SentenceTransformer(str(model_path()[0]), device="cpu", local_files_only=True)
    ours.encode(texts[:64], bulk=True)
    peer.encode(texts[:64], batch_size=64)
    t = time.perf_counter()
    v_ours = ours.encode(texts, bulk=True)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    v_peer = np.asarray(peer.encode(texts, batch_size=64, normalize_embeddings=True), dtype=np.float32)
    peer_s = time.perf_counter() - t
    cos = (v_ours * v_peer).sum(axis=1)
    t = time.perf_counter()
    from usecases import chat

    rep = chat.ingest(ctx, files)
    ingest_s = time.perf_counter() - t
    return {
        "chunks": len(texts),
        "precision": ours.precision,
        "ours_chunks_per_s": round(len(texts) / ours_s, 1),
        "peer_fp32_chunks_per_s": round(len(texts) / peer_s, 1),
        "ratio": round(peer_s / ours_s, 2),
        "min_cosine_to_fp32": round(float(cos.min()), 4),
        "ingest_files": len(files),
        "ingest_chunks": rep.chunks,
        "ingest_seconds": round(ingest_s, 2),
        "ingest_chunks_per_s": round(rep.chunks / ingest_s, 1),
        "_peer_model": peer,
    }


def recall_fp32_vs_ours(ctx, items, peer_model) -> dict:
    """Dense recall@5 on the QA set with the index built from our vectors vs from plain fp32 vectors."""
    import faiss
    import numpy as np

    from usecases.chat import _bank_snapshot
    from usecases.chat.embed import get_embedder
    from usecases.chat.evaluate import _doc_matches

    snap = _bank_snapshot(ctx)
    names = {d["doc_id"]: d["name"] for d in snap.documents}
    titles = {d["doc_id"]: d["title"] for d in snap.documents}
    texts = [f"{titles[d]}\n{t}" for d, t in zip(snap.chunks["doc_id"], snap.chunks["text"])]
    doc_of_row = [names[d] for d in snap.chunks["doc_id"]]
    out = {}
    ours = get_embedder()

    def fp32(xs):
        return np.asarray(peer_model.encode(xs, batch_size=64, normalize_embeddings=True), dtype=np.float32)

    answerable = [it for it in items if it.answerable]
    questions = [it.question for it in answerable]
    # ours: chunks through the bulk encoder, questions through encode_query (the search path), as in production
    q_ours = np.stack([ours._encode_one(q) for q in questions])
    q_fp32 = fp32(questions)
    for label, chunk_vecs, q_vecs in (("ours", ours.encode(texts, bulk=True), q_ours), ("fp32", fp32(texts), q_fp32)):
        index = faiss.IndexFlatIP(384)
        index.add(chunk_vecs)
        _, rows = index.search(q_vecs, 5)
        hits = [
            any(_doc_matches(it.source_doc, doc_of_row[r]) for r in rr if r >= 0) for it, rr in zip(answerable, rows)
        ]
        out[f"dense_recall_at_5_{label}"] = round(sum(hits) / len(hits), 4)
    out["recall_difference"] = round(abs(out["dense_recall_at_5_ours"] - out["dense_recall_at_5_fp32"]), 4)
    out["query_min_cosine_to_fp32"] = round(float((q_ours * q_fp32).sum(axis=1).min()), 5)
    out["query_precision"] = str(next(ours._query_model.parameters()).dtype).replace("torch.", "")
    return out


def bench_backends(ctx, items, backends: list[str], embedded_n: int) -> dict:
    from usecases.chat import _bank_snapshot
    from usecases.chat.corpus import injection_document
    from usecases.chat.evaluate import _available, backend_metrics

    snap = _bank_snapshot(ctx)
    markers = list(injection_document(BANK).facts.values())
    out, skipped = {}, {}
    for b in backends:
        why = _available(b)
        if why:
            skipped[b] = why
            continue
        subset = items
        if b != "extractive" and embedded_n < len(items):
            # a stratified sample, the same for every run: facts, then two unanswerable and one injected question
            facts = [i for i in items if i.kind == "fact"]
            others = [i for i in items if i.kind == "unanswerable"][:2] + [i for i in items if i.kind == "injection"][
                :1
            ]
            n_facts = max(embedded_n - len(others), 1)
            subset = facts[:: max(len(facts) // n_facts, 1)][:n_facts] + others
        t = time.perf_counter()
        m, _ = backend_metrics(ctx, snap, subset, b, markers)
        m["questions"] = len(subset)
        m["seconds"] = round(time.perf_counter() - t, 1)
        out[b] = m
        log(f"  {b}: {json.dumps(m)}")
    return {"backends": out, "skipped": skipped}


def bench_retrieval_latency(n_chunks: int, queries: list[str]) -> dict:
    """Hybrid search over n_chunks (HNSW + BM25 + fusion, query embedding included) vs exact flat search."""
    import faiss
    import numpy as np
    import pandas as pd

    from usecases.chat import index as ix
    from usecases.chat.embed import get_embedder
    from usecases.chat.retrieve import CANDIDATES, _bm25, _dense, search

    emb = get_embedder()
    base = corpus_chunks(12)
    base_vecs = emb.encode(base, bulk=True)
    rng = np.random.default_rng(0)
    reps = -(-n_chunks // len(base))
    # Variants of real chunk embeddings (noise around each, renormalised) and of their texts (numbers changed),
    # so both the vectors and the BM25 postings have the clustered shape of a real library.
    vecs = np.vstack([base_vecs + rng.normal(0, 0.02, base_vecs.shape).astype(np.float32) for _ in range(reps)])[
        :n_chunks
    ]
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [f"{base[i % len(base)]} (variant {i // len(base)}, ref {rng.integers(1e6)})" for i in range(n_chunks)]
    ids = np.arange(n_chunks, dtype=np.int64)
    t = time.perf_counter()
    index, kind = ix.build_index(ids, vecs, vecs.shape[1])
    if kind == "hnsw":
        faiss.downcast_index(index.index).hnsw.efSearch = ix.HNSW_EF_SEARCH
    build_s = time.perf_counter() - t
    import bm25s

    t = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index(ix.tokenize(texts), show_progress=False)
    bm25_s = time.perf_counter() - t
    chunks = pd.DataFrame(
        {"id": ids, "doc_id": [f"d{i % 97:05d}" for i in range(n_chunks)], "chunk_no": ids, "text": texts, "hash": ""}
    )
    documents = [{"doc_id": f"d{j:05d}", "name": f"doc-{j}.md", "kind": "md"} for j in range(97)]
    snap = ix.Snapshot(
        root=Path("."),
        version="bench",
        manifest={"kind": kind},
        index=index,
        chunks=chunks,
        documents=documents,
        bm25=bm25,
        row_of_id={i: i for i in range(n_chunks)},
    )
    flat = faiss.IndexFlatIP(vecs.shape[1])
    flat.add(vecs)
    qv = emb.encode(queries)
    for q in ("warm-up question one", "warm-up question two", "warm-up question three"):
        search(snap, emb, q, k=5)
    emb._queries.clear()
    ours, peer, overlap = [], [], []
    # Separate loops: FAISS's two-thread team (the peer's flat search) left spinning between our searches
    # doubled our figure when the loops were interleaved (15.7 against 6.7 ms stage by stage).
    for q in queries:
        t = time.perf_counter()
        search(snap, emb, q, k=5)
        ours.append((time.perf_counter() - t) * 1000)
    for v in qv:
        t = time.perf_counter()
        _, exact = flat.search(v.reshape(1, -1), 10)
        peer.append((time.perf_counter() - t) * 1000)
    for v in qv:
        _, exact = flat.search(v.reshape(1, -1), 10)
        _, approx = index.search(v.reshape(1, -1), 10)
        # Variants of one chunk are near-duplicates; judge the approximate index by the chunks it finds.
        overlap.append(
            len({int(i) % len(base) for i in exact[0]} & {int(i) % len(base) for i in approx[0]})
            / len({int(i) % len(base) for i in exact[0]})
        )
    dense_only = []
    emb._queries.clear()
    for q in queries:
        t = time.perf_counter()
        search(snap, emb, q, k=5, mode="dense")
        dense_only.append((time.perf_counter() - t) * 1000)
    # the stages alone: question embedding (uncached), BM25, HNSW search, hybrid search given the vector
    stages: dict[str, list[float]] = {"embed": [], "bm25": [], "dense_search": [], "hybrid_given_vector": []}
    for q, v in zip(queries, qv):
        for name, fn in (
            ("embed", lambda q=q: emb._encode_one(q)),
            ("bm25", lambda q=q: _bm25(snap, q, CANDIDATES, None)),
            ("dense_search", lambda v=v: _dense(snap, v, CANDIDATES, None)),
            ("hybrid_given_vector", lambda q=q, v=v: search(snap, emb, q, k=5, query_vector=v)),
        ):
            t = time.perf_counter()
            fn()
            stages[name].append((time.perf_counter() - t) * 1000)
    return {
        "chunks": n_chunks,
        "index_kind": kind,
        "index_build_s": round(build_s, 1),
        "bm25_build_s": round(bm25_s, 1),
        "queries": len(queries),
        "hybrid_p50_ms": p50(ours),
        "hybrid_p95_ms": round(float(np.percentile(ours, 95)), 3),
        "dense_p50_ms": p50(dense_only),
        "peer_flat_search_p50_ms": p50(peer),
        "stage_p50_ms": {name: p50(xs) for name, xs in stages.items()},
        "ann_recall_at_10_vs_exact": round(float(np.mean(overlap)), 4),  # distinct source chunks of the exact top 10
        "threads": faiss.omp_get_max_threads(),
    }


# The extractive backend's constants (usecases/chat/answer.py) were fitted on the template questions of these
# banks only; the others, and every bank's held-out wordings (corpus.heldout_qa_set), were not looked at.
CALIBRATION = [("peak-bank", 0), ("peak-bank", 1), ("lantau-bank", 0)]
HELD_OUT = [("harbour-bank", 0), ("junk-bay-bank", 0), ("harbour-bank", 2), ("bench-bank", 0)]


def product_swaps(bank: str, seed: int) -> list:
    """Every template wording that names a product of the library, that product swapped for a glossary product no
    document of the library covers ("the maximum mortgage tenor" -> "the maximum car loan tenor"): unanswerable."""
    from usecases.chat import scope
    from usecases.chat.corpus import QAItem, generate_corpus
    from usecases.chat.corpus_templates import DOCUMENTS
    from usecases.chat.lexicon import SCOPE_TERMS

    docs = [
        scope._Doc(d.title, {}, scope.ids(d.title + "\n" + d.text), set(), scope.ids(d.title))
        for d in generate_corpus(bank, seed)
    ]
    nowhere = [
        k
        for k, (kind, fam, _d, _s) in SCOPE_TERMS.items()
        if kind == "product"
        and k != fam
        and not any(scope._satisfied(scope.Mention(kind, k, fam, k), set(), set(), d) for d in docs)
    ]
    out = []
    for spec in DOCUMENTS:
        for fact in spec["facts"].values():
            for q in fact["questions"]:
                m = next((m for m in scope.mentions(q) if m.kind == "product" and not m.generic), None)
                if m is None:
                    continue
                key = sorted(nowhere, key=lambda k: SCOPE_TERMS[k][1] != m.family)[0]
                phrase = SCOPE_TERMS[key][2]
                phrase = phrase[:-1] if phrase.endswith("s") and not phrase.endswith("ss") else phrase
                out.append(QAItem(q.replace(m.phrase, phrase, 1), None, None, False, "unanswerable"))
    return out


def wrong_product_answers(ctx, snap, items) -> int:
    """Answers citing a passage whose document names another product of the question's family and not the question's
    own (the car-loan question answered from the mortgage standard)."""
    from usecases.chat import _ask, scope
    from usecases.chat.lexicon import SCOPE_TERMS

    docs = scope._docs(snap)
    n = 0
    for it in items:
        ms = [m for m in scope.mentions(it.question) if m.kind == "product" and not m.generic]
        if not ms:
            continue
        ans = _ask(ctx, snap, it.question, "extractive", 5, None, "hybrid", False)
        named = [docs[c["chunk_id"].rpartition("#")[0]].ids for c in ([] if ans.refused else ans.citations)]
        n += any(
            m.key not in ids and any(SCOPE_TERMS[k][1] == m.family and k != m.family for k in ids)
            for ids in named
            for m in ms
        )
    return n


def bench_calibration(home: Path) -> dict:
    """The extractive backend (full ask pipeline) per bank:seed, template questions and held-out wordings apart."""
    from sandbox import Store, open_workspace
    from usecases import chat
    from usecases.chat import _bank_snapshot
    from usecases.chat.corpus import heldout_qa_set, injection_document, qa_set, write_corpus, write_document
    from usecases.chat.evaluate import backend_metrics

    out = {}
    for bank, seed in CALIBRATION + HELD_OUT:
        root = home / f"cal-{bank}-{seed}"
        store = Store(root)
        store.init("root", PASSWORD)
        store.create_bank(bank)
        store.add_user("ben", "scientist", PASSWORD, bank=bank)
        ctx = open_workspace(bank, store.actor("ben"), store)
        files = write_corpus(root / "docs", bank, seed=seed)
        inj = injection_document(bank)
        files.append(write_document(inj, root / "docs" / inj.filename))
        chat.ingest(ctx, files)
        snap, markers = _bank_snapshot(ctx), list(inj.facts.values())
        row = {"role": "calibration" if (bank, seed) in CALIBRATION else "held out"}
        for split, items in (
            ("template", qa_set(bank, seed)),
            ("heldout_wording", heldout_qa_set(bank, seed)),
            ("product_swaps", product_swaps(bank, seed)),
        ):
            m, _ = backend_metrics(ctx, snap, items, "extractive", markers)
            row[split] = {
                k: m[k]
                for k in (
                    "correctness",
                    "refusal_accuracy",
                    "answers_with_unsupported_numbers",
                    "injection_resistance",
                    "citation_precision",
                )
            }
            row[split]["wrong_product_answers"] = wrong_product_answers(ctx, snap, items)
        out[f"{bank}:{seed}"] = row
        log(f"  {bank}:{seed} {json.dumps(row)}")
    means = {}
    for role in ("calibration", "held out"):
        for split in ("template", "heldout_wording", "product_swaps"):
            rows = [r[split] for r in out.values() if r["role"] == role]
            means[f"mean {role} {split}"] = {
                k: round(statistics.fmean(r[k] for r in rows), 4)
                for k in ("correctness", "refusal_accuracy")
                if rows[0][k] is not None
            }
            means[f"mean {role} {split}"]["wrong_product_answers"] = sum(r["wrong_product_answers"] for r in rows)
    return {**out, **means}


def bench_end_to_end(ctx, items, backend: str, n: int) -> dict:
    from usecases import chat

    lat = []
    for it in [i for i in items if i.answerable][:n]:
        t = time.perf_counter()
        chat.ask(ctx, it.question, backend=backend)
        lat.append((time.perf_counter() - t) * 1000)
    return {"backend": backend, "questions": len(lat), "p50_ms": p50(lat), "max_ms": round(max(lat), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="about a minute or two: 20,000 chunks, 6 embedded questions")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument(
        "--chunks", type=int, default=None, help="chunks for the retrieval latency figure (default 100,000)"
    )
    ap.add_argument("--embedded-questions", type=int, default=None, help="QA questions for the embedded backend")
    ap.add_argument(
        "--no-default-file",
        action="store_true",
        help="do not write usecases/chat/default_backend.json (--quick never writes it)",
    )
    ap.add_argument(
        "--calibration",
        action="store_true",
        help="only the extractive backend per bank:seed (calibration vs held-out banks, template vs held-out wordings)",
    )
    ap.add_argument("--latency-only", action="store_true", help="only the retrieval latency figure")
    ap.add_argument(
        "--bilingual",
        action="store_true",
        help="only the Chinese figures per bank (bench/chat_bilingual.py; --quick: 1 calibration + 1 held-out bank)",
    )
    args = ap.parse_args()
    if args.calibration or args.latency_only or args.bilingual:
        return partial(args)
    n_chunks = args.chunks or (20_000 if args.quick else 100_000)
    embedded_n = args.embedded_questions or (6 if args.quick else 20)
    import torch

    from usecases.chat.answer import DEFAULT_BACKEND_FILE
    from usecases.chat.corpus import injection_document, qa_set, write_corpus, write_document
    from usecases.chat.evaluate import retrieval_metrics

    t_all = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    ctx = setup(home)
    docs = home / "docs"
    files = write_corpus(docs, BANK)
    inj = injection_document(BANK)
    files.append(write_document(inj, docs / inj.filename))
    items = qa_set(BANK)
    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_1min": round(os.getloadavg()[0], 2),
        },
        "quick": args.quick,
    }
    log("ingest throughput ...")
    ing = bench_ingest(ctx, files, args.quick)
    peer_model = ing.pop("_peer_model")
    result["ingest"] = ing
    log(f"  {ing}")
    log("retrieval quality ...")
    from usecases.chat import _bank_snapshot
    from usecases.chat.embed import get_embedder

    retrieval, _ = retrieval_metrics(_bank_snapshot(ctx), get_embedder(), items)
    result["retrieval"] = retrieval
    result["ingest"].update(recall_fp32_vs_ours(ctx, items, peer_model))
    log(f"  {retrieval}")
    log("backends on the QA set ...")
    result.update(bench_backends(ctx, items, ["extractive", "embedded"], embedded_n))
    scored = result["backends"]
    best = max(scored, key=lambda b: (scored[b]["overall"], b == "extractive"))
    result["best_backend"] = best
    log(f"retrieval latency with {n_chunks:,} chunks ...")
    queries = list(dict.fromkeys(it.question for it in items))  # distinct: no question-vector cache hits
    result["retrieval_latency"] = bench_retrieval_latency(n_chunks, queries)
    log(f"  {result['retrieval_latency']}")
    log("end to end ...")
    result["end_to_end"] = bench_end_to_end(ctx, items, best, 10 if args.quick else 30)
    result["seconds"] = round(time.perf_counter() - t_all, 1)
    r, b, lat = result["retrieval"], scored[best], result["retrieval_latency"]
    result["targets"] = {
        "recall_at_5_hybrid>=0.95": r["hybrid"]["recall_at_5"] >= 0.95,
        "hybrid>=dense": r["hybrid"]["recall_at_5"] >= r["dense"]["recall_at_5"],
        "correctness>=0.90": (b["correctness"] or 0) >= 0.90,
        "refusal_accuracy>=0.95": (b["refusal_accuracy"] or 0) >= 0.95,
        "unsupported_numbers==0": b["answers_with_unsupported_numbers"] == 0,
        "ingest_ratio>=2": ing["ratio"] >= 2.0,
        "recall_within_0.01": ing["recall_difference"] <= 0.01,
        "retrieval_p50<=10ms": lat["hybrid_p50_ms"] <= 10.0,
        "end_to_end_p50<=3s": result["end_to_end"]["p50_ms"] <= 3000,
    }
    if not (args.no_default_file or args.quick):  # a --quick sample (e.g. `make bench`) does not pick the default
        from sandbox import atomic

        atomic.write_json(
            DEFAULT_BACKEND_FILE,
            {
                "backend": best,
                "measured_by": "bench/chat.py",
                "scores": {
                    k: {
                        m: v[m]
                        for m in (
                            "correctness",
                            "refusal_accuracy",
                            "injection_resistance",
                            "overall",
                            "latency_p50_ms",
                            "questions",
                        )
                    }
                    for k, v in scored.items()
                },
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print_table(result)
    return 0


def partial(args) -> int:
    """One section alone: --calibration or --latency-only."""
    from usecases.chat.corpus import qa_set

    t = time.perf_counter()
    result: dict = {"machine": {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}}
    if args.calibration:
        result["calibration"] = bench_calibration(Path(tempfile.mkdtemp(prefix="bench-chat-cal-")))
    if args.bilingual:
        from bench.chat_bilingual import bench_bilingual

        result["bilingual"] = bench_bilingual(Path(tempfile.mkdtemp(prefix="bench-chat-zh-")), args.quick)
    if args.latency_only:
        n_chunks = args.chunks or (20_000 if args.quick else 100_000)
        queries = list(dict.fromkeys(it.question for it in qa_set(BANK)))
        result["retrieval_latency"] = bench_retrieval_latency(n_chunks, queries)
    result["machine"]["load_1min_end"] = round(os.getloadavg()[0], 2)
    result["seconds"] = round(time.perf_counter() - t, 1)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    for name, row in {**result.get("calibration", {}), **result.get("bilingual", {})}.items():
        print(f"{name:40} {json.dumps(row)}")
    if "retrieval_latency" in result:
        lat = result["retrieval_latency"]
        print(
            f"search p50 ms, {lat['chunks']:,} chunks: hybrid {lat['hybrid_p50_ms']} (p95 {lat['hybrid_p95_ms']}), "
            f"dense {lat['dense_p50_ms']}, peer flat search {lat['peer_flat_search_p50_ms']}; stages {lat['stage_p50_ms']}"
        )
    print(f"machine: {result['machine']}; {result['seconds']} s")
    return 0


def print_table(r: dict) -> None:
    ing, ret, lat, e2e = r["ingest"], r["retrieval"], r["retrieval_latency"], r["end_to_end"]
    rows = [
        ("retrieval recall@5 (hybrid vs dense)", ret["hybrid"]["recall_at_5"], ret["dense"]["recall_at_5"]),
        ("retrieval MRR (hybrid vs dense)", ret["hybrid"]["mrr"], ret["dense"]["mrr"]),
        (
            f"embed chunks/s ({ing['precision']} vs fp32 encode)",
            ing["ours_chunks_per_s"],
            ing["peer_fp32_chunks_per_s"],
        ),
        ("whole ingest chunks/s vs fp32 encode", ing["ingest_chunks_per_s"], ing["peer_fp32_chunks_per_s"]),
        ("dense recall@5 (our vectors vs fp32)", ing["dense_recall_at_5_ours"], ing["dense_recall_at_5_fp32"]),
        (
            f"search p50 ms, {lat['chunks']:,} chunks (hybrid+embed vs flat)",
            lat["hybrid_p50_ms"],
            lat["peer_flat_search_p50_ms"],
        ),
    ]
    print(f"{'figure':60} {'ours':>10} {'peer':>10} {'ratio':>7}")
    for name, ours, peer in rows:
        ratio = f"{ours / peer:.2f}" if peer else "-"
        print(f"{name:60} {ours:>10} {peer:>10} {ratio:>7}")
    print()
    print(
        f"{'backend':12} {'n':>4} {'correct':>8} {'refusal':>8} {'inject':>8} {'cite_prec':>9} {'bad_nums':>8} {'p50_ms':>9}"
    )
    for name, m in r["backends"].items():
        print(
            f"{name:12} {m['questions']:>4} {m['correctness']:>8} {m['refusal_accuracy']:>8} {m['injection_resistance']:>8} "
            f"{m['citation_precision']:>9} {m['answers_with_unsupported_numbers']:>8} {m['latency_p50_ms']:>9}"
        )
    for name, why in r["skipped"].items():
        print(f"{name:12} skipped: {why}")
    print(f"\nbest backend: {r['best_backend']}; end-to-end p50 {e2e['p50_ms']} ms over {e2e['questions']} questions")
    print(
        f"ANN recall@10 vs exact: {lat['ann_recall_at_10_vs_exact']}; index {lat['index_kind']} built in {lat['index_build_s']} s"
    )
    print(
        f"search stages p50 ms: {lat['stage_p50_ms']}; question vectors {ing['query_precision']}, "
        f"min cosine to fp32 {ing['query_min_cosine_to_fp32']}"
    )
    print("targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in r["targets"].items()))
    print(f"machine: {r['machine']}; {r['seconds']} s")


if __name__ == "__main__":
    sys.exit(main())
