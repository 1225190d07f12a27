"""The Medicare Coverage Database (MCD) tables inside ``tables.sqlite``: one set of tables per CMS download.

``ingest/mcd.py`` writes them (article, lcd, ncd); the modules beside this one read them.
"""

from __future__ import annotations

import re

KIND = "mcd"
DATASETS = ("article", "lcd", "ncd")

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
