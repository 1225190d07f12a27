"""Ingest against real Chroma (embedded, temp dir) and the real bundled model, on a small corpus."""

import shutil
import subprocess
import sys
import time

import pytest

from casepilot.codestore import CodeStore
from casepilot.passages import PassageStore
from ingest.corpus import CorpusSource
from ingest.icd10pcs import ICD10PCSSource
from ingest.pipeline import IngestBusy, lock_for, run_ingest
from tests.conftest import REPO, make_settings

pytestmark = pytest.mark.slow


def _sources(settings, corpus):
    return [ICD10PCSSource(limit_tables=("0DT",)), CorpusSource(corpus)]


def test_second_run_changes_nothing(tmp_path, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data")
    first = run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    assert first.ok and first.added == first.passages > 0 and first.embedded > 0
    again = run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    assert (again.added, again.updated, again.deleted, again.embedded) == (0, 0, 0, 0)
    assert again.skipped == first.passages
    assert set(again.sources.values()) == {"unchanged"}


def test_edit_updates_only_that_file_and_delete_removes(tmp_path, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data")
    run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    files = sorted(corpus_copy.glob("*.md"))
    edited, removed = files[0], files[1]
    text = edited.read_text()
    # change the body of the last section only
    edited.write_text(text.rstrip() + "\n\nAn extra sentence added by the test.\n")
    removed_ids = {d.id for d in CorpusSource(corpus_copy).passages() if d.metadata["file"] == removed.name}
    removed.unlink()
    s = run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    assert s.added == 0 and s.updated == 1 and s.embedded == 1
    assert s.deleted == len(removed_ids) > 0
    ps = PassageStore(settings.data_dir / "passages.sqlite")
    assert not (set(ps.get(sorted(removed_ids))))
    store = CodeStore(settings.codestore_path)
    assert all(r["records"] >= 0 for r in store.sources())


def test_bad_file_is_reported_and_nothing_is_lost(tmp_path, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data")
    first = run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    victim = sorted(corpus_copy.glob("*.md"))[0]
    victim.write_bytes(b"---\nid: [broken\n---\n## x\ny\n")
    (corpus_copy / "latin.md").write_bytes("---\nid: l\n---\ncaf\xe9".encode("latin-1"))
    s = run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    assert not s.ok
    where = {p.where.rsplit("/", 1)[-1]: p.message for p in s.problems}
    assert "broken YAML" in where[victim.name] and "not UTF-8" in where["latin.md"]
    assert s.deleted == 0  # the broken file's passages stay until it is fixed
    assert s.passages == first.passages - 0 or s.passages <= first.passages
    ps = PassageStore(settings.data_dir / "passages.sqlite")
    assert sum(n for _, n in ps.revisions().values()) == first.passages


def test_second_ingest_fails_fast_while_one_runs(tmp_path):
    settings = make_settings(tmp_path / "data")
    lock = lock_for(settings.data_dir)
    lock.acquire()
    try:
        t = time.perf_counter()
        with pytest.raises(IngestBusy, match="already running"):
            run_ingest(settings, [])
        assert time.perf_counter() - t < 5
        # and through the CLI: a clear message and its own exit status
        env = {"CASEPILOT_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
        r = subprocess.run([sys.executable, "-m", "casepilot.cli", "ingest"], env=env, capture_output=True,
                           text=True, timeout=120, cwd=REPO)
        assert r.returncode == 3 and "already running" in r.stderr
    finally:
        lock.release()


def test_chroma_losing_vectors_is_repaired(tmp_path, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data")
    first = run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    shutil.rmtree(settings.chroma_dir)  # e.g. a new Chroma server, or a lost volume
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # as a new process would start
    s = run_ingest(settings, _sources(settings, corpus_copy), embedder=embedder)
    assert s.embedded == 0  # vectors come back from the content-hash cache
    assert s.added + s.updated == first.passages
