"""The MCD datasets (articles, LCDs, NCDs and the contractors they share), file by file: which columns of
each CSV become which row of which ``tables.sqlite`` table, and which rows are left out and why. The
streaming itself is ``ingest/mcd_csv.py``; the load around it (what to read, one transaction) is
``ingest/mcd.py``.
"""

from __future__ import annotations

import re

from casepilot.tables.coverage.schema import DATASET_INDEXES, DATASET_TABLES, SHARED_TABLES, tables_of
from ingest.mcd_csv import CsvTables, Skip
from ingest.mcd_files import Group, html_to_text

_HCPC = re.compile(r"^[0-9A-Z]{5}$")
_ICD = re.compile(r"^([A-Z][0-9][0-9A-Z])\.?([0-9A-Z]{0,4})$")
ORPHAN = "its article version is not in article.csv"


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


class _Loader(CsvTables):
    """One load, dataset by dataset: each file's rows mapped, checked against the keys read so far (article
    versions for orphan checks) and written."""

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
