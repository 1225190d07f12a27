"""Shared fixtures: a real index over a slice of the code sets, built once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
# The slice: chapter 4 (endocrine, diabetes E08-E13), the CKD and long-term drug therapy categories its
# notes point at (N18, Z79), two PCS tables, and the whole project corpus.
CM_CHAPTERS = ("4",)
CM_CATEGORIES = ("N18", "Z79", "I10", "J44", "K21")
PCS_TABLES = ("0DT", "0FT")


def make_settings(data_dir: Path, **kw):
    from casepilot.settings import Settings

    return Settings(data_dir=data_dir, **kw)


def slice_sources(settings, corpus_dir: Path | None = None):
    from ingest.corpus import CorpusSource
    from ingest.icd10cm import ICD10CMSource
    from ingest.icd10pcs import ICD10PCSSource

    return [
        ICD10CMSource(chapters=CM_CHAPTERS, categories=CM_CATEGORIES),
        ICD10PCSSource(limit_tables=PCS_TABLES),
        CorpusSource(corpus_dir or settings.corpus_dir),
    ]


@pytest.fixture(scope="session")
def embedder():
    from casepilot.embeddings import MiniLMEmbeddings

    return MiniLMEmbeddings()


@pytest.fixture(scope="session")
def slice_index(tmp_path_factory, embedder):
    """A real index (SQLite code store, embedded Chroma, BM25) over the slice; read-only for tests."""
    from ingest.pipeline import run_ingest

    data = tmp_path_factory.mktemp("index")
    settings = make_settings(data)
    summary = run_ingest(settings, slice_sources(settings), embedder=embedder)
    assert summary.ok, summary.problems
    return settings


@pytest.fixture(scope="session")
def engine(slice_index, embedder):
    from casepilot.engine import ChatEngine
    from casepilot.retrieval import Retriever

    return ChatEngine(slice_index, retriever=Retriever(slice_index, embedder=embedder))


@pytest.fixture
def corpus_copy(tmp_path):
    """A private, writable copy of a few corpus files."""
    dst = tmp_path / "corpus"
    dst.mkdir()
    src = REPO / "corpus"
    picked = sorted(p for p in src.rglob("*.md") if p.name.lower() != "readme.md")[:3]
    for p in picked:
        shutil.copy(p, dst / p.name)
    return dst
