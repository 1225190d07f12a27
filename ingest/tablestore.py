"""Writes the NCCI PTP, MUE and fee-schedule tables into ``tables.sqlite`` in one transaction per load.

A load either replaces its parts completely or, on any error, changes nothing (rollback), so a bad
file never damages tables already loaded. The schema and the readers live in ``casepilot.tables``.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from casepilot.tables.schema import PTP_COLUMNS, PTP_TABLE, SCHEMA, SCHEMA_VERSION, tables_path


@dataclass
class TableLoadResult:
    """What one table load wrote (one entry in ``parts`` per file/setting replaced); ``duplicates``: rows that
    repeat a row of the same part exactly, stored once."""

    kind: str
    path: str
    rows: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def version(self) -> str:
        return ", ".join(sorted({p["version"] for p in self.parts}))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "rows": self.rows, "duplicates": self.duplicates,
                "seconds": round(self.seconds, 2), "version": self.version, "parts": self.parts}

    def summary(self) -> str:
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds > 0 else ""
        dup = f", {self.duplicates} duplicate rows skipped" if self.duplicates else ""
        return f"{self.kind}: {self.rows:,} rows from {len(self.parts)} file(s) ({self.version}){dup}{rate}"


def connect(settings_or_dir: Any) -> sqlite3.Connection:
    """A writable connection to the tables file (schema created or upgraded), in autocommit mode for explicit
    BEGIN."""
    data_dir = getattr(settings_or_dir, "data_dir", settings_or_dir)
    path = tables_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    try:
        upgrade(con)
        con.executescript(SCHEMA)
    except BaseException:
        con.close()
        raise
    return con


def upgrade(con: sqlite3.Connection) -> None:
    """Bring a tables file written by an earlier version up to ``SCHEMA_VERSION`` in place, in one transaction,
    keeping every row loaded (``casepilot/tables/schema.py`` says what each version changed)."""
    if con.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    with transaction(con):
        version = con.execute("PRAGMA user_version").fetchone()[0]  # another writer may have done it meanwhile
        if version >= SCHEMA_VERSION:
            return
        if version < 1 and "rank" in {r[1] for r in con.execute("PRAGMA table_info(ptp)")}:
            # Version 0 kept one row per pair; each of them is a row of the new table as it stands.
            con.execute("ALTER TABLE ptp RENAME TO ptp_version0")
            con.execute(PTP_TABLE)
            con.execute(f"INSERT INTO ptp ({PTP_COLUMNS}) SELECT col1, col2, setting, pre_1996, effective, "
                        "IFNULL(deletion, ''), modifier, rationale, part, line FROM ptp_version0")
            con.execute("DROP TABLE ptp_version0")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def record_part(con: sqlite3.Connection, kind: str, setting: str, part: str, version: str,
                effective: str | None, rows: int, file: str) -> dict[str, Any]:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    con.execute("INSERT OR REPLACE INTO table_sources VALUES (?,?,?,?,?,?,?,?)",
                (kind, setting, part, version, effective, rows, file, now))
    return {"kind": kind, "setting": setting, "part": part, "version": version, "effective": effective,
            "rows": rows, "file": file, "loaded_at": now}

ROWS_PER_BATCH = 20_000


class Ticker:
    """Adapts the pipeline's Reporter (stage/start/finish) to a per-file progress callback."""

    def __init__(self, reporter: Any | None):
        self.reporter = reporter

    def stage(self, text: str) -> None:
        if self.reporter is not None:
            self.reporter.stage(text)

    def start(self, label: str, total: int) -> Callable[[int], None] | None:
        if self.reporter is None:
            return None
        return self.reporter.start(label, total)

    def finish(self) -> None:
        if self.reporter is not None:
            self.reporter.finish()


def timed(result: TableLoadResult, t0: float) -> TableLoadResult:
    result.seconds = time.perf_counter() - t0
    return result


def data_dir_of(settings: Any) -> Path:
    return Path(getattr(settings, "data_dir", settings))
