"""Lexical-only collections (CASEPILOT_LEXICAL_ONLY, by default icd10pcs): searched without vectors, never embedded,
and switching the setting either way leaves the index consistent. Real pipeline, embedded Chroma in a temp dir,
the real bundled model."""

from __future__ import annotations

import pytest

from casepilot.retrieval import Retriever
from casepilot.settings import Settings
from casepilot.status import collect_status, dense_progress, retrieval_modes
from casepilot.vectorstore import get_collection, make_client
from ingest.corpus import CorpusSource
from ingest.icd10pcs import ICD10PCSSource
from ingest.pipeline import run_dense, run_ingest
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


def _sources(corpus):
    return [ICD10PCSSource(limit_tables=("0DT",)), CorpusSource(corpus)]


def _pcs_codes() -> int:
    """Passages of the icd10pcs collection in the slice (the root operations' go to icd10pcs_reference)."""
    return sum(1 for d in ICD10PCSSource(limit_tables=("0DT",)).passages() if d.metadata["collection"] == "icd10pcs")


def _vectors(settings, coll: str) -> int | None:
    c = get_collection(make_client(settings), coll)
    return None if c is None else c.count()


def test_the_default_keeps_icd10pcs_lexical_only():
    s = Settings()
    assert s.lexical_only == ["icd10pcs"] and not s.embeds("icd10pcs") and s.embeds("icd10cm")


def test_a_lexical_only_collection_is_searched_without_vectors(tmp_path, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data", lexical_only=["icd10pcs"])
    summary = run_ingest(settings, _sources(corpus_copy), embedder=embedder)
    assert summary.ok, summary.problems
    pcs = _pcs_codes()
    assert _vectors(settings, "icd10pcs") is None  # no Chroma collection at all
    assert _vectors(settings, "icd10pcs_reference")  # the others are embedded (root operations, guidance)
    # nothing to wait for: the index is full without the PCS vectors, and the counts leave them out
    progress = dense_progress(settings)
    assert progress["full"] is True and "icd10pcs" not in progress["collections"]
    assert summary.embedded == summary.passages - pcs
    status = collect_status(settings)
    assert status["lexical_only"] == ["icd10pcs"] and status["collections"]["icd10pcs"] == pcs
    # the dense stage has nothing to do for it either
    assert run_dense(settings, embedder=embedder).complete

    retriever = Retriever(settings, embedder=embedder)
    hits = retriever.search("laparoscopic resection of appendix", ["icd10pcs"], k=3)
    assert hits and hits[0].doc.metadata["code"] == "0DTJ4ZZ"
    assert all(h.signals.get("dense", 0.0) == 0.0 for h in hits)
    assert not retriever.take_dense_skipped()  # not a vector store failure: there are no vectors by design
    modes = retrieval_modes(settings, retriever)
    assert modes["dense"] is True and modes["lexical_only"] == ["icd10pcs"]
    # the eval's naive baseline (dense only) searches the embedded collections and does not ask Chroma for the other
    from evals.baseline import NaiveRAG

    naive = NaiveRAG(settings, embedder)
    assert "icd10pcs" not in naive.stores and "icd10pcs_reference" in naive.stores
    assert naive.answer("What does the root operation Resection mean?")["citations"]
    # it embeds the question once and finds what LangChain's per-collection text search finds
    q = "laparoscopic appendectomy"
    each = sorted((dist, doc.id) for vs in naive.stores.values() for doc, dist in vs.similarity_search_with_score(q, k=naive.k))
    assert [d.id for d in naive.retrieve(q)] == [i for _, i in each[: naive.k]]
    # a second run changes nothing
    again = run_ingest(settings, _sources(corpus_copy), embedder=embedder)
    assert again.embedded == 0 and again.added == 0 and again.skipped == again.passages


def test_switching_the_setting_removes_or_rebuilds_the_vectors(tmp_path, corpus_copy, embedder):
    data = tmp_path / "data"
    everything = make_settings(data, lexical_only=[])
    run_ingest(everything, _sources(corpus_copy), embedder=embedder)
    pcs = _vectors(everything, "icd10pcs")
    assert pcs and pcs > 100

    # made lexical-only: the next ingest drops the vectors that would only go stale
    lexical = make_settings(data, lexical_only=["icd10pcs"])
    summary = run_ingest(lexical, _sources(corpus_copy), embedder=embedder)
    assert summary.ok and summary.embedded == 0 and summary.added == 0
    assert _vectors(lexical, "icd10pcs") is None
    assert dense_progress(lexical)["full"] is True

    # embedded again: the vectors come back (from the embedding cache: nothing is computed twice)
    summary = run_ingest(everything, _sources(corpus_copy), embedder=embedder)
    assert summary.ok and _vectors(everything, "icd10pcs") == pcs and summary.embedded == 0


def test_the_lexical_stage_queues_nothing_for_a_lexical_only_collection(tmp_path, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data", lexical_only=["icd10pcs"])
    summary = run_ingest(settings, _sources(corpus_copy), dense=False)
    pcs = _pcs_codes()
    assert summary.ok and summary.pending_vectors == summary.passages - pcs
    done = run_dense(settings, embedder=embedder)
    assert done.complete and done.total == summary.passages - pcs
    assert _vectors(settings, "icd10pcs") is None
