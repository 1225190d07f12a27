"""The passage store: every indexed passage's text, metadata and content hash (SQLite).

Ingest diffs against it to stay idempotent; retrieval reads texts and metadata from it by id.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from langchain_core.documents import Document

SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
  id TEXT PRIMARY KEY, collection TEXT NOT NULL, hash TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_collection ON passages(collection);
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY, revision TEXT NOT NULL, count INTEGER NOT NULL);
"""


class PassageStore:
    def __init__(self, path: Path, readonly: bool = True):
        self.path = Path(path)
        self.readonly = readonly
        self._local = threading.local()
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.con as con:
                con.executescript(SCHEMA)

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self.readonly:
                con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            else:
                con = sqlite3.connect(self.path, timeout=30)
                con.execute("PRAGMA journal_mode=WAL")
            self._local.con = con
        return con

    def hashes(self, collection: str) -> dict[str, str]:
        return dict(self.con.execute("SELECT id, hash FROM passages WHERE collection = ?", (collection,)))

    def upsert(self, rows: Iterable[tuple[str, str, str, str, dict]]) -> None:
        """rows: (id, collection, hash, text, metadata)."""
        with self.con as con:
            con.executemany(
                "INSERT OR REPLACE INTO passages VALUES (?,?,?,?,?)",
                [(i, c, h, t, json.dumps(m, ensure_ascii=False)) for i, c, h, t, m in rows],
            )

    def delete(self, ids: list[str]) -> None:
        with self.con as con:
            for i in range(0, len(ids), 900):
                part = ids[i : i + 900]
                con.execute(f"DELETE FROM passages WHERE id IN ({','.join('?' * len(part))})", part)

    def set_revision(self, collection: str, revision: str) -> None:
        with self.con as con:
            n = con.execute("SELECT COUNT(*) FROM passages WHERE collection = ?", (collection,)).fetchone()[0]
            con.execute("INSERT OR REPLACE INTO collections VALUES (?,?,?)", (collection, revision, n))

    def revisions(self) -> dict[str, tuple[str, int]]:
        return {n: (r, c) for n, r, c in self.con.execute("SELECT name, revision, count FROM collections")}

    def get(self, ids: list[str]) -> dict[str, Document]:
        out: dict[str, Document] = {}
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            q = f"SELECT id, text, metadata FROM passages WHERE id IN ({','.join('?' * len(part))})"
            for pid, text, meta in self.con.execute(q, part):
                out[pid] = Document(page_content=text, metadata=json.loads(meta), id=pid)
        return out

    def titles(self, collection: str) -> list[tuple[str, str, bool]]:
        """(id, first line, billable) of every passage of a collection."""
        rows = self.con.execute(
            "SELECT id, substr(text, 1, instr(text || char(10), char(10)) - 1), "
            "coalesce(json_extract(metadata, '$.billable'), 0) FROM passages WHERE collection = ?",
            (collection,),
        ).fetchall()
        return [(r[0], r[1], bool(r[2])) for r in rows]

    def texts(self, collection: str) -> tuple[list[str], list[str]]:
        """(ids, searchable texts) of one collection, in a stable order: a passage's ``context``
        (its document's title) comes first when it has one."""
        rows = self.con.execute(
            "SELECT id, coalesce(json_extract(metadata, '$.context') || char(10), '') || text "
            "FROM passages WHERE collection = ? ORDER BY id", (collection,)
        ).fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]
