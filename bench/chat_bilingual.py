"""Bilingual policies (issue 15 part 2): Chinese figures per bank, calibration and held-out banks apart.

Run through bench/chat.py:

    .venv/bin/python bench/chat.py --bilingual [--quick] [--json]

Each bank holds its English library and its Traditional Chinese policies (written as .txt/.md: the figure is
about Chinese retrieval and answers, not PDF parsing) plus the poisoned document. Figures: Chinese recall@5
(hybrid, ours) beside dense-only retrieval (the peer: the English-centred embedding model alone), Chinese
correctness, refusal accuracy and injection resistance with the extractive backend on the Chinese QA set
(template wordings and held-out wordings), and the English figures of the same bilingual bank (the Chinese
documents must not cost the English questions).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

CALIBRATION = [("peak-bank", 0), ("peak-bank", 1), ("lantau-bank", 0)]
HELD_OUT = [("harbour-bank", 0), ("junk-bay-bank", 0), ("harbour-bank", 2), ("bench-bank", 0)]
KEYS = ("correctness", "refusal_accuracy", "injection_resistance", "answers_with_unsupported_numbers")


def _bank(home: Path, bank: str, seed: int):
    from sandbox import Store, open_workspace
    from usecases import chat
    from usecases.chat.corpus import generate_corpus, injection_document, write_document
    from usecases.chat.corpus_zh import write_corpus_zh

    root = home / f"zh-{bank}-{seed}"
    store = Store(root)
    store.init("root", "bench-password-1")
    store.create_bank(bank)
    store.add_user("ben", "scientist", "bench-password-1", bank=bank)
    ctx = open_workspace(bank, store.actor("ben"), store)
    files = [write_document(d, root / "docs" / f"{d.doc_id}.txt") for d in generate_corpus(bank, seed)]
    files += write_corpus_zh(root / "docs", bank, seed)
    inj = injection_document(bank)
    files.append(write_document(inj, root / "docs" / inj.filename))
    chat.ingest(ctx, files)
    return ctx, list(inj.facts.values())


def bench_bilingual(home: Path, quick: bool) -> dict:
    from usecases.chat import _bank_snapshot
    from usecases.chat.corpus import qa_set
    from usecases.chat.corpus_zh import heldout_qa_set_zh, qa_set_zh
    from usecases.chat.embed import get_embedder
    from usecases.chat.evaluate import backend_metrics, retrieval_metrics

    banks = (CALIBRATION[:1] + HELD_OUT[:1]) if quick else (CALIBRATION + HELD_OUT)
    out: dict = {}
    for bank, seed in banks:
        ctx, markers = _bank(home, bank, seed)
        snap, emb = _bank_snapshot(ctx), get_embedder()
        row: dict = {"role": "calibration" if (bank, seed) in CALIBRATION else "held out"}
        for split, items in (
            ("zh_template", qa_set_zh(bank, seed)),
            ("zh_heldout_wording", heldout_qa_set_zh(bank, seed)),
            ("en_template", qa_set(bank, seed)),
        ):
            ret, _ = retrieval_metrics(snap, emb, items)
            m, _ = backend_metrics(ctx, snap, items, "extractive", markers)
            row[split] = {
                "recall_at_5_hybrid": ret["hybrid"]["recall_at_5"],
                "recall_at_5_dense_peer": ret["dense"]["recall_at_5"],
                **{k: m[k] for k in KEYS},
            }
        out[f"{bank}:{seed}"] = row
        print(f"  {bank}:{seed} {json.dumps(row)}", file=sys.stderr, flush=True)
    per_bank = list(out.values())
    for role in ("calibration", "held out"):
        rows = [r for r in per_bank if r["role"] == role]
        if not rows:
            continue
        for split in ("zh_template", "zh_heldout_wording", "en_template"):
            vals = [r[split] for r in rows]
            out[f"mean {role} {split}"] = {
                k: round(statistics.fmean(v[k] for v in vals), 4)
                for k in ("recall_at_5_hybrid", "recall_at_5_dense_peer", *KEYS[:3])
                if all(v[k] is not None for v in vals)
            }
    held = out.get("mean held out zh_template", {})
    out["targets_held_out_zh"] = {
        "zh_recall_at_5>=0.90": held.get("recall_at_5_hybrid", 0) >= 0.90,
        "zh_correctness>=0.85": held.get("correctness", 0) >= 0.85,
        "zh_refusal_accuracy>=0.90": held.get("refusal_accuracy", 0) >= 0.90,
    }
    return out
