"""The bank's document library: where its index lives, what is in it, removing a document, writing the synthetic
policy library, and the index as a LangChain retriever."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sandbox.errors import InvalidInput, SandboxError

from . import index as _index
from .extract import extract_file
from .pii import redact

DOC_FIELDS = ("doc_id", "name", "kind", "chunks", "added", "added_by", "bytes", "chars", "injection_flagged_chunks")


def _index_root(ctx) -> Path:
    return ctx.path("chat", "index", create=True)


def _bank_snapshot(ctx) -> _index.Snapshot:
    return _index.load(_index_root(ctx))


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
        raise InvalidInput(
            "doc_id",
            f"{doc_id!r} is neither a document id nor the name of an indexed document",
            "use an id or a name from `sandbox chat docs BANK`",
        )
    root = _index_root(ctx)
    with _index.writer_lock(root):
        writer = _index.Writer(root)
        doc = writer.remove(doc_id)
        snap = writer.commit()
        purged = _index.purge(root, doc_id, doc["name"])
    copies = _remove_stored_copies(ctx, doc)
    ctx.audit(
        "chat.delete",
        doc_id=doc_id,
        name=redact(doc["name"]).text,
        chunks=doc["chunks"],
        version=snap.version,
        purged_versions=purged,
        removed_copies=len(copies),
    )
    return {
        "doc_id": doc_id,
        "name": doc["name"],
        "chunks": doc["chunks"],
        "index_version": snap.version,
        "purged_versions": purged,
        "removed_copies": len(copies),
    }


def _remove_stored_copies(ctx, doc: dict) -> list[Path]:
    """Unlink the files in the bank's chat folder (outside the indexes) that hold this very document: same name and
    same extracted text. Links are neither followed nor removed; a file that cannot be read is left alone."""
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
