"""Embedding backends with the bundled model, real ONNX exports and real Chroma in temporary folders.

- the ONNX fp32 export gives torch's vectors (cosine > 0.999), int8 close to them;
- a corrupt or partial export is detected and made again;
- a collection records the model and backend of its vectors; queries and additions always use that one,
  and ``ingest --rebuild`` applies a changed backend, re-embedding only what the cache lacks.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from casepilot.embeddings import EmbeddingCache, EmbeddingId, MiniLMEmbeddings, QueryVectors, bundled_model_path
from casepilot.onnxmodel import export_path, verified
from casepilot.retrieval import Retriever
from casepilot.status import retrieval_modes
from casepilot.vectorstore import HNSW, collection_name, get_collection, make_client, stored_embedding
from ingest.corpus import CorpusSource
from ingest.pipeline import run_dense, run_ingest
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

TORCH = EmbeddingId("bundled", "torch")
INT8 = EmbeddingId("bundled", "onnx-int8")
TEXTS = [
    "Type 2 diabetes mellitus with diabetic chronic kidney disease",
    "Cholera due to Vibrio cholerae 01, biovar cholerae",
    "Displaced fracture of shaft of left femur, initial encounter for closed fracture",
    "htn w ckd stg 3",
    "Resection of Gallbladder, Percutaneous Endoscopic Approach",
    "a",
    # longer than the model's 256 tokens: truncated the same way
    "Excludes1: " + " ".join(f"condition number {i} of the long list of exclusions" for i in range(60)),
]


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-exports")


@pytest.fixture(scope="session")
def onnx_embedder(export_dir):
    return MiniLMEmbeddings(backend="onnx", export_dir=export_dir)


@pytest.fixture(scope="session")
def int8_embedder(export_dir):
    return MiniLMEmbeddings(backend="onnx-int8", export_dir=export_dir)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_fp32_gives_torchs_vectors_and_int8_stays_close(embedder, onnx_embedder, int8_embedder):
    ref = embedder.encode(TEXTS)
    fp32 = onnx_embedder.encode(TEXTS)
    int8 = int8_embedder.encode(TEXTS)
    assert fp32.shape == ref.shape == (len(TEXTS), 384) and fp32.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(fp32, axis=1), 1.0, atol=1e-5)
    assert _cos(fp32, ref).min() > 0.999
    assert _cos(int8, ref).mean() > 0.98 and _cos(int8, ref).min() > 0.95
    # the same text alone or in a padded batch: the same vector (padding is masked out of the mean)
    alone = onnx_embedder.encode([TEXTS[0]])
    assert _cos(alone, fp32[:1]).min() > 0.99999


def test_a_corrupt_export_is_detected_and_made_again(tmp_path, onnx_embedder, embedder):
    onnx_embedder.encode(["warm"])  # the session's export exists and is verified
    model = bundled_model_path()
    good = export_path(model, onnx_embedder.export_dir, "onnx")
    mine = export_path(model, tmp_path, "onnx")
    mine.parent.mkdir(parents=True)
    shutil.copy(good, mine)
    shutil.copy(good.with_suffix(".json"), mine.with_suffix(".json"))
    assert verified(mine)
    with mine.open("r+b") as f:  # a disk error or a copy cut short
        f.truncate(mine.stat().st_size // 2)
    (mine.parent / ".onnx.onnx.abc.tmp").write_bytes(b"left by a killed export")
    assert not verified(mine)
    fresh = MiniLMEmbeddings(backend="onnx", export_dir=tmp_path)
    vecs = fresh.encode(TEXTS[:3])
    assert verified(mine) and mine.stat().st_size == good.stat().st_size
    assert _cos(vecs, embedder.encode(TEXTS[:3])).min() > 0.999


def _stored(settings, kind: str, ids: list[str]) -> np.ndarray:
    coll = get_collection(make_client(settings), kind)
    got = coll.get(ids=ids, include=["embeddings"])
    by_id = dict(zip(got["ids"], got["embeddings"]))
    return np.asarray([by_id[i] for i in ids], dtype=np.float32)


def _cached(settings, text: str) -> dict[str, np.ndarray]:
    """backend -> the vector the embedding cache holds for ``text``."""
    cache = EmbeddingCache(settings.data_dir / "embeddings.sqlite")
    try:
        return {e.backend: next(iter(cache.get_many([text], e).values())) for e in (TORCH, INT8)
                if cache.get_many([text], e)}
    finally:
        cache.close()


def test_switching_backends_keeps_each_collection_consistent(tmp_path, corpus_copy, embedder, int8_embedder):
    settings = make_settings(tmp_path / "data", embed_backend="onnx-int8")
    sources = lambda: [CorpusSource(corpus_copy)]  # noqa: E731
    first = run_ingest(settings, sources(), embedder=embedder)  # an index built with torch, as before
    assert first.ok and first.embedded > 0
    kinds = sorted({d.metadata["collection"] for d in CorpusSource(corpus_copy).passages()})
    client = make_client(settings)
    assert {str(stored_embedding(get_collection(client, k), "bundled")) for k in kinds} == {"bundled/torch"}

    # The settings now say onnx-int8; the torch collections are still queried the torch way.
    docs = {d.id: d for d in CorpusSource(corpus_copy).passages()}
    question = next(iter(docs.values())).metadata.get("title", "modifier")
    r = Retriever(settings)
    assert r.embedder.id == INT8
    hits = r.search(question, kinds, k=5)
    assert r.query_embeddings() == ["bundled/torch"]
    same = Retriever(settings, embedder=embedder).search(question, kinds, k=5)
    assert [(h.id, round(h.score, 6)) for h in hits] == [(h.id, round(h.score, 6)) for h in same]
    assert retrieval_modes(settings, r)["embedding"] == ["bundled/torch"]

    # A plain re-run changes nothing; an edited passage is embedded the collection's (torch) way.
    assert run_ingest(settings, sources(), embedder=int8_embedder).embedded == 0
    path = sorted(corpus_copy.glob("*.md"))[0]
    path.write_text(path.read_text().rstrip() + "\n\nOne more sentence about the spleen.\n")
    edited = run_ingest(settings, sources(), embedder=int8_embedder)
    assert edited.updated == 1 and edited.embedded == 1
    changed = [d for d in CorpusSource(corpus_copy).passages() if "spleen" in d.page_content][0]
    kind, text = changed.metadata["collection"], changed.metadata["embed_text"]
    assert _cos(_stored(settings, kind, [changed.id]), embedder.encode([text])).min() > 0.9999
    assert set(_cached(settings, text)) == {"torch"}
    assert str(stored_embedding(get_collection(make_client(settings), kind), "bundled")) == "bundled/torch"

    # --rebuild applies the setting: every vector is made by int8 (none was cached for it) ...
    rebuilt = run_ingest(settings, sources(), embedder=int8_embedder, rebuild=True)
    n = sum(1 for _ in CorpusSource(corpus_copy).passages())
    assert rebuilt.ok and rebuilt.embedded == n
    client = make_client(settings)
    assert {str(stored_embedding(get_collection(client, k), "bundled")) for k in kinds} == {"bundled/onnx-int8"}
    # int8 vectors depend a little on their batch (activations are quantised per batch), so the stored one
    # is compared with the one the cache kept for it
    assert set(_cached(settings, text)) == {"torch", "onnx-int8"}
    np.testing.assert_allclose(_stored(settings, kind, [changed.id])[0], _cached(settings, text)["onnx-int8"],
                               atol=1e-6)
    # ... and a retriever that prefers torch now embeds its queries with int8
    r2 = Retriever(settings, embedder=embedder)
    r2.search(question, kinds, k=5)
    assert r2.query_embeddings() == ["bundled/onnx-int8"]

    # Switching back re-embeds exactly what changed: nothing, every torch vector is in the cache.
    back = run_ingest(settings, sources(), embedder=embedder, rebuild=True)
    assert back.ok and back.embedded == 0
    assert {str(stored_embedding(get_collection(make_client(settings), k), "bundled")) for k in kinds} == \
        {"bundled/torch"}
    np.testing.assert_allclose(_stored(settings, kind, [changed.id])[0], _cached(settings, text)["torch"], atol=1e-6)


def test_a_collection_made_before_backends_existed_is_queried_with_torch(tmp_path, embedder, int8_embedder):
    settings = make_settings(tmp_path / "data")
    client = make_client(settings)
    legacy = client.get_or_create_collection(collection_name("notes"), metadata=HNSW)  # no embedding recorded
    texts = ["Acute appendicitis with generalized peritonitis", "Chronic obstructive pulmonary disease"]
    legacy.add(ids=["a", "b"], embeddings=embedder.encode(texts).tolist(), documents=texts)
    q = QueryVectors("appendicitis", int8_embedder)
    np.testing.assert_allclose(q(legacy), embedder.encode(["appendicitis"])[0], atol=1e-6)
    assert stored_embedding(legacy, "bundled") == TORCH


def test_staged_rebuild_moves_to_the_new_backend(tmp_path, corpus_copy, embedder, int8_embedder):
    """Lexical stage, then the background dense stage; a lexical --rebuild with another backend drops the
    old vectors and the dense stage makes them the new way."""
    settings = make_settings(tmp_path / "data", embed_backend="onnx-int8")
    sources = [CorpusSource(corpus_copy)]
    assert run_ingest(settings, sources, dense=False).ok
    assert run_dense(settings, embedder=embedder).complete  # a torch build
    kinds = sorted({d.metadata["collection"] for d in CorpusSource(corpus_copy).passages()})
    assert {stored_embedding(get_collection(make_client(settings), k), "bundled") for k in kinds} == {TORCH}
    assert run_ingest(settings, sources, dense=False, rebuild=True).ok
    assert all(get_collection(make_client(settings), k).count() == 0 for k in kinds)  # torch vectors gone
    dense = run_dense(settings, embedder=int8_embedder)
    assert dense.complete and dense.upserted == dense.total > 0
    assert {stored_embedding(get_collection(make_client(settings), k), "bundled") for k in kinds} == {INT8}
    again = run_ingest(settings, sources, embedder=int8_embedder)
    assert again.embedded == 0 and set(again.sources.values()) == {"unchanged"}
