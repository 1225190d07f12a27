"""Embedding ids, cache keys, pooling and the ONNX export's bookkeeping: no model is loaded here."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from casepilot.embeddings import (EmbeddingCache, EmbeddingId, MiniLMEmbeddings, bundled_model_path,
                                  default_export_dir, embedder_for)
from casepilot.onnxmodel import EXPORT_VERSION, SentenceConfig, _write_atomic, export_path, pool, verified
from casepilot.settings import Settings


def test_torch_keeps_the_cache_keys_written_before_backends_existed(tmp_path):
    """Existing embeddings.sqlite files stay valid: torch vectors were keyed by sha256("bundled\\0text")."""
    old = hashlib.sha256("bundled\x00Cholera".encode()).hexdigest()
    assert EmbeddingCache.key("Cholera", EmbeddingId("bundled", "torch")) == old
    keys = {EmbeddingCache.key("Cholera", EmbeddingId("bundled", b)) for b in ("torch", "onnx", "onnx-int8")}
    assert len(keys) == 3  # another backend never reads torch's vectors (int8 ones differ: cosine ~0.99)


def test_cache_returns_only_the_asked_backends_vectors(tmp_path):
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    torch_id, int8 = EmbeddingId("bundled", "torch"), EmbeddingId("bundled", "onnx-int8")
    cache.put_many({cache.key("a", torch_id): np.ones(4, np.float32)})
    assert len(cache.get_many(["a"], torch_id)) == 1
    assert cache.get_many(["a"], int8) == {}
    cache.close()


def test_collection_metadata_round_trip_and_legacy_collections():
    i = EmbeddingId("bundled", "onnx-int8")
    assert EmbeddingId.from_metadata({"hnsw:space": "cosine", **i.metadata()}, "other") == i
    # made before backends existed: torch, and the model the settings name
    assert EmbeddingId.from_metadata({"hnsw:space": "cosine"}, "bundled") == EmbeddingId("bundled", "torch")
    assert EmbeddingId.from_metadata(None, "bundled").backend == "torch"


def test_embedder_for_picks_the_collections_own_and_loads_nothing(tmp_path):
    preferred = MiniLMEmbeddings(backend="onnx-int8", export_dir=tmp_path)
    assert embedder_for(EmbeddingId("bundled", "onnx-int8").metadata(), preferred) is preferred
    legacy = embedder_for({"hnsw:space": "cosine"}, preferred)
    assert legacy.id == EmbeddingId("bundled", "torch") and legacy is not preferred
    assert embedder_for({}, preferred) is legacy  # one per process
    assert legacy._model is None and preferred._model is None  # lazy: nothing loaded yet


def test_backend_is_checked():
    with pytest.raises(ValueError, match="backend must be one of"):
        MiniLMEmbeddings(backend="onnx-fp16")
    with pytest.raises(ValueError, match="export_dir"):
        MiniLMEmbeddings(backend="onnx")
    with pytest.raises(ValueError, match="embed_backend"):
        Settings(embed_backend="tensorrt")
    assert Settings(embed_backend="torch").embed_backend == "torch"


def test_pool_matches_sentence_transformers_mean_pooling_and_normalize():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(3, 5, 8)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    got = pool(hidden, mask, SentenceConfig())
    for i in range(3):
        n = mask[i].sum()
        want = hidden[i, :n].mean(axis=0)
        np.testing.assert_allclose(got[i], want / np.linalg.norm(want), rtol=1e-5, atol=1e-6)
    cls = pool(hidden, mask, SentenceConfig(pooling="cls", normalize=False))
    np.testing.assert_allclose(cls, hidden[:, 0, :])


def test_bundled_model_config_is_mean_pooling_normalized_256_tokens():
    assert SentenceConfig.read(bundled_model_path()) == SentenceConfig(256, "mean", True)


def test_unsupported_pooling_is_refused(tmp_path):
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_max_tokens": True}))
    with pytest.raises(Exception, match="not supported"):
        SentenceConfig.read(tmp_path)


def test_export_path_is_keyed_by_model_and_backend(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    a = export_path(model, tmp_path / "cache", "onnx")
    b = export_path(model, tmp_path / "cache", "onnx-int8")
    assert a.parent == b.parent and a.name == "onnx.onnx" and b.name == "onnx-int8.onnx"
    assert a.parent.name.startswith("my-model-")
    (model / "config.json").write_text('{"changed": 1}')  # new weights or config: a new export
    assert export_path(model, tmp_path / "cache", "onnx") != a
    with pytest.raises(ValueError, match="backend must be one of"):
        export_path(model, tmp_path / "cache", "torch")
    assert default_export_dir(tmp_path) == tmp_path / "models"


def test_verified_needs_a_matching_manifest(tmp_path):
    f = tmp_path / "onnx.onnx"
    f.write_bytes(b"graph bytes")
    assert not verified(f)  # no manifest: an export killed before its manifest was written
    man = {"export_version": EXPORT_VERSION, "size": f.stat().st_size,
           "sha256": hashlib.sha256(b"graph bytes").hexdigest()}
    f.with_suffix(".json").write_text(json.dumps(man))
    assert verified(f)
    f.write_bytes(b"graph bytez")  # same size, other bytes
    assert not verified(f)
    f.write_bytes(b"graph bytes")
    f.with_suffix(".json").write_text(json.dumps({**man, "export_version": EXPORT_VERSION - 1}))
    assert not verified(f)  # another recipe
    f.with_suffix(".json").write_text("{not json")
    assert not verified(f)


def test_a_failed_write_leaves_nothing_at_the_destination(tmp_path):
    dest = tmp_path / "onnx.onnx"

    def dies(tmp):
        tmp.write_bytes(b"half a graph")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _write_atomic(dies, dest)
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    _write_atomic(lambda tmp: tmp.write_bytes(b"whole"), dest)
    assert dest.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [dest]
