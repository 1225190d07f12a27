"""The CMS tables in ``tables.sqlite``: NCCI PTP edits, MUE, the physician fee schedule and the Medicare
Coverage Database.

``ingest/`` writes them; the modules here only read them and answer from exact rows, so every verdict can cite
the table, version, file and line it rests on. One module per table (``ptp``, ``mue``, ``pfs``), the schema
(``schema``), CMS's wording (``labels``), the way in (``store.open_tables``), and the coverage store
(``coverage``). Dates of service are passed in by the caller, never read from the clock here.
"""

from casepilot.tables.schema import TABLES_FILE, tables_path
from casepilot.tables.store import Tables, loaded_tables, open_tables

__all__ = ["TABLES_FILE", "Tables", "loaded_tables", "open_tables", "tables_path"]
