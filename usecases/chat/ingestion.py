"""Ingest: open the user's files and folders (checked by descriptor), extract their text, chunk, screen, embed,
and swap a new version of the bank's index in atomically."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sandbox import userfile
from sandbox.compute import metered
from sandbox.errors import InvalidInput
from sandbox.progress import Progress
from sandbox.progress import report as report_progress

from . import guardrails
from . import index as _index
from .extract import SUFFIXES, Extracted, extract_file, parsing
from .library import _index_root
from .pii import redact
from .results import IngestReport

CHUNK_CHARS, CHUNK_OVERLAP = 700, 100
MAX_FILES = 1000


def _split(text: str) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS,
        chunk_overlap=CHUNK_OVERLAP,
        separators=["\n\n", "\n", ". ", " ", ""],
        keep_separator="end",
    )
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
            rejected.append(
                {
                    "name": userfile.printable(name),
                    "reason": f"the file name {name!r} has control "
                    "characters (a newline, escape ...); rename the file without them",
                }
            )
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
            raise InvalidInput(
                "paths", f"{len(files)} files in one ingest (limit {MAX_FILES})", "ingest the folder in parts"
            )
    return files, rejected


def _extract(f) -> Extracted:
    """Text of an opened user file, or of a folder entry opened now by the folder's descriptor (links not followed)."""
    if isinstance(f, userfile.FolderEntry):
        with f.open() as src:
            return extract_file(src)
    with f:
        return extract_file(f)


@metered("chat", "ingest")
def ingest(ctx, paths: Iterable[str | Path], progress: Progress = None) -> IngestReport:
    """Add documents to this bank's index: extract, chunk, embed, swap in a new index version atomically.

    Duplicates (same text) are skipped; a document with a known name but new text replaces the old one;
    files that cannot be read are rejected with the reason, and the rest still go in.
    """
    ctx.require("chat.ingest")
    return _ingest(ctx, _index_root(ctx), paths, progress, "chat.ingest")


def _ingest(ctx, root: Path, paths: Iterable[str | Path], progress: Progress, event: str) -> IngestReport:
    """`ingest` into the index at `root`, audited as `event` (the evaluation ingests its own corpus)."""
    from .embed import get_embedder

    if isinstance(paths, (str, Path)):
        paths = [paths]
    t0 = time.perf_counter()
    report = IngestReport()
    extracted = _read(ctx, paths, progress, report)
    with _index.writer_lock(root):
        writer = _index.Writer(root)
        embedder = get_embedder() if extracted else None  # every file rejected: the model is not even loaded
        if embedder is not None:
            writer.check_model(embedder.model_id, embedder.sha256)
        plans = _plan(ctx, writer, extracted, report)
        # One encode call for the whole upload: batches sorted by length, few distinct shapes (bf16 kernels are per shape).
        texts = [f"{doc['title']}\n{c}" for doc, chunks in plans for c in chunks]
        vecs = (
            embedder.encode(
                texts,
                bulk=True,
                progress=lambda n, total: report_progress(
                    progress, 0.1 + 0.85 * n / total, f"embedded {n}/{total} chunks"
                ),
            )
            if texts
            else None
        )
        _add(writer, plans, vecs, report)
        if plans:
            report_progress(progress, 0.96, "writing the index")
            snap = writer.commit()
        else:
            snap = writer.base
    report.total_chunks, report.index_version = snap.size, snap.version
    report.wall_s = round(time.perf_counter() - t0, 3)
    # a file name is free text: a card or an HKID in it never reaches the audit log
    ctx.audit(
        event,
        added=[{"doc_id": d["doc_id"], "name": redact(d["name"]).text, "chunks": d["chunks"]} for d in report.added],
        skipped=len(report.skipped),
        replaced=len(report.replaced),
        rejected=[{"name": redact(r["name"]).text, "reason": redact(r["reason"][:200]).text} for r in report.rejected],
        chunks=report.chunks,
        total_chunks=report.total_chunks,
        version=report.index_version,
        injection_flagged_chunks=report.injection_flagged_chunks,
        seconds=report.wall_s,
    )
    report_progress(
        progress, 1.0, f"{len(report.added)} added, {len(report.skipped)} duplicate(s), {len(report.rejected)} rejected"
    )
    return report


def _read(ctx, paths: Iterable[str | Path], progress: Progress, report: IngestReport) -> list[Extracted]:
    """The text of every file given (folders walked); the rejected ones, with the reason, go to `report`."""
    extracted: list[Extracted] = []
    with contextlib.ExitStack() as stack:  # never another bank's files, even through a link or a repointed one
        files, report.rejected = _expand(ctx, paths, stack)
        if not files and not report.rejected:
            raise InvalidInput(
                "paths", "no documents given", "pass files or folders of .txt, .md, .html, .docx or .pdf documents"
            )
        report_progress(progress, 0.01, f"reading {len(files)} file(s)")
        stack.enter_context(parsing())  # one document-reader process (time and memory limits) for this ingest
        for i, f in enumerate(files):
            try:
                extracted.append(_extract(f))
            except InvalidInput as err:
                report.rejected.append({"name": f.name, "reason": str(err)})
            report_progress(progress, 0.1 * (i + 1) / max(len(files), 1), f"read {f.name}")
    return extracted


def _plan(ctx, writer: _index.Writer, extracted: list[Extracted], report: IngestReport) -> list[tuple[dict, list[str]]]:
    """Each new document's record and chunks (injection-screened); duplicates of the index or of each other go to
    `report` as skipped."""
    plans: list[tuple[dict, list[str]]] = []
    for ex in extracted:
        sha = _index.text_hash(ex.text)
        dup = writer.has_sha(sha) or next((p[0] for p in plans if p[0]["sha256"] == sha), None)
        if dup:
            report.skipped.append({"name": ex.name, "duplicate_of": dup["name"], "doc_id": dup["doc_id"]})
            continue
        chunks = _split(ex.text)
        flagged = sum(bool(guardrails.screen_injection(c).flagged) for c in chunks)
        doc = {
            "doc_id": sha[:16],
            "name": ex.name,
            "kind": ex.kind,
            "sha256": sha,
            "title": ex.title,
            "bytes": ex.size,
            "chars": len(ex.text),
            "injection_flagged_chunks": flagged,
            "added": datetime.now(UTC).isoformat(timespec="seconds"),
            "added_by": ctx.actor.name,
        }
        plans.append((doc, chunks))
    return plans


def _add(writer: _index.Writer, plans: list[tuple[dict, list[str]]], vecs, report: IngestReport) -> None:
    """Add the planned documents with their vectors (in plan order); one with a known name replaces the old one."""
    offset = 0
    for doc, chunks in plans:
        old = writer.by_name(doc["name"])
        if old is not None:
            writer.remove(old["doc_id"])
            report.replaced.append({"name": doc["name"], "old_doc_id": old["doc_id"], "doc_id": doc["doc_id"]})
        writer.add(doc, chunks, vecs[offset : offset + len(chunks)])
        offset += len(chunks)
        report.added.append({"doc_id": doc["doc_id"], "name": doc["name"], "chunks": len(chunks)})
        report.chunks += len(chunks)
        report.injection_flagged_chunks += doc["injection_flagged_chunks"]
