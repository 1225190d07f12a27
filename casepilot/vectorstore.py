"""Chroma: an embedded PersistentClient by default, an HttpClient when CASEPILOT_CHROMA_URL is set.

One collection per kind of passage (a ``where`` filter is ~50x slower than a plain query here).
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from casepilot.embeddings import EmbeddingId, MiniLMEmbeddings, embedder_for
from casepilot.settings import Settings, prepare_offline_environment

COLLECTION_PREFIX = "cp_"
HNSW = {"hnsw:space": "cosine"}


class VectorStoreUnavailable(RuntimeError):
    """Chroma cannot be reached (server down or silent); the message says where it was looked for."""


# chromadb's HttpClient builds its httpx session with ``timeout=None`` and offers no setting for it
# (chromadb 1.5: chromadb/api/fastapi.py), and it already talks to the server while it is being
# constructed. So the session's timeout is set right where chromadb creates it: a wrapper around
# ``FastAPI.__init__`` applies the timeout that ``make_client`` put in this thread's slot. Clients that
# ``make_client`` did not build keep chromadb's behaviour.
_pending = threading.local()
_hook_lock = threading.Lock()


def _install_timeout_hook() -> None:
    from chromadb.api.fastapi import FastAPI

    with _hook_lock:
        if getattr(FastAPI.__init__, "_casepilot_timeout", False):
            return
        original = FastAPI.__init__

        def __init__(self, system, *args, **kwargs):
            original(self, system, *args, **kwargs)
            timeout = getattr(_pending, "timeout", None)
            if timeout is not None:
                self._session.timeout = timeout

        __init__._casepilot_timeout = True  # type: ignore[attr-defined]
        FastAPI.__init__ = __init__


def http_timeout(settings: Settings, read_timeout_s: float | None = None):
    """The httpx timeout of every call to a Chroma server: connect, then read/write/pool."""
    import httpx

    read = settings.chroma_write_timeout_s if read_timeout_s is None else read_timeout_s
    return httpx.Timeout(read, connect=settings.chroma_connect_timeout_s, pool=settings.chroma_connect_timeout_s)


def make_client(settings: Settings, read_timeout_s: float | None = None):
    """The Chroma client the settings ask for, with telemetry off.

    A server client has a connect timeout (``chroma_connect_timeout_s``) and a read timeout on every call,
    construction included: ``read_timeout_s`` for queries (the retriever passes ``chroma_timeout_s``), else
    the long ``chroma_write_timeout_s`` that ingest's large upserts need. A server that accepts connections
    and never answers is then a ``VectorStoreUnavailable`` after the timeout, never a hang.
    """
    prepare_offline_environment()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        _install_timeout_hook()
        _pending.timeout = http_timeout(settings, read_timeout_s)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "localhost", port=url.port or 8000, ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as e:  # chromadb raises several transport errors; all mean "unreachable"
            raise VectorStoreUnavailable(f"Chroma server at {settings.chroma_url} is not reachable") from e
        finally:
            _pending.timeout = None
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def collection_name(kind: str) -> str:
    return COLLECTION_PREFIX + kind


def is_missing_collection(exc: BaseException) -> bool:
    """True when ``exc`` says a collection does not exist (the store answered), not that the store failed."""
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) or (isinstance(exc, ValueError) and "does not exist" in str(exc))


def get_collection(client, kind: str, create: bool = False, embedding: EmbeddingId | None = None):
    """The Chroma collection of one kind of passage, or None when it does not exist (and not ``create``).

    A collection made here records ``embedding`` (the model and backend of the vectors it will hold);
    an existing one keeps what it recorded. Any other failure (a timeout, a refused connection, a 5xx)
    propagates: a server that did not answer must not be remembered as "no such collection".
    """
    name = collection_name(kind)
    if create:
        return client.get_or_create_collection(name, metadata={**HNSW, **(embedding.metadata() if embedding else {})})
    try:
        return client.get_collection(name)
    except Exception as e:
        if is_missing_collection(e):
            return None
        raise VectorStoreUnavailable(f"the vector store did not answer ({type(e).__name__})") from e


def stored_embedding(collection, default_model: str) -> EmbeddingId:
    """The model and backend of a collection's vectors (torch for one made before backends existed)."""
    return EmbeddingId.from_metadata(collection.metadata, default_model)


def collection_for(client, kind: str, embedding: EmbeddingId, replace: bool = False):
    """The collection of ``kind``, made for ``embedding`` if new. One that holds vectors of another model or
    backend is kept as it is (its vectors stay valid for queries embedded its way) unless it is empty or
    ``replace`` is set (``ingest --rebuild``): then it is dropped and made anew for ``embedding``.
    """
    coll = get_collection(client, kind, create=True, embedding=embedding)
    if stored_embedding(coll, embedding.model) != embedding and (replace or coll.count() == 0):
        client.delete_collection(collection_name(kind))
        coll = get_collection(client, kind, create=True, embedding=embedding)
    return coll


def langchain_store(client, kind: str, embeddings, export_dir: Path | None = None):
    """The same collection through LangChain's Chroma integration (used by the dense-only baseline); a
    ``MiniLMEmbeddings`` is swapped for the embedder that made the collection's vectors."""
    from langchain_chroma import Chroma

    if isinstance(embeddings, MiniLMEmbeddings):
        coll = get_collection(client, kind)
        if coll is not None:
            embeddings = embedder_for(coll.metadata, embeddings, export_dir)
    return Chroma(client=client, collection_name=collection_name(kind), embedding_function=embeddings,
                  create_collection_if_not_exists=False)


def query(collection, vector: np.ndarray, k: int, count: int | None = None) -> list[tuple[str, float]]:
    """(id, cosine similarity) of the ``k`` nearest passages. ``count``: the collection's size when the caller
    knows it (the passage store's count), which spares a ``count()`` call: 11 ms on the 98,000 ICD-10-CM
    passages, a scan Chroma runs on every call. Chroma returns fewer than ``n_results`` when it holds fewer."""
    n = collection.count() if count is None else count
    if n == 0:
        return []
    res = collection.query(query_embeddings=[vector.tolist()], n_results=min(k, n), include=["distances"])
    return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]


def unit_vectors(collection) -> tuple[list[str], np.ndarray]:
    """Every passage id of ``collection`` and its vector scaled to length 1 (for ``exact_nearest``)."""
    res = collection.get(include=["embeddings"])
    found = res.get("embeddings")
    if found is None or len(found) == 0:
        return [], np.zeros((0, 0), dtype=np.float32)
    m = np.asarray(found, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return list(res["ids"]), m / np.where(norms > 0, norms, 1.0)


def exact_nearest(ids: list[str], unit: np.ndarray, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
    """(id, cosine similarity) of the ``k`` nearest of ``unit`` (rows of length 1), by brute force: exact and
    the same in every process, where Chroma's HNSW search is approximate and varies between processes."""
    if not ids or k <= 0:
        return []
    v = np.asarray(vector, dtype=np.float32)
    sims = unit @ (v / (np.linalg.norm(v) or 1.0))
    k = min(k, len(ids))
    top = np.argpartition(-sims, k - 1)[:k]
    # ties broken by id, so equal scores come out in one order everywhere
    return [(ids[i], float(sims[i])) for i in sorted(top, key=lambda i: (-sims[i], ids[i]))]


def similarities(collection, vector: np.ndarray, ids: list[str]) -> list[tuple[str, float]]:
    """(id, cosine similarity) of the given passages: the dense score of a candidate that only BM25 found."""
    if not ids:
        return []
    res = collection.get(ids=ids, include=["embeddings"])
    found = res.get("embeddings")
    if found is None or len(found) == 0:
        return []
    m = np.asarray(found, dtype=np.float32)
    v = np.asarray(vector, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1) * (np.linalg.norm(v) or 1.0)
    sims = (m @ v) / np.where(norms > 0, norms, 1.0)
    return [(i, float(s)) for i, s in zip(res["ids"], sims)]

