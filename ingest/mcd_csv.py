"""One MCD CSV streamed into its table, for ``ingest/mcd.py``: the encoding fallback (UTF-8, then
Windows-1252, inside a savepoint), the row-width check, rows left out with a reason (``Skip``) and duplicate
keys counted. ``ingest/mcd_datasets.py`` says which file goes to which table; ``ingest/mcd_files.py`` finds
and reads the files.
"""

from __future__ import annotations

import sqlite3
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from casepilot.tables.coverage.status import mcd_date
from ingest.mcd_files import LAYOUT, CsvFile, Group, column_index, read_rows
from ingest.tablestore import ROWS_PER_BATCH, Ticker
from ingest.tabular import LayoutError

if TYPE_CHECKING:
    from ingest.mcd import MCDLoadResult

REQUIRED_FILES = {
    "article": ("article.csv", "article_x_hcpc_code.csv", "article_x_icd10_covered.csv",
                "article_x_icd10_noncovered.csv"),
    "lcd": ("lcd.csv",), "ncd": ("ncd_trkg.csv",),
}


class Skip(Exception):
    """A row that is left out; the message is the reason counted in the load result."""


class CsvTables:
    """One load's connection, result and progress, and the streaming of one CSV at a time into a table.

    ``dataset`` is the dataset being loaded (set by ``load`` in ``ingest/mcd_datasets.py``): a file of
    ``REQUIRED_FILES`` for it that is missing stops the load.
    """

    def __init__(self, con: sqlite3.Connection, result: MCDLoadResult, tick: Ticker):
        self.con, self.result, self.tick = con, result, tick
        self.dates_unread = 0
        self.dataset = ""

    def date(self, raw: str) -> str | None:
        try:
            return mcd_date(raw)
        except ValueError:
            self.dates_unread += 1
            return None

    # -- one CSV -----------------------------------------------------------------------------------------
    def table(self, g: Group, name: str, required: tuple[str, ...], optional: tuple[str, ...],
              handle: Callable[[int, tuple], tuple | None], sql: str | None = None) -> int:
        """Stream one CSV through ``handle`` (a row tuple to insert, None to pass, or Skip); rows written.

        Tries UTF-8, then Windows-1252 (from the start of the file, inside a savepoint), and says so.
        """
        f = g.files.get(name)
        if f is None:
            if name in REQUIRED_FILES.get(self.dataset, ()):
                raise LayoutError(g.label, None, f"{name} is missing from this download (found: "
                                  f"{', '.join(sorted(g.files))})", LAYOUT)
            return 0
        for codec in ("utf-8-sig", "cp1252"):
            self.con.execute("SAVEPOINT mcd_file")
            skipped: list[tuple[str, str]] = []
            try:
                n = self._stream(f, codec, required, optional, handle, sql, skipped)
            except UnicodeDecodeError as e:
                self.con.execute("ROLLBACK TO mcd_file")
                self.con.execute("RELEASE mcd_file")
                self.tick.finish()
                if codec == "cp1252":
                    raise LayoutError(f.name, None, f"neither UTF-8 nor Windows-1252 text (byte "
                                      f"{e.object[e.start:e.start + 1]!r} has no character in either); save it as "
                                      "UTF-8 or download it again", LAYOUT) from None
                continue
            except BaseException:
                self.tick.finish()
                raise
            self.con.execute("RELEASE mcd_file")
            self.tick.finish()
            if codec != "utf-8-sig":
                self.result.encodings[f.name] = "Windows-1252"
            for reason, where in skipped:
                self.result.skip(reason, where)
            return n
        raise AssertionError("unreachable")

    def _stream(self, f: CsvFile, codec: str, required, optional, handle, sql, skipped) -> int:
        progress = self.tick.start(f"mcd: {f.name}", f.size)
        rows = read_rows(f, codec, progress)
        first = next(rows, None)
        if first is None:
            raise LayoutError(f.name, None, "the file is empty (no header row)", LAYOUT)
        width = len(first[1])
        idx = column_index(f, first[1], required, optional)
        get = itemgetter(*idx) if len(idx) > 1 else (lambda cells, i=idx[0]: (cells[i],))
        short = Path(f.name.split(":")[-1]).name
        written, read, batch = 0, 0, []
        for line, cells in rows:
            if len(cells) != width:
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # a blank line
                raise LayoutError(f.name, line, f"the row has {len(cells)} field(s) but the header has {width} "
                                  "(the file may be truncated or damaged)", LAYOUT)
            cells.append("")
            try:
                out = handle(line, get(cells))
            except Skip as e:
                skipped.append((str(e), f"{short} line {line}"))
                continue
            read += 1
            if out is None or sql is None:
                continue
            batch.append(out)
            if len(batch) >= ROWS_PER_BATCH:
                written += self._flush(sql, batch, short, skipped)
        if batch:
            written += self._flush(sql, batch, short, skipped)
        self.result.rows += read
        return written

    def _flush(self, sql: str, batch: list[tuple], short: str, skipped: list) -> int:
        before = self.con.total_changes
        self.con.executemany(sql, batch)
        n = self.con.total_changes - before
        for _ in range(len(batch) - n):
            skipped.append(("duplicate row (the same key as an earlier row)", short))
        batch.clear()
        return n
