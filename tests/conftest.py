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
CM_CATEGORIES = ("N18", "Z79", "I10", "J44", "K21",
                 # the answer-quality issue's questions: pressure ulcers, hypertensive heart and CKD,
                 # heart failure, acute MI and its complications, immunization encounters
                 "L89", "I12", "I13", "I50", "I21", "I23", "Z23",
                 # history of a condition through the history codes' "classifiable to" ranges (and the
                 # history of MI, which Z86.7 excludes to I25.2)
                 "C16", "C18", "Z80", "Z85", "Z86", "I25",
                 # a status code whose "Code first" note names the kind of condition (Z17.0: malignant neoplasm)
                 "C50", "Z17", "N60")
PCS_TABLES = ("0DT", "0FT")


def make_settings(data_dir: Path, **kw):
    """Settings for a test's own data directory. Every collection gets vectors unless the test says otherwise:
    the small ICD-10-PCS slice is these tests' cheap source of a second embedded collection (the product default
    keeps icd10pcs lexical-only; tests/ingest/test_lexical_only.py covers that)."""
    from casepilot.settings import Settings

    kw.setdefault("lexical_only", [])
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


# -- the user's data stays the user's ----------------------------------------------------------------------
# `make run` keeps the user's index in .casepilot/ (the default data dir) and the user's shell may set
# CASEPILOT_* variables (a data dir, a Chroma server, an LLM, API keys). Tests use neither: every CASEPILOT_*
# variable is removed for the session and CASEPILOT_DATA_DIR points at a temporary directory, so anything
# that falls back to the defaults (get_settings(), Settings(), the CLI and `casepilot serve` in
# subprocesses) lands there. tests/test_user_data_untouched.py, run last, fails if the session read or
# changed .casepilot/ all the same (tests/user_data_guard.py says how it knows).
USER_DATA_DIR = REPO / ".casepilot"
USER_DATA = None  # the UserDataWatch of a pytest run


def pytest_configure(config):
    global USER_DATA
    from tests.user_data_guard import UserDataWatch

    config.addinivalue_line("markers", "user_data_guard: checks the session left the user's data alone; runs last")
    if USER_DATA is None:
        USER_DATA = UserDataWatch(USER_DATA_DIR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    USER_DATA.current = item.nodeid
    try:
        return (yield)
    finally:
        USER_DATA.current = "between tests"


def pytest_collection_modifyitems(config, items):
    """The guard runs after every other test (whatever the order of folders and files)."""
    guard = [i for i in items if i.get_closest_marker("user_data_guard")]
    items[:] = [i for i in items if not i.get_closest_marker("user_data_guard")] + guard


def pytest_sessionfinish(session, exitstatus):
    """Also fail a run that touched .casepilot/ after the guard ran, or without it (-k, a single file)."""
    problems = USER_DATA.problems() if USER_DATA is not None else []
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(f"the tests touched the user's data in {USER_DATA_DIR}:", red=True, bold=True)
            for p in problems[:20]:
                reporter.write_line(f"  {p}", red=True)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def default_data_dir(tmp_path_factory):
    """No inherited CASEPILOT_* settings; the default data dir is a temporary one. Yields that directory."""
    from casepilot import settings as settings_mod
    from tests.user_data_guard import inherited_settings_vars

    data = tmp_path_factory.mktemp("default-data-dir")
    with pytest.MonkeyPatch.context() as mp:
        for name in inherited_settings_vars():
            mp.delenv(name)
        mp.setenv("CASEPILOT_DATA_DIR", str(data))
        settings_mod.get_settings.cache_clear()
        try:
            yield data
        finally:
            settings_mod.get_settings.cache_clear()
