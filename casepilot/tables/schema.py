"""Where ``tables.sqlite`` lives and the schema of its NCCI PTP, MUE and fee-schedule tables.

``ingest/tablestore.py`` creates these tables and writes them; the readers beside this module only read. The
Medicare Coverage Database tables in the same file have their schema in ``casepilot/tables/coverage/schema.py``.
"""

from __future__ import annotations

from pathlib import Path

TABLES_FILE = "tables.sqlite"

# Bumped when the tables change shape; kept in ``PRAGMA user_version``. The writer
# (``ingest/tablestore.py::connect``) brings an older file up to date in place, keeping its rows: they come from
# the user's own files, which the next ingest cannot read again. Version 1: ``ptp`` keeps every row of a code pair
# (before, one row per pair, the one in force on the day of the load; ``check_pair`` now picks by date of service).
SCHEMA_VERSION = 1

# Every row of the CMS file; only a row repeated exactly within one part is stored once. ``deletion`` is '' for
# none ('*' in the file): a key column cannot be NULL.
PTP_TABLE = """
CREATE TABLE IF NOT EXISTS ptp (
  col1 TEXT NOT NULL, col2 TEXT NOT NULL, setting TEXT NOT NULL, pre_1996 INTEGER NOT NULL,
  effective TEXT NOT NULL, deletion TEXT NOT NULL, modifier TEXT NOT NULL, rationale TEXT NOT NULL,
  part TEXT NOT NULL, line INTEGER NOT NULL,
  PRIMARY KEY (col1, col2, setting, part, effective, deletion, modifier, pre_1996, rationale)
) WITHOUT ROWID;"""
PTP_COLUMNS = "col1, col2, setting, pre_1996, effective, deletion, modifier, rationale, part, line"

SCHEMA = PTP_TABLE + """
CREATE TABLE IF NOT EXISTS mue (
  code TEXT NOT NULL, setting TEXT NOT NULL, mue INTEGER NOT NULL, mai TEXT NOT NULL, mai_text TEXT NOT NULL,
  rationale TEXT NOT NULL, line INTEGER NOT NULL,
  PRIMARY KEY (code, setting)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pfs (
  code TEXT NOT NULL, modifier TEXT NOT NULL, description TEXT NOT NULL, status TEXT NOT NULL,
  work_rvu TEXT, nonfac_total TEXT, fac_total TEXT, pctc TEXT, global_days TEXT NOT NULL,
  pre_op TEXT, intra_op TEXT, post_op TEXT, mult_proc TEXT, bilateral TEXT, assistant TEXT,
  co_surgeon TEXT, team_surgeon TEXT, endo_base TEXT, conv_factor TEXT, supervision TEXT,
  line INTEGER NOT NULL,
  PRIMARY KEY (code, modifier)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS table_sources (
  kind TEXT NOT NULL, setting TEXT NOT NULL, part TEXT NOT NULL, version TEXT NOT NULL,
  effective TEXT, rows INTEGER NOT NULL, file TEXT NOT NULL, loaded_at TEXT NOT NULL,
  PRIMARY KEY (kind, setting, part)
);
"""


def tables_path(data_dir: Path | str) -> Path:
    """Where the loaders write and the checks read the tables.

    >>> tables_path("/data").as_posix()
    '/data/tables.sqlite'
    """
    return Path(data_dir) / TABLES_FILE
