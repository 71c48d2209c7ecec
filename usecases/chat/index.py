"""One FAISS index per bank, versioned on disk, swapped atomically, loaded without pickle.

Layout under `ctx.path("chat", "index")`:

    CURRENT                 {"version": "v000007"}: the only thing a writer changes in place (atomic rename)
    v000007/
      index.faiss           faiss.write_index: IndexIDMap2 over IndexFlatIP (exact) or IndexHNSWFlat (large banks)
      chunks.parquet        faiss id, document id, chunk number, text, content hash (rows in BM25 order)
      documents.json        one record per document: id, name, kind, sha256, chunks, added
      bm25/                 bm25s arrays (np.save, allow_pickle=False) + JSON vocabulary
      manifest.json         version, embedding model id and hash, dimension, index kind, sha256 of every file

A writer builds the next version in a temporary folder, renames it into place and
only then rewrites CURRENT; a crash at any point leaves CURRENT naming the previous,
complete version. Readers verify the checksums before loading and cache by version.

The last KEEP_VERSIONS versions stay on disk (a reader that loaded one keeps working, and an
operator can point CURRENT back). A deleted document must not live on in them: `purge`
rewrites every kept version that holds it without its chunks (new checksums, swapped in by
rename), so each kept version stays a complete index of what the bank had then, minus the
deleted document. Leftover temporary folders of a crashed writer are removed with it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sandbox import atomic
from sandbox.compute import detect_device
from sandbox.crashpoint import crash_point
from sandbox.errors import NotFound, SandboxError
from sandbox.tracking import hash_file

FORMAT = 1
EXACT_MAX = (
    10_000  # chunks; exact search stays near 2 ms below this; above, an HNSW graph answers in under a millisecond
)
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 256
KEEP_VERSIONS = 3
TOKEN_PATTERN = r"(?u)\b\w+\b"  # keep one-digit numbers ("5 days") that the default pattern drops

_cache: dict[str, Snapshot] = {}
_cache_lock = threading.Lock()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tokenize(texts: list[str], return_ids: bool = True):
    import bm25s

    from .zh import for_bm25

    texts = [for_bm25(t) for t in texts]  # Chinese segmented by jieba (Simplified form); English unchanged
    return bm25s.tokenize(
        texts, stopwords="en", token_pattern=TOKEN_PATTERN, return_ids=return_ids, show_progress=False
    )


@dataclass
class Snapshot:
    """A loaded, verified, read-only version of a bank's index."""

    root: Path
    version: str
    manifest: dict
    index: object  # faiss.Index
    chunks: pd.DataFrame
    documents: list[dict]
    bm25: object | None
    row_of_id: dict[int, int] = field(default_factory=dict)
    _gpu_index: object | None = None

    @property
    def size(self) -> int:
        return len(self.chunks)

    def dense_index(self):
        """The index to search without filters: a GPU copy of an exact index when faiss-gpu and a GPU are present."""
        if self._gpu_index is None and self.manifest.get("kind") == "flat" and detect_device() == "cuda":
            import faiss

            if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
                self._gpu_index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, self.index)
        return self._gpu_index or self.index


def empty_snapshot(root: Path) -> Snapshot:
    chunks = pd.DataFrame(
        {
            "id": pd.Series(dtype="int64"),
            "doc_id": pd.Series(dtype="str"),
            "chunk_no": pd.Series(dtype="int64"),
            "text": pd.Series(dtype="str"),
            "hash": pd.Series(dtype="str"),
        }
    )
    return Snapshot(
        root=root,
        version="",
        manifest={"next_id": 0, "kind": "flat"},
        index=None,
        chunks=chunks,
        documents=[],
        bm25=None,
    )


def current_version(root: Path) -> str:
    try:
        return json.loads((root / "CURRENT").read_text())["version"]
    except FileNotFoundError:
        return ""
    except (ValueError, KeyError) as err:
        raise SandboxError(
            f"the chat index pointer {root / 'CURRENT'} is damaged",
            "restore it, or delete the chat/index folder and ingest again",
        ) from err


def load(root: Path) -> Snapshot:
    """The current version (cached by version); an empty snapshot when nothing was ingested."""
    version = current_version(root)
    key = str(root)
    with _cache_lock:
        snap = _cache.get(key)
        if snap is not None and snap.version == version:
            return snap
    snap = _load_version(root, version) if version else empty_snapshot(root)
    with _cache_lock:
        _cache[key] = snap
    return snap


def _load_version(root: Path, version: str) -> Snapshot:
    import faiss

    folder = root / version
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError as err:
        raise SandboxError(
            f"chat index version {version} is missing its manifest", "ingest again to rebuild the index"
        ) from err
    for rel, digest in manifest["files"].items():
        path = folder / rel
        if not path.is_file() or hash_file(path) != digest:
            raise SandboxError(
                f"chat index file {version}/{rel} fails its checksum (altered or damaged)",
                "delete the chat/index folder and ingest the documents again",
            )
    index = faiss.read_index(str(folder / "index.faiss"))
    if manifest["kind"] == "hnsw":
        faiss.downcast_index(index.index).hnsw.efSearch = HNSW_EF_SEARCH
    chunks = pd.read_parquet(folder / "chunks.parquet")
    documents = json.loads((folder / "documents.json").read_text())
    bm25 = None
    if len(chunks):
        import bm25s

        bm25 = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False, show_progress=False, verbosity=0)
    row_of_id = {int(i): r for r, i in enumerate(chunks["id"].to_numpy())}
    return Snapshot(
        root=root,
        version=version,
        manifest=manifest,
        index=index,
        chunks=chunks,
        documents=documents,
        bm25=bm25,
        row_of_id=row_of_id,
    )


def _vectors(snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) stored in a snapshot's index, in chunk-table order."""
    import faiss

    if snap.index is None or snap.index.ntotal == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, int(snap.manifest.get("dim", 0) or 0)), dtype=np.float32)
    ids = faiss.vector_to_array(snap.index.id_map).astype(np.int64)
    inner = faiss.downcast_index(snap.index.index)
    vecs = inner.reconstruct_n(0, inner.ntotal)
    order = {int(i): n for n, i in enumerate(ids)}
    rows = np.array([order[int(i)] for i in snap.chunks["id"].to_numpy()], dtype=np.int64)
    return snap.chunks["id"].to_numpy().astype(np.int64), vecs[rows]


def build_index(ids: np.ndarray, vecs: np.ndarray, dim: int):
    """Exact inner product below EXACT_MAX chunks, HNSW above; both behind an id map."""
    import faiss

    if len(ids) <= EXACT_MAX:
        index, kind = faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), "flat"
    else:
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
        index, kind = faiss.IndexIDMap2(inner), "hnsw"
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))
    return index, kind


class Writer:
    """Builds the next version from the current one; `commit()` swaps it in atomically."""

    def __init__(self, root: Path, base: Snapshot | None = None):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep_temp()
        self.base = load(root) if base is None else base
        self.documents = [dict(d) for d in self.base.documents]
        self.ids, self.vecs = _vectors(self.base)
        self.chunks = self.base.chunks.copy()
        self.next_id = int(self.base.manifest.get("next_id", 0))
        self.dim = int(self.base.manifest.get("dim", 0) or 0)
        self.model = {k: self.base.manifest.get(k) for k in ("embed_model_id", "embed_model_sha256")}

    def _sweep_temp(self) -> None:
        for stale in self.root.glob(".tmp-*"):
            if stale.is_dir() and time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
        for stale in self.root.glob(".trash-*"):  # a purge that died between its two renames
            shutil.rmtree(stale, ignore_errors=True)

    def has_sha(self, sha: str) -> dict | None:
        return next((d for d in self.documents if d["sha256"] == sha), None)

    def by_name(self, name: str) -> dict | None:
        return next((d for d in self.documents if d["name"] == name), None)

    def check_model(self, model_id: str, sha: str) -> None:
        if self.model.get("embed_model_sha256") and self.model["embed_model_sha256"] != sha and len(self.chunks):
            raise SandboxError(
                f"this bank's index was built with embedding model {self.model['embed_model_id']}, not {model_id}",
                "use the same model, or delete every document and ingest again",
            )
        self.model = {"embed_model_id": model_id, "embed_model_sha256": sha}

    def add(self, doc: dict, texts: list[str], vecs: np.ndarray) -> None:
        n = len(texts)
        new_ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        self.dim = vecs.shape[1]
        self.ids = np.concatenate([self.ids, new_ids])
        self.vecs = vecs if len(self.vecs) == 0 else np.vstack([self.vecs, vecs])
        rows = pd.DataFrame(
            {
                "id": new_ids,
                "doc_id": doc["doc_id"],
                "chunk_no": np.arange(n, dtype=np.int64),
                "text": texts,
                "hash": [text_hash(t) for t in texts],
            }
        )
        self.chunks = rows if self.chunks.empty else pd.concat([self.chunks, rows], ignore_index=True)
        self.documents.append({**doc, "chunks": n})

    def remove(self, doc_id: str) -> dict:
        doc = next((d for d in self.documents if d["doc_id"] == doc_id), None)
        if doc is None:
            raise NotFound(
                f"document {doc_id} is not in this bank's index", "list documents with `sandbox chat docs BANK`"
            )
        self._drop(doc_id)
        return doc

    def _drop(self, doc_id: str) -> None:
        keep = (self.chunks["doc_id"] != doc_id).to_numpy()
        self.chunks = self.chunks[keep].reset_index(drop=True)
        self.ids, self.vecs = self.ids[keep], self.vecs[keep]
        self.documents = [d for d in self.documents if d["doc_id"] != doc_id]

    def _write(self, folder: Path, version: str, **manifest_extra) -> None:
        """Write the whole state as one complete version into `folder` (index, chunks, documents, BM25, manifest
        with the sha256 of every file)."""
        import faiss

        index, kind = build_index(self.ids, self.vecs, self.dim or 384)
        faiss.write_index(index, str(folder / "index.faiss"))
        self.chunks.to_parquet(folder / "chunks.parquet", index=False)
        atomic.write_json(folder / "documents.json", self.documents)
        if len(self.chunks):
            import bm25s

            titles = {d["doc_id"]: d.get("title", "") for d in self.documents}
            corpus = [f"{titles.get(d, '')}\n{t}" for d, t in zip(self.chunks["doc_id"], self.chunks["text"])]
            bm25 = bm25s.BM25()
            bm25.index(tokenize(corpus), show_progress=False)
            bm25.save(str(folder / "bm25"), allow_pickle=False)
        files = {p.relative_to(folder).as_posix(): hash_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
        manifest = {
            "format": FORMAT,
            "version": version,
            "kind": kind,
            "dim": self.dim or 384,
            "count": int(len(self.chunks)),
            "documents": len(self.documents),
            "next_id": self.next_id,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
            **self.model,
            **manifest_extra,
        }
        atomic.write_json(folder / "manifest.json", manifest)

    def commit(self) -> Snapshot:
        """Write the next version beside the current one, then point CURRENT at it."""
        # Past every version folder on disk, not only the current one: a writer killed between its rename and
        # CURRENT leaves a complete but unnamed folder, and renaming onto it would fail every later ingest.
        on_disk = [int(p.name[1:]) for p in self.root.glob("v[0-9]*") if p.is_dir() and p.name[1:].isdigit()]
        number = max([int(self.base.version[1:]) if self.base.version else 0, *on_disk]) + 1
        version = f"v{number:06d}"
        tmp = self.root / f".tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            self._write(tmp, version)
            crash_point("chat.index.before_rename")
            tmp.rename(self.root / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        crash_point("chat.index.before_current")
        atomic.write_json(self.root / "CURRENT", {"version": version})
        self._prune(version)
        return load(self.root)

    def _prune(self, keep_latest: str) -> None:
        versions = sorted(p.name for p in self.root.glob("v[0-9]*") if p.is_dir())
        for old in versions[:-KEEP_VERSIONS]:
            if old != keep_latest:
                shutil.rmtree(self.root / old, ignore_errors=True)


def purge(root: Path, doc_id: str, name: str | None = None) -> list[str]:
    """Remove a deleted document from every kept version but the current one (call under `writer_lock`, after the
    delete's commit): each version holding its chunks, or a document of the same name, is rewritten without them
    in a temporary folder (checksums recomputed) and swapped in by rename, so it stays a complete, verifiable
    index of what the bank had then, minus the deleted document. A version that cannot be read (damaged, fails
    its checksums) cannot be rewritten and is removed instead. Temporary folders a crashed writer left behind
    (they may hold the document's text) go too. Returns the versions rewritten or removed."""
    current = current_version(root)
    touched: list[str] = []
    for folder in sorted(p for p in root.glob("v[0-9]*") if p.is_dir()):
        if folder.name == current:
            continue
        try:
            snap = _load_version(root, folder.name)
        except Exception:  # noqa: BLE001 -- damaged beyond reading: it cannot be purged, so it goes
            shutil.rmtree(folder, ignore_errors=True)
            touched.append(folder.name)
            continue
        gone = {
            d["doc_id"] for d in snap.documents if d["doc_id"] == doc_id or (name is not None and d["name"] == name)
        }
        gone |= set(snap.chunks["doc_id"][snap.chunks["doc_id"] == doc_id])
        if not gone:
            continue
        writer = Writer(root, base=snap)
        for gid in sorted(gone):
            writer._drop(gid)
        purged = sorted(set(snap.manifest.get("purged", [])) | gone)
        tmp = root / f".tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            writer._write(tmp, folder.name, purged=purged, created=snap.manifest.get("created"))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        trash = root / f".trash-{uuid.uuid4().hex[:12]}"
        folder.rename(trash)  # a crash between the renames loses this old version, never the current one
        tmp.rename(folder)
        shutil.rmtree(trash, ignore_errors=True)
        touched.append(folder.name)
    for stale in [*root.glob(".tmp-*"), *root.glob(".trash-*")]:  # only the writer holding the lock writes these
        shutil.rmtree(stale, ignore_errors=True)
    return touched


def writer_lock(root: Path):
    """One writer per bank index at a time (ingest, delete), across processes."""
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    return FileLock(str(root / ".writer.lock"), timeout=600)
