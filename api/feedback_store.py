"""Feedback rows in SQLite (WAL), safe with several worker processes on one host, bounded by a retention.

Each row is committed with ``synchronous=FULL`` before the request is acknowledged, so a 201 is never lost
to a crash or a shutdown. Rows older than ``retention_days`` are deleted as new ones arrive. Several hosts
need a shared server database instead (see the README); this store is one file in the data directory.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

FILE_NAME = "feedback.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_ts ON feedback(ts);
"""


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10.0, isolation_level=None)  # autocommit; BEGIN IMMEDIATE below
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA busy_timeout=10000")
    con.executescript(_SCHEMA)
    return con


def add(data_dir: Path, record: dict, retention_days: int) -> None:
    """Store one feedback record (durable on return) and drop rows past the retention."""
    con = _connect(Path(data_dir) / FILE_NAME)
    try:
        con.execute("BEGIN IMMEDIATE")  # one writer at a time across processes; readers never wait
        con.execute("INSERT INTO feedback (ts, record) VALUES (?, ?)",
                    (record["ts"], json.dumps(record, ensure_ascii=False)))
        if retention_days > 0:
            cutoff = (datetime.now(timezone.utc) - timedelta(days=retention_days)).isoformat(timespec="seconds")
            con.execute("DELETE FROM feedback WHERE ts < ?", (cutoff,))
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def rows(data_dir: Path) -> list[dict]:
    """Every stored record, oldest first ([] when there is no feedback yet)."""
    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [json.loads(r) for (r,) in con.execute("SELECT record FROM feedback ORDER BY id")]
    finally:
        con.close()


def checkpoint(data_dir: Path) -> None:
    """Fold the WAL into the database file (at shutdown; waits for a writer in flight)."""
    path = Path(data_dir) / FILE_NAME
    if path.exists():
        con = _connect(path)
        try:
            con.execute("PRAGMA wal_checkpoint(FULL)")
        finally:
            con.close()
