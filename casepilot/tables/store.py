"""Reading ``tables.sqlite``: one read-only connection per check and the table parts that are loaded.

``open_tables`` is the one way in for the NCCI PTP, MUE and fee-schedule readers: it opens the file read-only
(or yields a view with no connection when there is no file), says which parts of a kind are loaded, and closes
the file when the check is done. The coverage readers keep their own per-thread connection
(``casepilot/tables/coverage/store.py``).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from casepilot.codes import normalize


class Tables:
    """The tables file as one check sees it; ``con`` is None when no file exists."""

    def __init__(self, con: sqlite3.Connection | None):
        self.con = con

    def sources(self, kind: str | None = None) -> list[dict]:
        """The loaded parts (kind, setting, part, version, effective, rows, file, loaded_at) of one kind, or of
        every kind; empty when the file is missing, empty or not a tables file."""
        if self.con is None:
            return []
        try:
            if kind is None:
                rows = self.con.execute("SELECT * FROM table_sources ORDER BY kind, setting, part")
            else:
                rows = self.con.execute("SELECT * FROM table_sources WHERE kind = ? ORDER BY setting, part", (kind,))
            return [dict(r) for r in rows]
        except sqlite3.OperationalError:  # an empty or foreign file
            return []

    def settings(self, kind: str, known: tuple[str, ...]) -> tuple[list[dict], list[str], list[str]]:
        """(loaded parts, settings loaded, settings missing) of ``kind``, settings in the order of ``known``."""
        srcs = self.sources(kind)
        loaded = [s for s in known if any(x["setting"] == s for x in srcs)]
        return srcs, loaded, [s for s in known if s not in loaded]


@contextmanager
def open_tables(db_path: Path | str) -> Iterator[Tables]:
    """The tables file opened read-only for one check, closed afterwards; a view without a connection when
    the file does not exist (every kind then reads as not loaded)."""
    path = Path(db_path)
    con = None
    if path.exists():
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
    try:
        yield Tables(con)
    finally:
        if con is not None:
            con.close()


def loaded_tables(db_path: Path | str) -> list[dict]:
    """Every loaded table part: kind, setting, part, version, effective date, rows, file, loaded_at."""
    with open_tables(db_path) as t:
        return t.sources()


def procedure_code(raw: str) -> str:
    """A CPT/HCPCS code, normalised; ValueError for anything else.

    >>> procedure_code(" g2211 ")
    'G2211'
    """
    code = normalize(raw)
    if not re.fullmatch(r"[0-9A-Z]{5}", code):
        raise ValueError(f"{raw!r} is not a CPT/HCPCS code (5 letters or digits, e.g. 99213 or G2211)")
    return code


def version_text(srcs: list[dict], setting: str) -> tuple[str, str | None, str]:
    """(versions, latest effective date, files) of one setting's loaded parts.

    >>> version_text([{"setting": "", "version": "v1", "effective": "2026-04-01", "file": "a.csv"}], "")
    ('v1', '2026-04-01', 'a.csv')
    """
    parts = [s for s in srcs if s["setting"] == setting]
    versions = sorted({s["version"] for s in parts})
    effective = max((s["effective"] for s in parts if s["effective"]), default=None)
    return ", ".join(versions), effective, ", ".join(s["file"] for s in parts)
