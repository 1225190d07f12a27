"""Staged start: the lexical stage (no model, no vectors), then the dense stage (resumable), against the real
pipeline, embedded Chroma in a temp dir and the real bundled model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from casepilot.status import dense_progress, read_stage
from casepilot.vectorstore import get_collection, make_client
from ingest.corpus import CorpusSource
from ingest.icd10pcs import ICD10PCSSource
from ingest.pipeline import DenseQueue, IngestBusy, lock_for, run_dense, run_ingest
from tests.conftest import make_settings, slice_sources

pytestmark = pytest.mark.slow


def _small(corpus):
    return [ICD10PCSSource(limit_tables=("0DT",)), CorpusSource(corpus)]


def _chroma_state(settings) -> dict[str, dict]:
    """Every collection's vectors: id -> (document, metadata, embedding)."""
    from casepilot.passages import PassageStore

    client = make_client(settings)
    out = {}
    for coll in PassageStore(settings.data_dir / "passages.sqlite").revisions():
        c = get_collection(client, coll)
        got = c.get(include=["documents", "metadatas", "embeddings"]) if c is not None else {"ids": []}
        out[coll] = {i: (d, m, np.asarray(e)) for i, d, m, e in
                     zip(got["ids"], got.get("documents") or [], got.get("metadatas") or [], got.get("embeddings")
                         if got.get("embeddings") is not None else [])}
    return out


def _assert_same_vectors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for coll in a:
        assert a[coll].keys() == b[coll].keys(), coll
        for pid, (doc, meta, vec) in a[coll].items():
            doc2, meta2, vec2 = b[coll][pid]
            assert doc == doc2 and meta == meta2, pid
            assert np.allclose(vec, vec2, atol=1e-5), pid


def test_lexical_stage_answers_lookups_and_descriptions_without_vectors(tmp_path):
    """Stage 1 alone: exact lookups and BM25 answer; no model was needed and Chroma holds nothing."""
    from casepilot.engine import ChatEngine
    from casepilot.retrieval import Retriever

    settings = make_settings(tmp_path / "data")
    summary = run_ingest(settings, slice_sources(settings), dense=False)
    assert summary.ok and summary.passages > 1000 and summary.embedded == 0
    assert summary.pending_vectors == summary.passages
    assert not settings.chroma_dir.exists()  # nothing was written to Chroma
    assert not (settings.data_dir / "embeddings.sqlite").exists()  # and nothing embedded
    progress = dense_progress(settings)
    assert progress["stage"] == "lexical" and progress["full"] is False
    assert progress["done"] == 0 and progress["total"] == summary.passages and progress["build"] == "pending"

    engine = ChatEngine(settings, retriever=Retriever(settings))
    events = list(engine.stream("What is ICD-10-CM E11.22?"))
    meta, done = events[0][1], events[-1][1]
    assert meta["retrieval"] == {"lexical": True, "dense": False, "dense_progress": 0.0}
    assert "Type 2 diabetes mellitus with diabetic chronic kidney disease" in done["answer"]
    assert {"code": "E11.22", "system": "icd10cm"}.items() <= done["codes"][0].items()
    assert done["codes"][0]["verified"] is True

    done = engine.answer("What is the code for type 2 diabetes mellitus with diabetic chronic kidney disease?")
    assert done["answered"] and "E11.22" in done["answer"] and done["citations"]
    hits = engine.retriever.search("type 2 diabetes with diabetic chronic kidney disease", ["icd10cm"], k=3)
    assert hits[0].id == "icd10cm:E1122"
    assert all(h.signals["dense"] == 0.0 and h.signals["bm25"] > 0 for h in hits)  # BM25 alone
    # guidance (corpus) search works lexically too
    assert engine.retriever.search("modifier 25 significant separately identifiable E/M", k=3)
    client = make_client(settings)
    assert all((c := get_collection(client, coll)) is None or c.count() == 0 for coll in engine.retriever.available)


def test_dense_stage_resumes_after_interruption_and_ends_like_a_full_ingest(tmp_path, corpus_copy, embedder):
    staged = make_settings(tmp_path / "staged")
    lexical = run_ingest(staged, _small(corpus_copy), dense=False)
    total = lexical.passages
    assert lexical.pending_vectors == total > 100

    # interrupted: one batch only (as if killed after it)
    first = run_dense(staged, embedder=embedder, batch_size=40, max_batches=1)
    assert first.stopped and not first.complete and first.upserted == first.done > 0 and first.done < total
    stage = read_stage(staged.data_dir)
    assert stage["build"]["state"] == "stopped"
    assert sum(c["done"] for c in stage["collections"].values()) == first.done
    assert dense_progress(staged)["stage"] == "lexical"

    # the re-run resumes: it upserts only what is missing
    second = run_dense(staged, embedder=embedder, batch_size=40)
    assert second.complete and not second.stopped and not second.problems
    assert second.upserted == total - first.done
    assert second.done == second.total == total
    progress = dense_progress(staged)
    assert progress["stage"] == "full" and progress["full"] and progress["build"] == "done"
    assert progress["fraction"] == 1.0 and progress["collections"]
    assert DenseQueue(DenseQueue.path_for(staged.data_dir)).con.execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 0

    # a third dense run, and a normal full ingest, find nothing to do
    again = run_dense(staged, embedder=embedder, batch_size=40)
    assert again.complete and again.upserted == again.embedded == 0
    full_again = run_ingest(staged, _small(corpus_copy), embedder=embedder)
    assert (full_again.added, full_again.updated, full_again.deleted, full_again.embedded) == (0, 0, 0, 0)
    assert set(full_again.sources.values()) == {"unchanged"}

    # the same vectors, documents and metadata as one full ingest from scratch
    full = make_settings(tmp_path / "full")
    run_ingest(full, _small(corpus_copy), embedder=embedder)
    assert dense_progress(full)["full"]
    _assert_same_vectors(_chroma_state(staged), _chroma_state(full))


def test_full_ingest_after_the_lexical_stage_fills_in_the_vectors(tmp_path, corpus_copy, embedder):
    """`casepilot ingest` (both stages in one) after `--lexical-only` ends in the state of a full ingest."""
    settings = make_settings(tmp_path / "data")
    run_ingest(settings, _small(corpus_copy), dense=False)
    run_dense(settings, embedder=embedder, batch_size=50, max_batches=1)
    s = run_ingest(settings, _small(corpus_copy), embedder=embedder)
    assert s.ok and s.added == 0 and s.pending_vectors == 0
    assert dense_progress(settings)["full"]
    queue = DenseQueue(DenseQueue.path_for(settings.data_dir))
    assert queue.con.execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 0  # nothing left waiting
    queue.close()
    again = run_ingest(settings, _small(corpus_copy), embedder=embedder)
    assert (again.added, again.updated, again.deleted, again.embedded) == (0, 0, 0, 0)


def test_a_changed_source_drops_its_stale_vectors_and_the_dense_stage_replaces_them(tmp_path, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data")
    run_ingest(settings, _small(corpus_copy), embedder=embedder)  # full
    files = sorted(corpus_copy.glob("*.md"))
    edited, removed = files[0], files[1]
    edited.write_text(edited.read_text().rstrip() + "\n\nAn extra sentence added by the test.\n")
    removed.unlink()

    s = run_ingest(settings, _small(corpus_copy), dense=False)
    assert s.updated == 1 and s.deleted > 0 and s.embedded == 0
    assert s.pending_vectors == 1  # the edited passage: its old vector is gone, the new one is pending
    assert dense_progress(settings)["stage"] == "lexical"
    d = run_dense(settings, embedder=embedder)
    assert d.complete and d.upserted == 1 and d.embedded == 1

    fresh = make_settings(tmp_path / "fresh")
    run_ingest(fresh, _small(corpus_copy), embedder=embedder)
    _assert_same_vectors(_chroma_state(settings), _chroma_state(fresh))


def test_dense_stage_keeps_the_one_writer_lock(tmp_path):
    settings = make_settings(tmp_path / "data")
    lock = lock_for(settings.data_dir)
    lock.acquire()
    try:
        with pytest.raises(IngestBusy, match="already running"):
            run_dense(settings)
    finally:
        lock.release()


def test_cli_stages_print_plain_progress_lines_when_not_a_terminal(tmp_path, corpus_copy, embedder, monkeypatch):
    """`casepilot ingest --lexical-only`, then `--dense-only` (interrupted, resumed), then `status --json`."""
    from typer.testing import CliRunner

    import ingest.pipeline as pipeline
    from casepilot import settings as settings_mod
    from casepilot.cli import app

    data = tmp_path / "data"
    monkeypatch.setenv("CASEPILOT_DATA_DIR", str(data))
    monkeypatch.setattr(pipeline, "default_sources", lambda settings: _small(corpus_copy))
    monkeypatch.setattr(pipeline, "MiniLMEmbeddings", lambda *a, **k: embedder)  # the session's loaded model
    settings_mod.get_settings.cache_clear()
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["ingest", "--lexical-only"])
        assert r.exit_code == 0, r.output
        assert "passages pending" in r.stdout and "--dense-only" in r.stdout

        r = runner.invoke(app, ["ingest", "--dense-only", "--batch-size", "30", "--max-batches", "2"])
        assert r.exit_code == 0, r.output
        assert "stopped; run again to resume" in r.stdout
        lines = [x for x in r.stderr.splitlines() if ": embedded " in x]
        assert lines and all("/s, " in x and ("ETA " in x or " in " in x) for x in lines), r.stderr

        r = runner.invoke(app, ["status", "--json"])
        st = json.loads(r.stdout)
        assert st["stage"] == "lexical" and st["full"] is False
        assert st["vectors"]["build"] == "stopped" and 0 < st["vectors"]["done"] < st["vectors"]["total"]
        # the default keeps icd10pcs lexical-only: it has passages and no vectors to wait for
        assert st["lexical_only"] == ["icd10pcs"] and "icd10pcs" in st["collections"]
        assert set(st["vectors"]["collections"]) == set(st["collections"]) - {"icd10pcs"}
        r = runner.invoke(app, ["status"])
        assert "Stage lexical" in r.stdout and "vectors" in r.stdout and "resumes" in r.stdout
        assert "collection icd10pcs: " in r.stdout and "lexical only" in r.stdout

        r = runner.invoke(app, ["ingest", "--dense-only", "--json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        assert out["complete"] and out["done"] == out["total"]
        r = runner.invoke(app, ["status", "--json"])
        st = json.loads(r.stdout)
        assert st["stage"] == "full" and st["full"] is True and st["vectors"]["fraction"] == 1.0

        r = runner.invoke(app, ["ingest", "--lexical-only", "--dense-only"])
        assert r.exit_code == 2
    finally:
        settings_mod.get_settings.cache_clear()


def test_plain_progress_line_format():
    import io

    from casepilot.cli import _PlainReporter

    buf = io.StringIO()
    rep = _PlainReporter(stream=buf, every_s=3600, every_pct=10)
    tick = rep.start("icd10cm: embedding", 74_000)
    for _ in range(74):
        tick(1000)
    rep.finish()
    lines = buf.getvalue().splitlines()
    assert 9 <= len(lines) <= 11  # every 10 %, and the last one
    assert lines[0].startswith("icd10cm: embedded 8,000/74,000 (") and "/s, ETA " in lines[0]
    assert lines[-1].startswith("icd10cm: embedded 74,000/74,000 (") and " in " in lines[-1]
