"""The Medicare Coverage Database (MCD) tables inside ``tables.sqlite``: schema, dates, status, jurisdiction.

``ingest/mcd.py`` writes these tables (one dataset per CMS download: article, lcd, ncd); ``casepilot/coverage.py``
answers from them. Both share the helpers here so a document's status means the same thing everywhere.

>>> doc_status("A", "2026-04-01", None, None, "", "2026-11-29")
('current', 'in effect since 2026-04-01')
>>> doc_status("A", "2027-01-01", None, None, "", "2026-11-29")[0]
'not_yet_effective'
"""

from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

KIND = "mcd"
DATASETS = ("article", "lcd", "ncd")
EXPORTS = "https://downloads.cms.gov/medicare-coverage-database/downloads/exports/"
DOWNLOAD_FILES = {"article": "current_article.zip", "lcd": "current_lcd.zip", "ncd": "ncd.zip"}
DOWNLOAD_PAGE = "https://www.cms.gov/medicare-coverage-database/downloads/downloads.aspx"
ARTICLE_URL = "https://www.cms.gov/medicare-coverage-database/view/article.aspx?articleId={id}&ver={version}"
NCD_URL = "https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?NCDId={id}&NCDver={version}"

COVERAGE_LEVELS = {
    "1": "full coverage", "2": "restricted coverage", "3": "no coverage",
    "4": "coverage level 4 (a value the NCD data dictionary does not define)",
}

# -- schema: each dataset's tables are dropped and rebuilt by its load, in one transaction ---------------

DATASET_TABLES = {
    "article": """
CREATE TABLE mcd_article (
  article_id INTEGER NOT NULL, version INTEGER NOT NULL, type INTEGER, type_text TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL, title_html TEXT NOT NULL, eff_date TEXT, end_date TEXT, rev_end_date TEXT,
  status TEXT NOT NULL, display_id TEXT NOT NULL, date_retired TEXT, retire_planned TEXT,
  last_updated TEXT, line INTEGER NOT NULL, PRIMARY KEY (article_id, version));
CREATE TABLE mcd_hcpc (
  code TEXT NOT NULL, article_id INTEGER NOT NULL, version INTEGER NOT NULL, grp INTEGER NOT NULL,
  range TEXT NOT NULL, line INTEGER NOT NULL, PRIMARY KEY (code, article_id, version, grp)) WITHOUT ROWID;
CREATE TABLE mcd_icd (
  article_id INTEGER NOT NULL, version INTEGER NOT NULL, icd TEXT NOT NULL, kind TEXT NOT NULL,
  grp INTEGER NOT NULL, range TEXT NOT NULL, sort_order INTEGER, asterisk TEXT NOT NULL,
  description TEXT NOT NULL, line INTEGER NOT NULL,
  PRIMARY KEY (article_id, version, icd, kind, grp)) WITHOUT ROWID;
CREATE TABLE mcd_icd_groups (
  article_id INTEGER NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL, grp INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (article_id, version, kind, grp));
CREATE TABLE mcd_group (
  article_id INTEGER NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL, grp INTEGER NOT NULL,
  paragraph TEXT NOT NULL, paragraph_html TEXT NOT NULL, asterisk_note TEXT NOT NULL DEFAULT '',
  asterisk_html TEXT NOT NULL DEFAULT '', file TEXT NOT NULL, line INTEGER NOT NULL,
  PRIMARY KEY (article_id, version, kind, grp));
CREATE TABLE mcd_article_contractor (
  article_id INTEGER NOT NULL, version INTEGER NOT NULL, contractor_id INTEGER NOT NULL,
  contractor_type_id INTEGER NOT NULL, contractor_version INTEGER NOT NULL,
  PRIMARY KEY (article_id, version, contractor_id, contractor_type_id, contractor_version));
CREATE TABLE mcd_article_state (
  article_id INTEGER NOT NULL, version INTEGER NOT NULL, state_id INTEGER NOT NULL,
  PRIMARY KEY (article_id, version, state_id));
CREATE TABLE mcd_article_lcd (
  article_id INTEGER NOT NULL, version INTEGER NOT NULL, lcd_id INTEGER NOT NULL, lcd_version INTEGER,
  PRIMARY KEY (article_id, version, lcd_id));
""",
    "lcd": """
CREATE TABLE mcd_lcd (
  lcd_id INTEGER NOT NULL, version INTEGER NOT NULL, title TEXT NOT NULL, title_html TEXT NOT NULL,
  determination_number TEXT NOT NULL, orig_eff_date TEXT, eff_date TEXT, end_date TEXT, det_end_date TEXT,
  status TEXT NOT NULL, display_id TEXT NOT NULL, date_retired TEXT, retire_planned TEXT, line INTEGER NOT NULL,
  PRIMARY KEY (lcd_id, version));
CREATE TABLE mcd_lcd_contractor (
  lcd_id INTEGER NOT NULL, version INTEGER NOT NULL, contractor_id INTEGER NOT NULL,
  contractor_type_id INTEGER NOT NULL, contractor_version INTEGER NOT NULL,
  PRIMARY KEY (lcd_id, version, contractor_id, contractor_type_id, contractor_version));
CREATE TABLE mcd_lcd_article (
  lcd_id INTEGER NOT NULL, version INTEGER NOT NULL, article_id INTEGER NOT NULL, article_version INTEGER,
  PRIMARY KEY (lcd_id, version, article_id));
""",
    "ncd": """
CREATE TABLE mcd_ncd (
  ncd_id INTEGER NOT NULL, version INTEGER NOT NULL, section TEXT NOT NULL, title TEXT NOT NULL,
  eff_date TEXT, impl_date TEXT, term_date TEXT, coverage_level TEXT NOT NULL, national TEXT NOT NULL,
  item_desc TEXT NOT NULL, item_desc_html TEXT NOT NULL, indications TEXT NOT NULL, indications_html TEXT NOT NULL,
  xref TEXT NOT NULL, xref_html TEXT NOT NULL, other TEXT NOT NULL, other_html TEXT NOT NULL,
  transmittal TEXT NOT NULL, transmittal_url TEXT NOT NULL, publication TEXT NOT NULL, benefits TEXT NOT NULL,
  line INTEGER NOT NULL, PRIMARY KEY (ncd_id, version));
""",
}
# Built after the rows are in (faster than keeping them up to date row by row).
DATASET_INDEXES = {
    "article": ("CREATE INDEX mcd_hcpc_by_article ON mcd_hcpc(article_id, version, grp)",),
    "lcd": ("CREATE INDEX mcd_lcd_article_by_article ON mcd_lcd_article(article_id)",),
    "ncd": ("CREATE INDEX mcd_ncd_by_section ON mcd_ncd(section)",),
}
# Lookups both the article and the LCD downloads carry: kept per dataset, read as their union.
SHARED_SCHEMA = """
CREATE TABLE IF NOT EXISTS mcd_loads (
  dataset TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, inputs TEXT NOT NULL, edition TEXT, file TEXT NOT NULL,
  loaded_at TEXT NOT NULL, counts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mcd_contractor (
  dataset TEXT NOT NULL, contractor_id INTEGER NOT NULL, contractor_type_id INTEGER NOT NULL,
  contractor_version INTEGER NOT NULL, name TEXT NOT NULL, number TEXT NOT NULL, type_text TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (dataset, contractor_id, contractor_type_id, contractor_version));
CREATE TABLE IF NOT EXISTS mcd_contractor_state (
  dataset TEXT NOT NULL, contractor_id INTEGER NOT NULL, contractor_type_id INTEGER NOT NULL,
  contractor_version INTEGER NOT NULL, state_id INTEGER NOT NULL, active_date TEXT, term_date TEXT);
CREATE INDEX IF NOT EXISTS mcd_contractor_by_id ON mcd_contractor(contractor_id);
CREATE INDEX IF NOT EXISTS mcd_contractor_state_by_id ON mcd_contractor_state(contractor_id);
CREATE TABLE IF NOT EXISTS mcd_state (
  dataset TEXT NOT NULL, state_id INTEGER NOT NULL, abbrev TEXT NOT NULL, description TEXT NOT NULL,
  PRIMARY KEY (dataset, state_id));
"""
SHARED_TABLES = ("mcd_contractor", "mcd_contractor_state", "mcd_state")


def tables_of(dataset: str) -> list[str]:
    """The tables one dataset's load drops and rebuilds."""
    return re.findall(r"CREATE TABLE (\w+)", DATASET_TABLES[dataset])


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


def not_loaded_message(dataset: str = "article") -> str:
    """What to download and the command that loads it."""
    name = DOWNLOAD_FILES[dataset]
    what = {"article": "billing-and-coding articles (the coverage crosswalk of CPT/HCPCS to ICD-10-CM codes)",
            "lcd": "local coverage determinations (LCDs)", "ncd": "national coverage determinations (NCDs)"}[dataset]
    return (f"The Medicare Coverage Database {what} are not loaded. Download {name} from {EXPORTS}{name} "
            f"(the MCD downloads page, {DOWNLOAD_PAGE}) and run: casepilot ingest --source mcd PATH")


# -- dates and status ------------------------------------------------------------------------------------

_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")


def mcd_date(raw: str | None) -> str | None:
    """The date part of an MCD timestamp as ISO: ``2026-04-01 00:00:00`` or ``04/01/2026`` -> ``2026-04-01``.

    Blank gives None; anything else raises ValueError.
    """
    s = (raw or "").strip()
    if not s:
        return None
    m = _MDY.match(s)
    if m:
        return date(int(m.group(3)), int(m.group(1)), int(m.group(2))).isoformat()
    return date.fromisoformat(s[:10]).isoformat()


def doc_status(status: str, eff: str | None, end: str | None, retired: str | None, display_id: str,
               as_of: str, planned_retire: str | None = None) -> tuple[str, str]:
    """(state, why) of an article or LCD version on ``as_of``: current, retired, ended, not_yet_effective or draft.

    A document is current only when approved (status A), final (no display_id), not retired and in effect.
    """
    if display_id:
        return "draft", f"a proposed or draft document ({display_id}), not a final one"
    if status == "R" or (retired and retired <= as_of) or (planned_retire and planned_retire <= as_of):
        when = retired or planned_retire
        return "retired", f"retired{f' on {when}' if when else ''}"
    if status and status != "A":
        return "draft", f"status {status!r}: not an approved final document"
    if end and end < as_of:
        return "ended", f"ended on {end}"
    if eff and eff > as_of:
        return "not_yet_effective", f"not yet in effect: effective {eff}"
    since = f"in effect since {eff}" if eff else "in effect (no effective date given)"
    if planned_retire:
        since += f"; scheduled to retire on {planned_retire}"
    return "current", since


def ncd_status(title: str, eff: str | None, term: str | None, impl: str | None, as_of: str) -> tuple[str, str]:
    """(state, why) of an NCD version: retired (title says RETIRED or terminated), not_yet_effective, or current."""
    if term and term <= as_of:
        return "retired", f"retired: terminated on {term}"
    if "RETIRED" in title.upper():
        return "retired", "retired (its title says RETIRED" + (f"; termination date {term})" if term else ")")
    if eff and eff > as_of:
        return "not_yet_effective", f"not yet in effect: effective {eff}"
    why = f"in effect since {eff}" if eff else "in effect (no effective date given)"
    if impl and impl > as_of:
        why += f"; implementation date {impl}"
    if term:
        why += f"; terminates on {term}"
    return "current", why


# -- jurisdiction ----------------------------------------------------------------------------------------

def _base(description: str) -> str:
    """'New York - Downstate' -> 'new york': sub-state regions belong to their state."""
    return description.split(" - ")[0].strip().lower()


def resolve_state(con: sqlite3.Connection, query: str) -> tuple[set[int], str]:
    """State ids a query names ('TX', 'Texas', 'NY' = all New York regions) and a label; ValueError if none.

    A region ('New York - Queens') also matches documents for the entire state.
    """
    q = " ".join(query.split())
    rows = [dict(r) for r in con.execute("SELECT DISTINCT state_id, abbrev, description FROM mcd_state")]
    if not rows:
        raise LookupError("the MCD state list (state_lookup.csv) is not loaded, so documents cannot be scoped to a "
                          "state; load the full current_article.zip")
    hit = [r for r in rows if r["abbrev"].upper() == q.upper() or r["description"].lower() == q.lower()]
    by_base = [r for r in rows if _base(r["description"]) == q.lower()]
    if not hit and not by_base:
        raise ValueError(f"{query!r} is not a state in the MCD state list; use a two-letter abbreviation (TX) or a "
                         "name (Texas)")
    whole = by_base or [r for r in hit if "entire state" in r["description"].lower()]
    if whole:
        base = _base(whole[0]["description"])
        ids = {r["state_id"] for r in rows if _base(r["description"]) == base}
        return ids, whole[0]["description"].split(" - ")[0].strip()
    base = _base(hit[0]["description"])
    entire = {r["state_id"] for r in rows if _base(r["description"]) == base and "entire" in r["description"].lower()}
    return {r["state_id"] for r in hit} | entire, hit[0]["description"]
