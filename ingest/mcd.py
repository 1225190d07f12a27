"""CMS Medicare Coverage Database downloads (articles, LCDs, NCDs) into ``tables.sqlite``.

``casepilot ingest --source mcd PATH``: PATH is ``current_article.zip``, ``current_lcd.zip`` or ``ncd.zip`` as
downloaded (or their ``all_*`` forms), an inner ``*_csv.zip``, or a folder of extracted CSVs (several downloads
at once is fine). Each download found replaces its dataset in one transaction, so a bad, partial or
truncated file changes nothing. The layout is ``../shared/data/mcd/LAYOUT.md``; the schema and the readers
live in ``casepilot.tables.coverage``.

The load around the datasets is here (what the PATH holds, whether it changed, one transaction, the
result); ``ingest/mcd_datasets.py`` maps each dataset's CSVs to rows, ``ingest/mcd_csv.py`` streams one CSV
into its table and ``ingest/mcd_files.py`` finds and reads the files.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from casepilot.tables.coverage.labels import DOWNLOAD_FILES
from casepilot.tables.coverage.schema import KIND, SHARED_SCHEMA
# REQUIRED_FILES, Skip and ORPHAN were defined here before the split: still importable from here.
from ingest.mcd_csv import REQUIRED_FILES, Skip  # noqa: F401
from ingest.mcd_datasets import ORPHAN, _Loader  # noqa: F401
from ingest.mcd_files import Group, Limits, discover, fingerprint
from ingest.tablestore import TableLoadResult, Ticker, connect, record_part, timed, transaction
from ingest.tabular import LayoutError

KEY_FILES = {"article": "article.csv", "lcd": "lcd.csv", "ncd": "ncd_trkg.csv"}


@dataclass
class MCDLoadResult(TableLoadResult):
    """A table load result with what an MCD load adds: documents, code rows, skipped rows, encodings."""

    datasets: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)  # file -> codec, only where not UTF-8
    notes: list[str] = field(default_factory=list)
    unchanged: bool = False

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 3:
            ex.append(where)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "datasets": self.datasets, "counts": self.counts, "skipped": self.skipped,
                "skipped_examples": self.examples, "encodings": self.encodings, "notes": self.notes,
                "unchanged": self.unchanged}

    def summary(self) -> str:
        if self.unchanged:
            return (f"mcd: {', '.join(self.datasets)} unchanged since the last load of {Path(self.path).name} "
                    f"({self.version}); nothing was re-read")
        c = self.counts
        what = []
        if "article" in self.datasets:
            what.append(f"{c.get('articles', 0):,} articles with {c.get('code_rows', 0):,} code rows "
                        f"({c.get('hcpc_rows', 0):,} CPT/HCPCS, {c.get('covered_rows', 0):,} covered ICD-10-CM, "
                        f"{c.get('noncovered_rows', 0):,} noncovered ICD-10-CM)")
        if "lcd" in self.datasets:
            what.append(f"{c.get('lcds', 0):,} LCDs")
        if "ncd" in self.datasets:
            what.append(f"{c.get('ncds', 0):,} NCDs")
        out = f"mcd: {'; '.join(p['version'] for p in self.parts)}: {', '.join(what)}"
        if self.skipped:
            out += f"; {sum(self.skipped.values()):,} row(s) skipped: " + "; ".join(
                f"{reason}: {n:,} (e.g. {', '.join(self.examples.get(reason, [])[:2])})"
                for reason, n in sorted(self.skipped.items()))
        for name, codec in self.encodings.items():
            out += f"; {name} is not valid UTF-8 and was read as {codec}"
        for note in self.notes:
            out += f"; {note}"
        if self.seconds > 0:
            out += f"; {self.rows / self.seconds:,.0f} rows/s"
        return out


def _dataset_of(g: Group) -> str | None:
    for dataset, key in KEY_FILES.items():
        if key in g.files:
            return dataset
    return None


def load_table(settings: Any, path: Path | str, reporter: Any = None, force: bool = False,
               limits: Limits | None = None) -> MCDLoadResult:
    """Load the MCD download(s) at ``path``; raises LayoutError (a ValueError) and changes nothing on a bad file.

    A PATH loaded before with the same bytes is not read again (``force`` reads it anyway).
    """
    t0 = time.perf_counter()
    path = Path(path)
    result = MCDLoadResult(KIND, str(path))
    fp = fingerprint(path)
    con = connect(settings)
    try:
        con.execute("PRAGMA cache_size = -32768")  # 32 MiB of page cache: the B-trees being filled stay in memory
        con.executescript(SHARED_SCHEMA)
        prev = {r[0]: (r[1], json.loads(r[2]), r[3]) for r in con.execute(
            "SELECT dataset, fingerprint, inputs, loaded_at FROM mcd_loads")}
        same = [d for d, (f, _, _) in prev.items() if f == fp]
        if same and not force and all(prev.get(d, ("",))[0] == fp for d in prev[same[0]][1]):
            result.unchanged, result.datasets = True, prev[same[0]][1]
            result.parts = [p for p in _parts(con) if p["setting"] in result.datasets]
            return timed(result, t0)
        data_dir = Path(getattr(settings, "data_dir", settings))
        with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="mcd-", dir=data_dir) as tmp:
            groups = discover(path, stack, Path(tmp), limits or Limits())
            found: dict[str, Group] = {}
            for g in groups:
                ds = _dataset_of(g)
                if ds is None:
                    continue
                if ds in found:
                    raise LayoutError(path.name, None, f"two {ds} downloads in one PATH ({found[ds].label} and "
                                      f"{g.label}): load one at a time")
                found[ds] = g
            if not found:
                names = sorted({n for g in groups for n in g.files})[:12]
                raise LayoutError(path.name, None, "not an MCD download: no article.csv, lcd.csv or ncd_trkg.csv "
                                  f"(found: {', '.join(names) or 'no CSV files'}); download "
                                  f"{', '.join(DOWNLOAD_FILES.values())} from the MCD downloads page")
            result.datasets = sorted(found, key=["article", "lcd", "ncd"].index)
            loader = _Loader(con, result, Ticker(reporter))
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            with transaction(con):
                for ds in result.datasets:
                    g = found[ds]
                    rows_before = result.rows
                    counts = loader.load(ds, g)
                    for k, v in counts.items():
                        result.counts[k] = result.counts.get(k, 0) + v
                    edition = loader.edition(ds, g)
                    version = f"MCD {ds} data as of {edition}" if edition else f"MCD {ds} sha256 {fp[:12]}"
                    con.execute("INSERT OR REPLACE INTO mcd_loads VALUES (?,?,?,?,?,?,?)",
                                (ds, fp, json.dumps(result.datasets), edition, path.name, now, json.dumps(counts)))
                    result.parts.append(record_part(con, KIND, ds, "", version, edition, result.rows - rows_before,
                                                    g.label))
        result.counts["code_rows"] = sum(result.counts.get(k, 0) for k in ("hcpc_rows", "covered_rows",
                                                                           "noncovered_rows"))
        if loader.dates_unread:
            result.notes.append(f"{loader.dates_unread} date(s) could not be read and were left blank")
    finally:
        con.close()
    return timed(result, t0)


def _parts(con: sqlite3.Connection) -> list[dict]:
    cur = con.execute("SELECT * FROM table_sources WHERE kind = ?", (KIND,))
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur]
