"""The code store: one SQLite file for exact lookup, hierarchy, notes and source versions.

Over 300 lines on purpose: one class, ``CodeStore``, over one schema. Its writes (``replace_source``), exact
reads and hierarchy walks share the per-thread connection, and every read of codes goes through
``_row_to_record`` (the record as it stands on ``as_of``).

Readers open it read-only and share nothing mutable, so lookups are safe from many threads. Records are stored
with their dates; every read returns them as they stand on ``as_of`` (default: the day of the lookup), so a
code terminated since the ingest reads as terminated (``casepilot.records.on_date``).
"""

from __future__ import annotations

import difflib
import json
import sqlite3
import threading
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable

from casepilot import codes as cs
from casepilot.iterutils import batched
from casepilot.records import NOT_INHERITED, CodeRecord, Lookup, Note, on_date

# Bumped when the tables change shape; an older store is rebuilt by the next ingest.
SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (
  system TEXT NOT NULL, code TEXT NOT NULL, display TEXT NOT NULL, title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', billable INTEGER, level TEXT NOT NULL, parent TEXT,
  children TEXT NOT NULL DEFAULT '[]', notes TEXT NOT NULL DEFAULT '[]', version TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL, licensed INTEGER NOT NULL DEFAULT 0, extra TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (system, code, source)
);
CREATE INDEX IF NOT EXISTS codes_by_code ON codes(code);
CREATE INDEX IF NOT EXISTS codes_by_source ON codes(source);
CREATE TABLE IF NOT EXISTS sources (
  name TEXT PRIMARY KEY, system TEXT NOT NULL, version TEXT NOT NULL, records INTEGER NOT NULL,
  fingerprint TEXT NOT NULL, loaded_at TEXT NOT NULL, note TEXT NOT NULL DEFAULT ''
);
"""


def prefix_range(prefix: str) -> tuple[str, str]:
    """The bounds ``lo <= code < hi`` of the codes starting with ``prefix`` (pure).

    A range reads the (system, code) key; ``code LIKE 'E11%'`` cannot (SQLite's LIKE ignores case, the index
    does not) and scans every code of the system: 25 ms against 0.5 ms for E11's 87 billable codes.
    Codes are upper-case letters and digits, all below '~'.

    >>> prefix_range("E11")
    ('E11', 'E11~')
    """
    return prefix, prefix + "~"


def _row_to_record(row: sqlite3.Row, as_of: date | None = None) -> CodeRecord:
    """The stored record as it stands on ``as_of`` (None: today, the day of the lookup)."""
    return on_date(CodeRecord(
        system=row["system"],
        code=row["code"],
        display=row["display"],
        title=row["title"],
        description=row["description"],
        billable=None if row["billable"] is None else bool(row["billable"]),
        level=row["level"],
        parent=row["parent"],
        children=json.loads(row["children"]),
        notes=[Note(**n) for n in json.loads(row["notes"])],
        version=row["version"],
        source=row["source"],
        licensed=bool(row["licensed"]),
        extra=json.loads(row["extra"]),
    ), as_of or date.today())


class CodeNotFound(LookupError):
    """No record for a well-formed code; ``suggestions`` holds the nearest valid ones."""

    def __init__(self, code: str, suggestions: list[CodeRecord]):
        super().__init__(f"{code} was not found in the code store")
        self.code = code
        self.suggestions = suggestions


class CodeStore:
    """Exact lookup over every loaded code set."""

    def __init__(self, path: Path | str, readonly: bool = True):
        self.path = Path(path)
        self.readonly = readonly
        self._local = threading.local()
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                if con.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    # The same code may come from two sources (a corpus summary and a licensed CPT
                    # file): records are keyed by source since version 2. Sources are re-read.
                    con.executescript("DROP TABLE IF EXISTS codes; DROP TABLE IF EXISTS sources;")
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                con.executescript(SCHEMA)

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        else:
            con = sqlite3.connect(self.path, timeout=30)
            con.execute("PRAGMA journal_mode=WAL")
        con.row_factory = sqlite3.Row
        return con

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            self._local.con = con
        return con

    # -- writing -----------------------------------------------------------------------------
    def replace_source(
        self, name: str, system: str, version: str, fingerprint: str, records: Iterable[CodeRecord],
        note: str = "", keep_existing: bool = False,
    ) -> int:
        """Atomically replace every record of one source (one transaction: all or nothing).

        ``keep_existing`` upserts without deleting (a source with unreadable files keeps what it had).
        """
        con = self.con
        n = 0
        with con:
            if not keep_existing:
                con.execute("DELETE FROM codes WHERE source = ?", (name,))
            rows = (
                (
                    r.system, r.code, r.display, r.title, r.description,
                    None if r.billable is None else int(r.billable), r.level, r.parent,
                    json.dumps(r.children), json.dumps([asdict(x) for x in r.notes]), r.version,
                    name, int(r.licensed), json.dumps(r.extra),
                )
                for r in records
            )
            for batch in batched(rows, 5000):
                con.executemany("INSERT OR REPLACE INTO codes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
                n += len(batch)
            con.execute(
                "INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?,?,?)",
                (name, system, version, n, fingerprint, datetime.now(timezone.utc).isoformat(timespec="seconds"), note),
            )
        return n

    def drop_source(self, name: str) -> None:
        with self.con as con:
            con.execute("DELETE FROM codes WHERE source = ?", (name,))
            con.execute("DELETE FROM sources WHERE name = ?", (name,))

    # -- reading -----------------------------------------------------------------------------
    def fingerprint(self, source: str) -> str | None:
        row = self.con.execute("SELECT fingerprint FROM sources WHERE name = ?", (source,)).fetchone()
        return row[0] if row else None

    def sources(self) -> list[dict]:
        return [dict(r) for r in self.con.execute("SELECT * FROM sources ORDER BY name")]

    def get(self, system: str, code: str, as_of: date | None = None) -> CodeRecord | None:
        row = self.con.execute(
            "SELECT * FROM codes WHERE system = ? AND code = ? ORDER BY licensed DESC, source",
            (system, cs.normalize(code)),
        ).fetchone()
        return _row_to_record(row, as_of) if row else None

    def find(self, raw: str, systems: Iterable[str] | None = None, as_of: date | None = None) -> list[CodeRecord]:
        """Every record whose code matches ``raw`` in any system its shape allows, likeliest first."""
        code = cs.normalize(raw)
        allowed = list(systems) if systems else cs.candidate_systems(raw)
        if not allowed:
            return []
        marks = ",".join("?" * len(allowed))
        rows = self.con.execute(f"SELECT * FROM codes WHERE code = ? AND system IN ({marks})", (code, *allowed))
        recs = [_row_to_record(r, as_of) for r in rows]
        order = {s: i for i, s in enumerate(allowed)}
        # A user's licensed file before CasePilot's own summary of the same code.
        return sorted(recs, key=lambda r: (order.get(r.system, 99), not r.licensed, r.source))

    def lookup(self, raw: str, system: str | None = None, as_of: date | None = None) -> Lookup:
        """Resolve a code in any common spelling, as it stands on ``as_of`` (default today); raise ValueError
        (malformed) or CodeNotFound."""
        reason = cs.why_malformed(raw)
        if reason:
            raise ValueError(f"{raw.strip()!r} is not a valid code: {reason}")
        systems = [system] if system else None
        recs = self.find(raw, systems, as_of)
        if not recs:
            raise CodeNotFound(raw.strip().upper(), self.nearest(raw, systems, as_of=as_of))
        record, alternates = recs[0], recs[1:]
        ancestors = self.ancestors(record, as_of)
        inherited = [
            n for a in ancestors for n in a.notes if n.type not in NOT_INHERITED
        ]
        billable_below = self.billable_descendants(record, as_of=as_of) if record.billable is False else []
        return Lookup(record, inherited, ancestors, billable_below, alternates)

    def with_note(self, system: str, fragment: str, as_of: date | None = None) -> list[CodeRecord]:
        """Records of ``system`` whose notes contain ``fragment`` (case-insensitive), e.g. the history codes'
        "Conditions classifiable to" inclusion terms (casepilot/history.py)."""
        rows = self.con.execute("SELECT * FROM codes WHERE system = ? AND notes LIKE ? ORDER BY code",
                                (system, f"%{fragment}%")).fetchall()
        return [_row_to_record(r, as_of) for r in rows]

    def siblings(self, record: CodeRecord, as_of: date | None = None) -> list[CodeRecord]:
        """Codes defined in the same corpus document as ``record`` (99204 beside 99214), itself excluded."""
        doc = record.extra.get("doc_id")
        if not doc:
            return []
        rows = self.con.execute("SELECT * FROM codes WHERE source = ? AND json_extract(extra, '$.doc_id') = ?",
                                (record.source, doc)).fetchall()
        recs = [_row_to_record(r, as_of) for r in rows]
        return [r for r in recs if (r.system, r.code) != (record.system, record.code)]

    def family(self, record: CodeRecord, as_of: date | None = None) -> list[CodeRecord]:
        """The codes a follow-up may switch ``record`` to by naming one detail: its corpus document's codes
        (99204 beside 99214), the rest of its ICD-10-PCS table (0FT40ZZ beside 0FT44ZZ), or the billable
        codes of its ICD-10-CM category (S52.532D beside S52.532A); itself excluded."""
        if record.extra.get("doc_id"):
            return self.siblings(record, as_of)
        if record.system == cs.ICD10PCS and record.parent:
            # a PCS code's parent (its table) is its prefix: the range reads the key, "parent = ?" alone scans
            rows = self.con.execute("SELECT * FROM codes WHERE system = ? AND code >= ? AND code < ? AND parent = ?",
                                    (record.system, *prefix_range(record.parent), record.parent)).fetchall()
        elif record.system == cs.ICD10CM:
            rows = self.con.execute("SELECT * FROM codes WHERE system = ? AND code >= ? AND code < ? AND billable = 1",
                                    (record.system, *prefix_range(record.code[:3]))).fetchall()
        else:
            return []
        return [r for r in (_row_to_record(row, as_of) for row in rows) if r.code != record.code]

    def block_family(self, record: CodeRecord, as_of: date | None = None) -> list[CodeRecord]:
        """The billable ICD-10-CM codes of the other categories in ``record``'s block (F33.1 beside F32.1: the
        recurrent disorder is its own category); [] for other code sets."""
        category = self.get(record.system, record.code[:3], as_of) if record.system == cs.ICD10CM else None
        block = self.get(record.system, category.parent, as_of) if category is not None and category.parent else None
        if block is None or block.level != "block":
            return []
        others = [c for c in block.children if c != category.code]
        if not others:
            return []
        rows = [row for c in others for row in self.con.execute(
            "SELECT * FROM codes WHERE system = ? AND code >= ? AND code < ? AND billable = 1",
            (record.system, *prefix_range(c))).fetchall()]
        return [_row_to_record(row, as_of) for row in rows]

    def ancestors(self, record: CodeRecord, as_of: date | None = None) -> list[CodeRecord]:
        """Parent, grandparent, ... up to the chapter."""
        out: list[CodeRecord] = []
        seen = {record.code}
        parent = record.parent
        while parent and parent not in seen:
            seen.add(parent)
            rec = self.get(record.system, parent, as_of)
            if rec is None:
                break
            out.append(rec)
            parent = rec.parent
        return out

    def billable_descendants(self, record: CodeRecord, limit: int = 50, as_of: date | None = None) -> list[CodeRecord]:
        """Billable codes below a heading (breadth first, at most ``limit``)."""
        out: list[CodeRecord] = []
        queue = list(record.children)
        while queue and len(out) < limit:
            batch, queue = queue[:500], queue[500:]
            marks = ",".join("?" * len(batch))
            rows = self.con.execute(
                f"SELECT * FROM codes WHERE system = ? AND code IN ({marks})", (record.system, *batch)
            ).fetchall()
            by_code = {r["code"]: _row_to_record(r, as_of) for r in rows}
            for c in batch:
                rec = by_code.get(c)
                if rec is None:
                    continue
                if rec.billable:
                    out.append(rec)
                else:
                    queue.extend(rec.children)
        return out[:limit]

    def billable_in(self, system: str, lo: str, hi: str, limit: int = 200,
                    as_of: date | None = None) -> list[CodeRecord]:
        """Billable codes from ``lo`` to ``hi`` (undotted), each end standing for itself and its children ("N181" to
        "N184" holds N18.1 ... N18.4), in code order; at most ``limit``."""
        # 'Z' sorts after every digit and letter, so hi + 'ZZZZZZ' is above each of hi's children
        rows = self.con.execute("SELECT * FROM codes WHERE system = ? AND code BETWEEN ? AND ? AND billable = 1 "
                                "ORDER BY code LIMIT ?", (system, lo, hi + "ZZZZZZ", limit)).fetchall()
        return [r for r in (_row_to_record(row, as_of) for row in rows) if r.billable]

    def nearest(self, raw: str, systems: Iterable[str] | None = None, n: int = 5,
                as_of: date | None = None) -> list[CodeRecord]:
        """Up to ``n`` valid codes closest to ``raw``: longest shared prefix, then string similarity."""
        code = cs.normalize(raw)
        allowed = list(systems) if systems else cs.candidate_systems(raw) or [cs.ICD10CM, cs.CPT, cs.HCPCS]
        marks = ",".join("?" * len(allowed))
        picked: dict[tuple[str, str], CodeRecord] = {}
        for cut in range(len(code) - 1, 0, -1):
            rows = self.con.execute(
                f"SELECT * FROM codes WHERE system IN ({marks}) AND code >= ? AND code < ? AND level != 'chapter' "
                "LIMIT 400", (*allowed, *prefix_range(code[:cut])),
            ).fetchall()
            recs = [_row_to_record(r, as_of) for r in rows if (r["system"], r["code"]) not in picked]
            recs.sort(
                key=lambda r: (-difflib.SequenceMatcher(None, code, r.code).ratio(), r.billable is False, r.code)
            )
            for r in recs[: n - len(picked)]:
                picked[(r.system, r.code)] = r
            if len(picked) >= n:
                break
        return list(picked.values())

    def count(self, system: str | None = None) -> int:
        if system:
            return self.con.execute("SELECT COUNT(*) FROM codes WHERE system = ?", (system,)).fetchone()[0]
        return self.con.execute("SELECT COUNT(*) FROM codes").fetchone()[0]

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

