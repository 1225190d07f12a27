"""BM25 survives an ingest killed before or during its save (issue 13, finding 8): builds are renamed into
place whole, the next ingest notices an index that does not match the passage store and rebuilds it, and a
damaged index file never crashes a load."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from casepilot.lexical import LexicalIndex, builds, content_fingerprint
from casepilot.passages import PassageStore
from ingest.pipeline import run_ingest
from ingest.source import Problem, passage
from tests.conftest import REPO, make_settings

pytestmark = pytest.mark.component

COLL = "notes_test"


class NotesSource:
    """A source of a few passages in one collection; no model, no files."""

    name = "test-notes"
    system = "docs"
    version = "1"
    note = ""
    collections = (COLL,)

    def __init__(self, texts: dict[str, str]):
        self.texts = texts
        self.problems: list[Problem] = []

    def fingerprint(self) -> str:
        return content_fingerprint(self.texts)

    def records(self):
        return []

    def passages(self):
        return [passage(COLL, f"{COLL}:{k}", v, title=k, source="test") for k, v in sorted(self.texts.items())]


BEFORE = {"a": "diabetes mellitus with kidney disease", "b": "essential hypertension", "c": "gastric reflux"}
AFTER = {**{k: v for k, v in BEFORE.items() if k != "c"}, "d": "quokkaflux syndrome of the left wrist"}


def _ingest(settings, texts):
    summary = run_ingest(settings, [NotesSource(texts)], dense=False)
    assert summary.ok, summary.problems
    return summary


def _passage_ids(settings) -> list[str]:
    return sorted(PassageStore(settings.data_dir / "passages.sqlite").hashes(COLL))


def _bm25(settings) -> LexicalIndex:
    index = LexicalIndex.load(settings.data_dir / "bm25" / COLL)
    assert index is not None
    return index


class Killed(BaseException):
    """Stands for SIGKILL in-process: nothing after the raise runs, no ``except Exception`` catches it."""


def test_an_ingest_killed_between_the_passage_writes_and_the_bm25_save_is_repaired_by_the_next(tmp_path,
                                                                                              monkeypatch):
    settings = make_settings(tmp_path / "data")
    _ingest(settings, BEFORE)

    def killed(self, folder, *a, **k):
        raise Killed()

    with monkeypatch.context() as m:
        m.setattr(LexicalIndex, "save", killed)
        with pytest.raises(Killed):
            run_ingest(settings, [NotesSource(AFTER)], dense=False)
    # The passages moved on, BM25 did not: it still holds c and lacks d.
    assert _passage_ids(settings) == [f"{COLL}:a", f"{COLL}:b", f"{COLL}:d"]
    assert sorted(_bm25(settings).ids) == [f"{COLL}:a", f"{COLL}:b", f"{COLL}:c"]

    _ingest(settings, AFTER)  # the same source again: nothing to write, but BM25 does not match
    index = _bm25(settings)
    assert sorted(index.ids) == _passage_ids(settings)
    assert index.search("quokkaflux", 3)[0][0] == f"{COLL}:d"
    hashes = PassageStore(settings.data_dir / "passages.sqlite").hashes(COLL)
    assert LexicalIndex.is_current(settings.data_dir / "bm25" / COLL, content_fingerprint(hashes))
    # and a third run finds everything in step: nothing rebuilt
    newest = builds(settings.data_dir / "bm25" / COLL)[0]
    assert _ingest(settings, AFTER).sources == {"test-notes": "unchanged"}
    assert builds(settings.data_dir / "bm25" / COLL)[0] == newest


def test_a_stale_index_under_an_unchanged_source_is_rebuilt(tmp_path):
    """The source's fingerprint is saved, but the BM25 build on disk is an older one (restored from a
    backup, or the newest build lost): the next ingest does not skip the source."""
    settings = make_settings(tmp_path / "data")
    _ingest(settings, BEFORE)
    _ingest(settings, AFTER)
    folder = settings.data_dir / "bm25" / COLL
    newest = builds(folder)[0]
    shutil.rmtree(newest)
    assert "quokkaflux" not in _bm25(settings).vocab  # the previous build, from BEFORE
    assert _ingest(settings, AFTER).sources == {"test-notes": "indexed"}
    assert _bm25(settings).search("quokkaflux", 3)[0][0] == f"{COLL}:d"


KILL_DURING_SAVE = textwrap.dedent("""
    import os, signal, sys
    import bm25s
    sys.path.insert(0, {repo!r})
    from tests.conftest import make_settings
    from tests.ingest.test_bm25_integrity import AFTER, NotesSource
    from ingest.pipeline import run_ingest

    real_save = bm25s.BM25.save

    def save_then_die(self, *a, **k):
        real_save(self, *a, **k)  # the arrays are written, the ids and the manifest not yet
        os.kill(os.getpid(), signal.SIGKILL)

    bm25s.BM25.save = save_then_die
    run_ingest(make_settings({data!r}), [NotesSource(AFTER)], dense=False)
""")


def test_sigkill_during_the_bm25_save_keeps_the_previous_index_and_the_next_ingest_repairs(tmp_path):
    settings = make_settings(tmp_path / "data")
    _ingest(settings, BEFORE)
    before_ids = sorted(_bm25(settings).ids)

    script = KILL_DURING_SAVE.format(repo=str(REPO), data=str(settings.data_dir))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]

    # The half-written build is invisible: the previous one loads whole and answers.
    index = _bm25(settings)
    assert sorted(index.ids) == before_ids
    assert index.search("hypertension", 3)[0][0] == f"{COLL}:b"

    _ingest(settings, AFTER)
    folder = settings.data_dir / "bm25" / COLL
    assert not list(folder.glob(".tmp-*"))  # the leftovers are gone
    index = _bm25(settings)
    assert sorted(index.ids) == _passage_ids(settings)
    assert index.search("quokkaflux", 3)[0][0] == f"{COLL}:d"


# -- loading a damaged index ---------------------------------------------------------------------------

def _two_builds(folder: Path) -> tuple[Path, Path]:
    LexicalIndex.build(["x:1", "x:2"], ["diabetes mellitus", "essential hypertension"]).save(folder, "one")
    LexicalIndex.build(["x:1", "x:2", "x:3"], ["diabetes mellitus", "essential hypertension", "quokkaflux"]
                       ).save(folder, "two")
    newest, previous = builds(folder)[:2]
    return newest, previous


@pytest.mark.parametrize("damage", ["truncate_scores", "truncate_ids", "garbage_vocab", "no_manifest",
                                    "ids_do_not_match"])
def test_a_damaged_index_does_not_crash_load_and_the_previous_complete_build_answers(tmp_path, caplog, damage):
    folder = tmp_path / "bm25" / "x"
    newest, previous = _two_builds(folder)
    if damage == "truncate_scores":
        p = newest / "data.csc.index.npy"
        p.write_bytes(p.read_bytes()[:40])
    elif damage == "truncate_ids":
        p = newest / "ids.json"
        p.write_bytes(p.read_bytes()[:5])
    elif damage == "garbage_vocab":  # same size, other bytes
        p = newest / "vocab.index.json"
        p.write_bytes(b"\x00" * p.stat().st_size)
    elif damage == "no_manifest":
        (newest / "manifest.json").unlink()
    else:  # valid JSON, the wrong list
        (newest / "ids.json").write_text(json.dumps(["x:1", "x:2"]))

    with caplog.at_level(logging.WARNING, logger="casepilot.lexical"):
        index = LexicalIndex.load(folder)
    assert index is not None and index.ids == ["x:1", "x:2"]  # the previous build
    assert index.search("hypertension", 2)[0][0] == "x:2"
    assert "skipped" in caplog.text
    assert not LexicalIndex.is_current(folder)  # so the next ingest rebuilds it


def test_a_truncated_only_build_loads_as_no_index(tmp_path):
    folder = tmp_path / "bm25" / "x"
    LexicalIndex.build(["x:1"], ["diabetes mellitus"]).save(folder, "one")
    (only,) = builds(folder)
    p = only / "indptr.csc.index.npy"
    p.write_bytes(p.read_bytes()[:-8])
    assert LexicalIndex.load(folder) is None
    assert not LexicalIndex.is_current(folder, "one")


def test_an_index_saved_before_builds_loads_and_the_next_save_replaces_it(tmp_path):
    folder = tmp_path / "bm25" / "x"
    folder.mkdir(parents=True)
    legacy = LexicalIndex.build(["x:1"], ["diabetes mellitus"])
    legacy.bm25.save(str(folder), show_progress=False)
    (folder / "ids.json").write_text(json.dumps(["x:1"]))
    (folder / "tokenizer.json").write_text(json.dumps({"version": 2}))
    assert LexicalIndex.load(folder).ids == ["x:1"]
    assert not LexicalIndex.is_current(folder)  # no fingerprint: rebuilt at the next ingest
    LexicalIndex.build(["x:1", "x:2"], ["diabetes mellitus", "hypertension"]).save(folder, "fp")
    assert [p.name for p in folder.iterdir() if p.is_file()] == []
    assert LexicalIndex.load(folder).ids == ["x:1", "x:2"]
    assert LexicalIndex.is_current(folder, "fp") and not LexicalIndex.is_current(folder, "other")


def test_saves_keep_two_builds_and_clear_leftovers(tmp_path):
    folder = tmp_path / "bm25" / "x"
    (folder / ".tmp-killed").mkdir(parents=True)
    (folder / ".tmp-killed" / "data.csc.index.npy").write_bytes(b"half")
    for n in range(4):
        LexicalIndex.build([f"x:{n}"], ["diabetes"]).save(folder, str(n))
    assert [p.name for p in builds(folder)] == ["b-000004", "b-000003"]
    assert sorted(p.name for p in folder.iterdir()) == ["b-000003", "b-000004"]
    assert LexicalIndex.load(folder).ids == ["x:3"]
