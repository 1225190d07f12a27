"""CMS Medicare Coverage Database downloads (articles, LCDs, NCDs) into ``tables.sqlite``.

``casepilot ingest --source mcd PATH``: PATH is ``current_article.zip``, ``current_lcd.zip`` or ``ncd.zip`` as
downloaded (or their ``all_*`` forms), an inner ``*_csv.zip``, or a folder of extracted CSVs (several downloads
at once is fine). Each download found replaces its dataset in one transaction, so a bad, partial or
truncated file changes nothing. The layout is ``../shared/data/mcd/LAYOUT.md``; the schema and the readers
live in ``casepilot.tables.coverage``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable

from casepilot.tables.coverage.labels import DOWNLOAD_FILES
from casepilot.tables.coverage.schema import (DATASET_INDEXES, DATASET_TABLES, KIND, SHARED_SCHEMA, SHARED_TABLES,
                                              tables_of)
from casepilot.tables.coverage.status import mcd_date
from ingest.mcd_files import LAYOUT, CsvFile, Group, Limits, column_index, discover, fingerprint, html_to_text, read_rows
from ingest.tablestore import ROWS_PER_BATCH, TableLoadResult, Ticker, connect, record_part, timed, transaction
from ingest.tabular import LayoutError

KEY_FILES = {"article": "article.csv", "lcd": "lcd.csv", "ncd": "ncd_trkg.csv"}
REQUIRED_FILES = {
    "article": ("article.csv", "article_x_hcpc_code.csv", "article_x_icd10_covered.csv",
                "article_x_icd10_noncovered.csv"),
    "lcd": ("lcd.csv",), "ncd": ("ncd_trkg.csv",),
}
_HCPC = re.compile(r"^[0-9A-Z]{5}$")
_ICD = re.compile(r"^([A-Z][0-9][0-9A-Z])\.?([0-9A-Z]{0,4})$")
ORPHAN = "its article version is not in article.csv"


class Skip(Exception):
    """A row that is left out; the message is the reason counted in the load result."""


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


def _int(raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise Skip(f"{what} is not a number") from None


_GROUPS: dict[str, int] = {}


def _group(raw: str) -> int:
    """A group number ('' or junk: group 0)."""
    g = int(raw) if raw.strip().isdigit() else 0
    if len(_GROUPS) < 10_000:
        _GROUPS[raw] = g
    return g


_ICDS: dict[str, str] = {}


def _icd(raw: str) -> str:
    """The key (no dot, upper case) of an ICD-10-CM code as the export writes it; Skip when it is not one."""
    m = _ICD.match(raw.strip().upper())
    if m is None:
        raise Skip("not an ICD-10-CM code")
    if len(_ICDS) < 150_000:  # bounded memory: the ICD-10-CM code set has about 100,000 codes
        _ICDS[raw] = m.group(1) + m.group(2)
    return m.group(1) + m.group(2)


class _Loader:
    """One load: the connection, the result and the keys read so far (article versions for orphan checks)."""

    def __init__(self, con: sqlite3.Connection, result: MCDLoadResult, tick: Ticker):
        self.con, self.result, self.tick = con, result, tick
        self.dates_unread = 0

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

    # -- datasets ----------------------------------------------------------------------------------------
    def load(self, dataset: str, g: Group) -> dict[str, int]:
        self.dataset = dataset
        for t in tables_of(dataset):
            self.con.execute(f"DROP TABLE IF EXISTS {t}")
        for ddl in DATASET_TABLES[dataset].split(";"):  # not executescript: it would commit the transaction
            if ddl.strip():
                self.con.execute(ddl)
        counts = getattr(self, f"_{dataset}")(g)
        for sql in DATASET_INDEXES[dataset]:
            self.con.execute(sql)
        if dataset in ("article", "lcd"):
            self._shared(dataset, g)
        return counts

    def _article(self, g: Group) -> dict[str, int]:
        types = {}
        self.table(g, "article_type_lookup.csv", ("article_type_id", "description"), (),
                   lambda line, v: types.__setitem__(v[0].strip(), v[1].strip()))
        keys: dict[tuple[str, str], tuple[int, int]] = {}

        def article(line, v):
            aid, ver = _int(v[0], "article_id"), _int(v[1], "article_version")
            keys[(v[0], v[1])] = keys[(str(aid), str(ver))] = (aid, ver)
            typ = v[2].strip()
            return (aid, ver, int(typ) if typ.isdigit() else None, types.get(typ, ""), html_to_text(v[3]), v[3],
                    self.date(v[4]), self.date(v[5]), self.date(v[8]), v[6].strip().upper(), v[7].strip(),
                    self.date(v[9]), None, self.date(v[10]), line)

        docs = self.table(g, "article.csv", ("article_id", "article_version", "article_type", "title",
                                             "article_eff_date", "article_end_date", "status", "display_id"),
                          ("article_rev_end_date", "date_retired", "last_updated"), article,
                          "INSERT OR IGNORE INTO mcd_article VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")

        def key(v) -> tuple[int, int]:
            k = keys.get((v[0], v[1])) or keys.get((str(_int(v[0], "article_id")), str(_int(v[1], "article_version"))))
            if k is None:
                raise Skip(ORPHAN)
            return k

        def retire(line, v):
            self.con.execute("UPDATE mcd_article SET retire_planned = ? WHERE article_id = ?",
                             (self.date(v[1]), _int(v[0], "article_id")))

        self.table(g, "article_future_retire.csv", ("article_id", "retire_dt"), (), retire)

        def hcpc(line, v):
            code = v[2].strip().upper()
            if code == "XX000":
                raise Skip("placeholder code XX000 (Not Applicable)")
            if not _HCPC.match(code):
                raise Skip("not a 5-character CPT/HCPCS code")
            return (code, *key(v), _group(v[3]), v[4].strip().upper() or "N", line)

        n_hcpc = self.table(g, "article_x_hcpc_code.csv", ("article_id", "article_version", "hcpc_code_id",
                                                          "hcpc_code_group"), ("range",), hcpc,
                            "INSERT OR IGNORE INTO mcd_hcpc VALUES (?,?,?,?,?,?)")
        n_icd = {}
        keys_get, icds, groups = keys.get, _ICDS, _GROUPS
        sizes: dict[tuple, int] = {}  # (article, version, kind, group) -> rows: mcd_icd_groups
        for kind in ("covered", "noncovered"):
            def icd(line, v, kind=kind):  # the hot loop (about 95% of all rows): lookups inlined
                k = keys_get((v[0], v[1])) or key(v)
                code = icds.get(v[2]) or _icd(v[2])
                grp = groups.get(v[3]) or _group(v[3])
                size = (*k, kind, grp)
                sizes[size] = sizes.get(size, 0) + 1
                try:
                    order = int(v[5])
                except ValueError:
                    order = None
                return (*k, code, kind, grp, v[4].strip().upper() or "N", order, "Y" if v[7] in ("Y", "y") else "",
                        v[6].strip(), line)

            n_icd[kind] = self.table(
                g, f"article_x_icd10_{kind}.csv", ("article_id", "article_version", "icd10_code_id",
                                                   f"icd10_{kind}_group"), ("range", "sort_order", "description",
                                                                            "asterisk"), icd,
                "INSERT OR IGNORE INTO mcd_icd VALUES (?,?,?,?,?,?,?,?,?,?)")
        self.con.executemany("INSERT INTO mcd_icd_groups VALUES (?,?,?,?,?)", [(*k, n) for k, n in sizes.items()])
        for kind, file, col in (("hcpc", "article_x_hcpc_code_group.csv", "hcpc_code_group"),
                                ("covered", "article_x_icd10_covered_group.csv", "icd10_covered_group"),
                                ("noncovered", "article_x_icd10_noncovered_group.csv", "icd10_noncovered_group")):
            def group(line, v, kind=kind, file=file):
                return (*key(v), kind, _group(v[2]), html_to_text(v[3]), v[3], html_to_text(v[4]), v[4], file, line)

            self.table(g, file, ("article_id", "article_version", col, "paragraph"),
                       ("icd10_covered_ast",), group, "INSERT OR IGNORE INTO mcd_group VALUES (?,?,?,?,?,?,?,?,?,?)")
        self.table(g, "article_x_contractor.csv", ("article_id", "article_version", "contractor_id",
                                                   "contractor_type_id", "contractor_version"), (),
                   lambda line, v: (*key(v), _int(v[2], "contractor_id"), _int(v[3], "contractor_type_id"),
                                    _int(v[4], "contractor_version")),
                   "INSERT OR IGNORE INTO mcd_article_contractor VALUES (?,?,?,?,?)")
        self.table(g, "article_x_primary_jurisdiction.csv", ("article_id", "article_version", "state_id"), (),
                   lambda line, v: (*key(v), _int(v[2], "state_id")),
                   "INSERT OR IGNORE INTO mcd_article_state VALUES (?,?,?)")

        def related(line, v):
            lcd = v[2].strip()
            if not lcd.isdigit() or lcd == "0":
                return None  # a link to another article or an NCD, not to an LCD
            ver = v[3].strip()
            return (*key(v), int(lcd), int(ver) if ver.isdigit() else None)

        self.table(g, "article_related_documents.csv", ("article_id", "article_version", "r_lcd_id"),
                   ("r_lcd_version",), related, "INSERT OR IGNORE INTO mcd_article_lcd VALUES (?,?,?,?)")
        if "article_x_contractor.csv" not in g.files:
            self.result.notes.append("article_x_contractor.csv is not in the download: articles cannot be scoped "
                                     "to a state or MAC")
        return {"articles": docs, "hcpc_rows": n_hcpc, "covered_rows": n_icd["covered"],
                "noncovered_rows": n_icd["noncovered"]}

    def _lcd(self, g: Group) -> dict[str, int]:
        keys: set[tuple[int, int]] = set()

        def lcd(line, v):
            k = (_int(v[0], "lcd_id"), _int(v[1], "lcd_version"))
            keys.add(k)
            return (*k, html_to_text(v[2]), v[2], v[5].strip(), self.date(v[6]), self.date(v[7]) or self.date(v[6]),
                    self.date(v[8]), self.date(v[9]), v[3].strip().upper(), v[4].strip(), self.date(v[10]), None, line)

        docs = self.table(g, "lcd.csv", ("lcd_id", "lcd_version", "title", "status", "display_id"),
                          ("determination_number", "orig_det_eff_date", "rev_eff_date", "rev_end_date",
                           "ent_det_end_date", "date_retired"), lcd,
                          "INSERT OR IGNORE INTO mcd_lcd VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")

        def key(v):
            k = (_int(v[0], "lcd_id"), _int(v[1], "lcd_version"))
            if k not in keys:
                raise Skip("its LCD version is not in lcd.csv")
            return k

        self.table(g, "lcd_future_retire.csv", ("lcd_id", "retire_dt"), (),
                   lambda line, v: self.con.execute("UPDATE mcd_lcd SET retire_planned = ? WHERE lcd_id = ?",
                                                    (self.date(v[1]), _int(v[0], "lcd_id"))) and None)
        self.table(g, "lcd_x_contractor.csv", ("lcd_id", "lcd_version", "contractor_id", "contractor_type_id",
                                               "contractor_version"), (),
                   lambda line, v: (*key(v), _int(v[2], "contractor_id"), _int(v[3], "contractor_type_id"),
                                    _int(v[4], "contractor_version")),
                   "INSERT OR IGNORE INTO mcd_lcd_contractor VALUES (?,?,?,?,?)")

        def related(line, v):
            art = v[2].strip()
            if not art.isdigit() or art == "0":
                return None
            ver = v[3].strip()
            return (*key(v), int(art), int(ver) if ver.isdigit() else None)

        self.table(g, "lcd_related_documents.csv", ("lcd_id", "lcd_version", "r_article_id"), ("r_article_version",),
                   related, "INSERT OR IGNORE INTO mcd_lcd_article VALUES (?,?,?,?)")
        return {"lcds": docs}

    def _ncd(self, g: Group) -> dict[str, int]:
        pubs, cats, benefits = {}, {}, {}
        self.table(g, "ncd_pblctn_ref.csv", ("pblctn_cd", "pblctn_num"), ("pblctn_title",),
                   lambda line, v: pubs.__setitem__(v[0].strip(), f"{v[1].strip()} {v[2].strip()}".strip()))
        self.table(g, "ncd_bnft_ctgry_ref.csv", ("bnft_ctgry_cd", "bnft_ctgry_desc"), (),
                   lambda line, v: cats.__setitem__(v[0].strip(), v[1].strip()))
        self.table(g, "ncd_trkg_bnft_xref.csv", ("ncd_id", "ncd_vrsn_num", "bnft_ctgry_cd"), (),
                   lambda line, v: benefits.setdefault((v[0].strip(), v[1].strip()), []).append(
                       cats.get(v[2].strip(), v[2].strip())) and None)

        def ncd(line, v):
            nid, ver = _int(v[0], "NCD_id"), _int(v[1], "NCD_vrsn_num")
            texts = [x for raw in v[7:11] for x in (html_to_text(raw), raw)]
            cats_of = sorted(set(benefits.get((v[0].strip(), v[1].strip()), [])))
            return (nid, ver, v[2].strip(), " ".join(v[3].split()), self.date(v[4]), self.date(v[12]),
                    self.date(v[5]), v[6].strip(), v[11].strip(), *texts, v[13].strip(),
                    "" if v[14].strip() in ("", "http://") else v[14].strip(), pubs.get(v[15].strip(), ""),
                    "; ".join(cats_of), line)

        docs = self.table(g, "ncd_trkg.csv", ("ncd_id", "ncd_vrsn_num", "ncd_mnl_sect", "ncd_mnl_sect_title",
                                              "ncd_efctv_dt", "ncd_trmntn_dt", "cvrg_lvl_cd", "itm_srvc_desc",
                                              "indctn_lmtn"),
                          ("xref_txt", "othr_txt", "natl_cvrg_type", "ncd_impltn_dt", "trnsmtl_num", "trnsmtl_url",
                           "pblctn_cd"), ncd,
                          "INSERT OR IGNORE INTO mcd_ncd VALUES (" + ",".join("?" * 22) + ")")
        return {"ncds": docs}

    def _shared(self, dataset: str, g: Group) -> None:
        """Contractors, their states and the state list: replaced for this dataset; readers take the union."""
        for t in SHARED_TABLES:
            self.con.execute(f"DELETE FROM {t} WHERE dataset = ?", (dataset,))
        ctypes = {}
        self.table(g, "contractor_type_lookup.csv", ("contractor_type_id", "description"), (),
                   lambda line, v: ctypes.__setitem__(v[0].strip(), v[1].strip()))
        self.table(g, "contractor.csv", ("contractor_id", "contractor_type_id", "contractor_version",
                                         "contractor_bus_name", "contractor_number"), (),
                   lambda line, v: (dataset, _int(v[0], "contractor_id"), _int(v[1], "contractor_type_id"),
                                    _int(v[2], "contractor_version"), " ".join(v[3].split()), v[4].strip(),
                                    ctypes.get(v[1].strip(), "")),
                   "INSERT OR IGNORE INTO mcd_contractor VALUES (?,?,?,?,?,?,?)")
        self.table(g, "contractor_jurisdiction.csv", ("contractor_id", "contractor_type_id", "contractor_version",
                                                      "state_id"), ("active_date", "term_date"),
                   lambda line, v: (dataset, _int(v[0], "contractor_id"), _int(v[1], "contractor_type_id"),
                                    _int(v[2], "contractor_version"), _int(v[3], "state_id"), self.date(v[4]),
                                    self.date(v[5])),
                   "INSERT INTO mcd_contractor_state VALUES (?,?,?,?,?,?,?)")
        self.table(g, "state_lookup.csv", ("state_id", "state_abbrev", "description"), (),
                   lambda line, v: (dataset, _int(v[0], "state_id"), v[1].strip().upper(), " ".join(v[2].split())),
                   "INSERT OR IGNORE INTO mcd_state VALUES (?,?,?,?)")

    def edition(self, dataset: str, g: Group) -> str | None:
        """'Data as of': the last update period's end, else the newest document date."""
        ends: list[str] = []
        self.table(g, "update_period.csv", (), ("end_date", "dis_end_date", "begin_date"),
                   lambda line, v: ends.extend(d for d in (self.date(v[0]), self.date(v[1]), self.date(v[2])) if d))
        if ends:
            return max(ends)
        q = {"article": "SELECT MAX(COALESCE(last_updated, eff_date)) FROM mcd_article",
             "lcd": "SELECT MAX(eff_date) FROM mcd_lcd", "ncd": "SELECT MAX(eff_date) FROM mcd_ncd"}[dataset]
        return self.con.execute(q).fetchone()[0]


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
