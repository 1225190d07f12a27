"""Chroma: an embedded PersistentClient by default, an HttpClient when CASEPILOT_CHROMA_URL is set.

One collection per kind of passage (a ``where`` filter is ~50x slower than a plain query here).
"""

from __future__ import annotations

from urllib.parse import urlparse

import numpy as np

from casepilot.settings import Settings, prepare_offline_environment

COLLECTION_PREFIX = "cp_"
HNSW = {"hnsw:space": "cosine"}


class VectorStoreUnavailable(RuntimeError):
    """Chroma cannot be reached (server down or silent); the message says where it was looked for."""


def make_client(settings: Settings):
    """The Chroma client the settings ask for, with telemetry off."""
    prepare_offline_environment()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "localhost", port=url.port or 8000, ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as e:  # chromadb raises several transport errors; all mean "unreachable"
            raise VectorStoreUnavailable(f"Chroma server at {settings.chroma_url} is not reachable") from e
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def collection_name(kind: str) -> str:
    return COLLECTION_PREFIX + kind


def get_collection(client, kind: str, create: bool = False):
    """The Chroma collection of one kind of passage, or None when it does not exist (and not ``create``)."""
    name = collection_name(kind)
    if create:
        return client.get_or_create_collection(name, metadata=HNSW)
    try:
        return client.get_collection(name)
    except Exception:  # NotFoundError / ValueError depending on the client
        return None


def langchain_store(client, kind: str, embeddings):
    """The same collection through LangChain's Chroma integration (used by the dense-only baseline)."""
    from langchain_chroma import Chroma

    return Chroma(client=client, collection_name=collection_name(kind), embedding_function=embeddings,
                  create_collection_if_not_exists=False)


def query(collection, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
    """(id, cosine similarity) of the ``k`` nearest passages."""
    n = collection.count()
    if n == 0:
        return []
    res = collection.query(query_embeddings=[vector.tolist()], n_results=min(k, n), include=["distances"])
    return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]
