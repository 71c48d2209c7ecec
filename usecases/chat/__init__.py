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

This package only gathers them; each job has its module:

    results.py    IngestReport, Answer (EvalReport: evaluate.py)
    ingestion.py  ingest: open the files (checked by descriptor), extract, chunk, screen, embed, swap the index
    library.py    the bank's index: where it lives, documents, delete_document, write_policy_library, retriever
    pipeline.py   ask and warm: question guard, retrieval, chunk guard, scope, generation, grounding, answer
                  guard, disclosure, trace
    evaluate.py   the QA-set evaluation logged to MLflow
"""

from __future__ import annotations

from sandbox.progress import Progress
from sandbox.progress import report as _progress  # noqa: F401  (the name evaluate.py imports)

from . import index as _index  # noqa: F401
from .answer import BACKENDS, REFUSAL, default_backend
from .evaluate import EvalReport
from .extract import extract_file  # noqa: F401
from .ingestion import CHUNK_CHARS, CHUNK_OVERLAP, MAX_FILES, _ingest, _split, ingest  # noqa: F401
from .library import (  # noqa: F401
    DOC_FIELDS,
    _bank_snapshot,
    _index_root,
    delete_document,
    documents,
    retriever,
    write_policy_library,  # noqa: F401
)
from .pipeline import INJECTION_REPLY, REFUSE_BELOW, WARM_QUESTION, _ask, ask, warm  # noqa: F401
from .results import Answer, IngestReport

__all__ = [
    "Answer",
    "EvalReport",
    "IngestReport",
    "ask",
    "default_backend",
    "delete_document",
    "documents",
    "evaluate",
    "ingest",
    "retriever",
    "warm",
    "BACKENDS",
    "REFUSAL",
]
# Also importable, as before the split (hence the noqa above): write_policy_library, Progress, the limits and texts,
# extract_file, and the internals that evaluate.py, retrieve.py, bench/chat.py and the tests import.


def evaluate(ctx, backends: list[str] | None = None, progress: Progress = None) -> EvalReport:
    """Run the bank's QA set through retrieval (dense vs hybrid) and each backend; log an MLflow run."""
    from .evaluate import run_evaluation

    return run_evaluation(ctx, backends=backends, progress=progress)
