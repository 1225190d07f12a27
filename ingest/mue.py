"""CMS MUE tables (practitioner, outpatient hospital, DME supplier) into ``tables.sqlite``.

CSV (Latin-1, CRLF, a quoted multi-line notice before the header) or xlsx: code, MUE value,
adjudication indicator ("2 Date of Service Edit: Policy"), rationale. One file replaces its setting.
"""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from casepilot.iterutils import batched
from ingest.tablestore import ROWS_PER_BATCH, TableLoadResult, Ticker, connect, record_part, timed, transaction
from ingest.tabular import LayoutError, Member, members, rows

KIND = "mue"
LAYOUT = ("the MUE layout has a header row 'HCPCS/CPT Code', '<setting> MUE Values', 'MUE Adjudication "
          "Indicator', 'MUE Rationale', then one row per code: code, units, '1 Line Edit' / '2 Date of Service "
          "Edit: Policy' / '3 Date of Service Edit: Clinical', rationale")
HEADER_ROWS_MAX = 40
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_EFF = re.compile(r"eff(?:ective)?[_ -]*(\d{1,2})[-_.](\d{1,2})[-_.](\d{4})", re.IGNORECASE)


def detect_setting(text: str) -> str | None:
    """'practitioner', 'hospital' or 'dme' from a file name or the MUE value column header."""
    t = re.sub(r"[\s_]+", "", text.lower())
    if "practitioner" in t:
        return "practitioner"
    if "hospital" in t or "outpatient" in t or "facility" in t:
        return "hospital"
    if "dme" in t or "supplier" in t:
        return "dme"
    return None


def effective_of(name: str) -> str | None:
    """'2026-07-01' from 'MCR_MUE_PractitionerServices_Eff_07-01-2026.csv'."""
    m = _EFF.search(name)
    if not m:
        return None
    mo, d, y = (int(x) for x in m.groups())
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def _is_header(cells: list[str]) -> bool:
    first = re.sub(r"\s+", "", cells[0]).upper() if cells else ""
    return first.startswith("HCPCS") or first in ("CPT", "CODE", "HCPCS/CPTCODE")


def parse(member: Member, progress=None) -> tuple[str | None, Iterator[tuple]]:
    """(setting from the header, row iterator); rows are validated lazily and raise LayoutError."""
    it = iter(rows(member, LAYOUT, progress=progress))
    for lineno, cells in it:
        if cells and _is_header(cells):
            if len(cells) < 3:
                raise LayoutError(member.name, lineno, f"header has {len(cells)} column(s), expected 4", LAYOUT)
            return detect_setting(cells[1]), _rows(member.name, it)
        if lineno > HEADER_ROWS_MAX:
            break
    raise LayoutError(member.name, None, f"no 'HCPCS/CPT Code' header row in the first {HEADER_ROWS_MAX} lines",
                      LAYOUT)


def _rows(name: str, it) -> Iterator[tuple]:
    for lineno, cells in it:
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if len(cells) < 3:
            raise LayoutError(name, lineno, f"row has {len(cells)} column(s), expected 4 (the file may be truncated)",
                              LAYOUT)
        code = cells[0].upper()
        if not _CODE.match(code):
            raise LayoutError(name, lineno, f"code is {cells[0]!r}, expected a 5-character CPT/HCPCS code", LAYOUT)
        try:
            value = int(float(cells[1]))
        except ValueError:
            raise LayoutError(name, lineno, f"MUE value is {cells[1]!r}, expected a whole number", LAYOUT) from None
        mai_text = cells[2]
        mai = mai_text[:1]
        if mai not in ("1", "2", "3"):
            raise LayoutError(name, lineno, f"adjudication indicator is {mai_text!r}, expected 1, 2 or 3 with its text",
                              LAYOUT)
        rationale = cells[3] if len(cells) > 3 else ""
        yield (code, value, mai, mai_text, rationale, lineno)


def load_table(settings: Any, path: Path | str, reporter: Any = None, setting: str | None = None) -> TableLoadResult:
    """Load MUE table file(s) at ``path`` (file, zip or folder) in one transaction; each replaces its setting.

    ``setting`` ('practitioner', 'hospital' or 'dme') overrides detection from the name and header.
    """
    t0 = time.perf_counter()
    path = Path(path)
    # A CMS zip may hold the same table as csv and xlsx: keep one form of each file (csv first).
    order = {".csv": 0, ".xlsx": 1, ".txt": 2}
    files, stems = [], set()
    for m in sorted((m for m in members(path) if m.suffix in order), key=lambda m: order[m.suffix]):
        stem = Path(m.name.split(":")[-1]).stem.lower()
        if stem not in stems and not re.search(r"readme|disclaimer", stem):
            stems.add(stem)
            files.append(m)
    if not files:
        raise LayoutError(path.name, None, "no .csv or .xlsx MUE files found", LAYOUT)
    result = TableLoadResult(KIND, str(path))
    tick = Ticker(reporter)
    con = connect(settings)
    try:
        with transaction(con):
            done: set[str] = set()
            for m in files:
                progress = tick.start(f"{KIND}: {m.name}", m.size if m.suffix != ".xlsx" else 0)
                header_setting, it = parse(m, progress)
                st = setting or detect_setting(m.name) or header_setting
                if st not in ("practitioner", "hospital", "dme"):
                    raise LayoutError(m.name, None, "cannot tell the setting (practitioner, outpatient hospital or "
                                      "DME supplier) from the file name or header; pass it explicitly")
                if st in done:
                    raise LayoutError(m.name, None, f"a second {st} MUE file in the same load; load one per setting")
                done.add(st)
                con.execute("DELETE FROM mue WHERE setting = ?", (st,))
                n = 0
                for batch in batched(it, ROWS_PER_BATCH):
                    con.executemany("INSERT OR REPLACE INTO mue VALUES (?,?,?,?,?,?,?)",
                                    [(r[0], st, *r[1:]) for r in batch])
                    n += len(batch)
                tick.finish()
                if n == 0:
                    raise LayoutError(m.name, None, "the header is there but no MUE rows follow", LAYOUT)
                eff = effective_of(m.name)
                version = f"MUE {st} effective {eff}" if eff else f"MUE {st} ({m.name})"
                result.rows += n
                result.parts.append(record_part(con, KIND, st, "", version, eff, n, m.name))
    finally:
        con.close()
    return timed(result, t0)
