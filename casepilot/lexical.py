"""BM25 over one collection's passages (bm25s), saved beside Chroma and rebuilt only when it changes.

On disk a collection's folder holds numbered builds (``b-000007/``), each complete before it gets its
name: a save writes into ``.tmp-*`` and renames it into place, so a kill at any moment leaves the
previous build in use. Each build's ``manifest.json`` (written last) records the tokenizer, the passage
count, a fingerprint of the passages it was built from and every file's size and sha256. Ingest compares
the fingerprint with the passage store and rebuilds on a mismatch; loading skips a damaged build for the
previous complete one. (An index saved before builds existed still loads, and is rebuilt at the next ingest.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

import bm25s
import numpy as np

from casepilot.text import tokens

log = logging.getLogger(__name__)

# Bump when casepilot.text.tokens changes: indexes built by an older tokenizer are rebuilt at ingest.
TOKENIZER_VERSION = 2
MANIFEST = "manifest.json"
KEEP_BUILDS = 2  # the current build and the one before it (a reader may still be loading it)
_BUILD = re.compile(r"^b-(\d+)$")


def content_fingerprint(hashes: Mapping[str, str]) -> str:
    """What an index is built from: sha256 of a collection's (passage id, content hash) pairs, in any order.

    >>> content_fingerprint({"b": "2", "a": "1"}) == content_fingerprint({"a": "1", "b": "2"})
    True
    >>> content_fingerprint({"a": "1"}) == content_fingerprint({"a": "2"})
    False
    """
    h = hashlib.sha256()
    for pid in sorted(hashes):
        h.update(f"{pid}\t{hashes[pid]}\n".encode())
    return h.hexdigest()


def builds(folder: Path) -> list[Path]:
    """The numbered builds under ``folder``, newest first (half-written ``.tmp-*`` folders are not builds)."""
    try:
        found = [(int(m.group(1)), p) for p in Path(folder).iterdir() if (m := _BUILD.match(p.name)) and p.is_dir()]
    except OSError:
        return []
    return [p for _, p in sorted(found, reverse=True)]


def manifest(build: Path) -> dict | None:
    """A build's manifest when every file it lists is there with its recorded size and sha256, else None."""
    try:
        m = json.loads((build / MANIFEST).read_text())
        files = m["files"]
        if not isinstance(files, dict) or not files:
            return None
        for name, (size, digest) in files.items():
            path = build / name
            if path.stat().st_size != size or _sha256(path) != digest:
                return None
        return m
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


class LexicalIndex:
    """BM25 scores for one collection; ``ids[i]`` is the passage id of document ``i``."""

    def __init__(self, bm25: bm25s.BM25, ids: list[str]):
        self.bm25 = bm25
        self.ids = ids
        self.vocab = bm25.vocab_dict if hasattr(bm25, "vocab_dict") else {}

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> "LexicalIndex":
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([tokens(t) or ["_empty_"] for t in texts], show_progress=False)
        return cls(bm25, ids)

    def save(self, folder: Path, fingerprint: str = "") -> Path:
        """Write a new build of ``folder`` and switch to it with one rename; returns the build's path.

        ``fingerprint`` (``content_fingerprint`` of the passages indexed) is what ``is_current`` checks.
        Leftovers of a save that was killed are removed first; the two newest builds are kept.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for p in folder.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
        self.bm25.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(self.ids))
        files = {p.name: [p.stat().st_size, _sha256(p)] for p in sorted(tmp.iterdir())}
        (tmp / MANIFEST).write_text(json.dumps({"tokenizer": TOKENIZER_VERSION, "count": len(self.ids),
                                                "fingerprint": fingerprint, "files": files}))
        for p in tmp.iterdir():  # on disk before the rename makes the build visible
            _fsync(p)
        previous = builds(folder)
        seq = int(_BUILD.match(previous[0].name).group(1)) + 1 if previous else 1
        target = folder / f"b-{seq:06d}"
        os.rename(tmp, target)
        _fsync(folder)
        for old in builds(folder)[KEEP_BUILDS:]:
            shutil.rmtree(old, ignore_errors=True)
        for p in folder.iterdir():  # an index saved before builds existed
            if p.is_file():
                p.unlink(missing_ok=True)
        return target

    @staticmethod
    def is_current(folder: Path, fingerprint: str | None = None) -> bool:
        """True when the newest build under ``folder`` is complete, made by this tokenizer and, when
        ``fingerprint`` is given, from exactly those passages."""
        found = builds(folder)
        m = manifest(found[0]) if found else None
        if m is None or m.get("tokenizer") != TOKENIZER_VERSION:
            return False
        return fingerprint is None or m.get("fingerprint") == fingerprint

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex | None":
        """The newest build that loads whole; a damaged one is logged and skipped. None when none does."""
        folder = Path(folder)
        for _ in range(2):  # a save may prune a build while it is read: list the builds again once
            found = builds(folder)
            for i, b in enumerate(found):
                index = cls._load_build(b)
                if index is not None:
                    if i:
                        log.warning("BM25 index %s: using the previous complete build %s", folder.name, b.name)
                    return index
            if not found:
                break
        if (folder / "ids.json").exists():  # an index saved before builds existed
            return cls._load_files(folder, None)
        return None

    @classmethod
    def _load_build(cls, build: Path) -> "LexicalIndex | None":
        m = manifest(build)
        if m is None:
            log.warning("BM25 index %s/%s is incomplete (a save was interrupted?): skipped",
                        build.parent.name, build.name)
            return None
        return cls._load_files(build, m.get("count"))

    @classmethod
    def _load_files(cls, folder: Path, count: int | None) -> "LexicalIndex | None":
        try:
            bm25 = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
            ids = json.loads((folder / "ids.json").read_text())
            docs = bm25.scores.get("num_docs") if isinstance(bm25.scores, dict) else None
            if not isinstance(ids, list) or (count is not None and len(ids) != count) or \
                    (docs is not None and docs != len(ids)):
                raise ValueError(f"{len(ids)} ids for {docs} BM25 documents")
        except Exception as e:  # numpy, json and bm25s each raise their own types for a damaged file
            log.warning("BM25 index %s/%s does not load (%s: %s): skipped", folder.parent.name, folder.name,
                        type(e).__name__, str(e)[:200])
            return None
        return cls(bm25, ids)

    def document_frequencies(self) -> dict[str, int]:
        """word -> how many passages of this collection contain it."""
        indptr = self.bm25.scores.get("indptr") if isinstance(self.bm25.scores, dict) else None
        if indptr is None:
            return {}
        counts = np.diff(np.asarray(indptr))
        return {w: int(counts[i]) for w, i in self.vocab.items() if i < len(counts)}

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(id, BM25 score) of the best ``k`` passages for ``query``; words unknown to the index are dropped."""
        q = [t for t in dict.fromkeys(tokens(query)) if t in self.vocab]
        if not q or not self.ids:
            return []
        scores = self.bm25.get_scores(q)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a rename is durable only once its folder is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
