"""Reading the MCD tables: a read-only connection kept per thread, and which datasets are loaded."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from casepilot.tables.coverage.labels import not_loaded_message

_LOCAL = threading.local()


@contextmanager
def reading(db_path: Path | str) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection kept per thread (a check stays in milliseconds: no schema parse per call),
    opened again when the file is replaced; None when there is no file."""
    path = Path(db_path)
    try:
        st = path.stat()
    except FileNotFoundError:
        yield None
        return
    cache = _LOCAL.__dict__.setdefault("cons", {})
    ident = (st.st_dev, st.st_ino)
    hit = cache.get(str(path))
    if hit is None or hit[0] != ident:
        if hit is not None:
            hit[1].close()
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        hit = cache[str(path)] = (ident, con)
    yield hit[1]


def loads(con: sqlite3.Connection | None) -> dict[str, dict]:
    """dataset -> its load record (edition, file, loaded_at, counts); empty when nothing is loaded."""
    if con is None:
        return {}
    try:
        return {r["dataset"]: dict(r) for r in con.execute("SELECT * FROM mcd_loads")}
    except sqlite3.OperationalError:  # an older tables file without MCD tables
        return {}


class NotLoaded(LookupError):
    """The MCD dataset a question needs is not loaded; the message says what to download and run."""


@contextmanager
def opened(db_path: Path | str, dataset: str) -> Iterator[tuple[sqlite3.Connection, dict]]:
    """The tables file and the load record of ``dataset``; NotLoaded when it is not loaded."""
    with reading(db_path) as con:
        info = loads(con).get(dataset)
        if info is None:
            raise NotLoaded(not_loaded_message(dataset))
        yield con, info


def loaded(db_path: Path | str) -> dict[str, dict]:
    """The MCD datasets loaded (article, lcd, ncd) with their edition and load time."""
    with reading(db_path) as con:
        return loads(con)
