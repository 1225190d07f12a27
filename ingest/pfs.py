"""The CMS physician fee schedule RVU file (PPRRVU) into ``tables.sqlite``: status, global days, indicators.

Reads the official CSV/xlsx (title and multi-row header first) and the fixed-width text (HDR lines,
then records laid out as in RVU25D). Descriptions are kept only for HCPCS Level II codes: the CPT
short descriptors in this file are AMA copyright.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Iterator

from casepilot.iterutils import batched
from ingest.tablestore import ROWS_PER_BATCH, TableLoadResult, Ticker, connect, record_part, timed, transaction
from ingest.tabular import LayoutError, Member, members, rows, text_lines

KIND = "pfs"
LAYOUT_CSV = ("the PPRRVU CSV layout: title rows, a header ending in a row 'HCPCS, MOD, DESCRIPTION, CODE, ...' "
              "and 31 columns (status in column 4, global days in column 15, indicators in columns 19-23)")
LAYOUT_TXT = ("the PPRRVU fixed-width layout (RVU25D): HDR lines, then records with HCPCS 1-5, modifier 6-7, "
              "status 58, global days 104-106, multiple/bilateral/assistant/co-/team-surgery indicators 116-120")
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_GLOBAL = re.compile(r"^(000|010|090|MMM|XXX|YYY|ZZZ)$")
_IND = re.compile(r"^[0-9]?$")
_RELEASE = re.compile(r"(20\d{2})\s.*?(January|April|July|October|Jan|Apr|Jul|Oct)", re.IGNORECASE)
_NAME = re.compile(r"(?:PPRRVU|RVU)(\d{2,4})_?([A-D]|Jan|Apr|Jul|Oct)?", re.IGNORECASE)
_QUARTER = {"A": "January", "B": "April", "C": "July", "D": "October",
            "JAN": "January", "APR": "April", "JUL": "July", "OCT": "October"}
_MONTH = {"January": "01", "April": "04", "July": "07", "October": "10"}
# CSV column positions (0-based) of the official file.
COLS = dict(code=0, modifier=1, description=2, status=3, work_rvu=5, nonfac_total=11, fac_total=12, pctc=13,
            global_days=14, pre_op=15, intra_op=16, post_op=17, mult_proc=18, bilateral=19, assistant=20,
            co_surgeon=21, team_surgeon=22, endo_base=23, conv_factor=24, supervision=25)
# Fixed-width positions (1-based, inclusive) from the RVU25D record layout.
POS = dict(code=(1, 5), modifier=(6, 7), description=(8, 57), status=(58, 58), work_rvu=(60, 65),
           nonfac_total=(91, 96), fac_total=(97, 102), pctc=(103, 103), global_days=(104, 106), pre_op=(107, 109),
           intra_op=(110, 112), post_op=(113, 115), mult_proc=(116, 116), bilateral=(117, 117),
           assistant=(118, 118), co_surgeon=(119, 119), team_surgeon=(120, 120), endo_base=(128, 132),
           conv_factor=(133, 140), supervision=(142, 143))
FIELDS = tuple(COLS)


def _release(text: str) -> tuple[str, str | None] | None:
    m = _RELEASE.search(text)
    if not m:
        return None
    month = _QUARTER[m.group(2)[:3].upper()]
    return f"PFS RVU {m.group(1)} {month} release", f"{m.group(1)}-{_MONTH[month]}-01"


def release_of(name: str) -> tuple[str, str | None]:
    """('PFS RVU 2025 October release', '2025-10-01') from 'PPRRVU2025_Oct.csv' or 'RVU25D'."""
    m = _NAME.search(name)
    if m:
        year = m.group(1) if len(m.group(1)) == 4 else f"20{m.group(1)}"
        q = (m.group(2) or "").upper()
        if q in _QUARTER:
            month = _QUARTER[q]
            return f"PFS RVU {year} {month} release", f"{year}-{_MONTH[month]}-01"
        return f"PFS RVU {year}", None
    return f"PFS RVU ({name})", None


def _record(name: str, lineno: int, values: dict[str, str], layout: str) -> tuple:
    code = values["code"].upper()
    if not _CODE.match(code):
        raise LayoutError(name, lineno, f"HCPCS code is {values['code']!r}, expected 5 letters or digits", layout)
    if not re.fullmatch(r"[A-Z]", values["status"]):
        raise LayoutError(name, lineno, f"status code is {values['status']!r}, expected one letter", layout)
    if not _GLOBAL.match(values["global_days"]):
        raise LayoutError(name, lineno, f"global days is {values['global_days']!r}, expected 000/010/090/MMM/XXX/"
                          "YYY/ZZZ", layout)
    for k in ("mult_proc", "bilateral", "assistant", "co_surgeon", "team_surgeon"):
        if not _IND.match(values[k]):
            raise LayoutError(name, lineno, f"{k.replace('_', ' ')} indicator is {values[k]!r}, expected one digit",
                              layout)
    for k in ("pre_op", "intra_op", "post_op"):  # the text form writes .00, the CSV 0.00
        if values[k].startswith("."):
            values[k] = "0" + values[k]
    desc = values["description"] if not code[:1].isdigit() else ""  # CPT descriptors stay out (AMA copyright)
    out = [code, values["modifier"].upper(), desc]
    out += [values[k] or None for k in FIELDS[3:]]
    out[3] = values["status"]
    out[8] = values["global_days"]
    return (*out, lineno)


def parse_csv(member: Member, progress=None) -> tuple[str | None, Iterator[tuple]]:
    """(title text, rows) of the CSV/xlsx form."""
    it = iter(rows(member, LAYOUT_CSV, progress=progress))
    title = []
    for lineno, cells in it:
        cells = [c.strip() for c in cells]
        if len(cells) >= 2 and cells[0].upper() == "HCPCS" and cells[1].upper() == "MOD":
            if len(cells) < 23 or cells[3].upper() != "CODE" or cells[14].upper() != "DAYS":
                raise LayoutError(member.name, lineno, "header row does not match the PPRRVU columns", LAYOUT_CSV)
            return " ".join(title), _csv_rows(member.name, it)
        title.extend(c for c in cells if c)
        if lineno > 30:
            break
    raise LayoutError(member.name, None, "no 'HCPCS, MOD, DESCRIPTION, ...' header row in the first 30 lines",
                      LAYOUT_CSV)


def _csv_rows(name: str, it) -> Iterator[tuple]:
    for lineno, cells in it:
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if len(cells) < 23:
            raise LayoutError(name, lineno, f"row has {len(cells)} columns, expected 31 (the file may be truncated)",
                              LAYOUT_CSV)
        yield _record(name, lineno, {k: (cells[i] if i < len(cells) else "") for k, i in COLS.items()}, LAYOUT_CSV)


def parse_txt(member: Member, progress=None) -> Iterator[tuple]:
    """Rows of the fixed-width form; HDR lines are skipped."""
    started = False
    for lineno, line in enumerate(text_lines(member, LAYOUT_TXT, progress), start=1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("HDR"):
            continue
        if len(line) < 120:
            raise LayoutError(member.name, lineno, f"record is {len(line)} characters, the PPRRVU fixed-width "
                              "records reach at least position 120 (about 170 characters)", LAYOUT_TXT)
        started = True
        yield _record(member.name, lineno, {k: line[a - 1:b].strip() for k, (a, b) in POS.items()}, LAYOUT_TXT)
    if not started:
        raise LayoutError(member.name, None, "no fee-schedule records found", LAYOUT_TXT)


def load_table(settings: Any, path: Path | str, reporter: Any = None) -> TableLoadResult:
    """Replace the fee-schedule table with the PPRRVU file at ``path`` (csv, xlsx, txt or a zip holding one)."""
    t0 = time.perf_counter()
    path = Path(path)
    files = [m for m in members(path) if m.name.split(":")[-1].upper().startswith("PPRRVU")] or members(path)
    if len(files) != 1:
        # CMS zips hold the same table as csv, txt and xlsx: prefer csv, then xlsx, then txt.
        order = {".csv": 0, ".xlsx": 1, ".txt": 2}
        files = sorted((m for m in files if m.suffix in order), key=lambda m: order[m.suffix])[:1]
    if not files:
        raise LayoutError(path.name, None, "no PPRRVU .csv, .xlsx or .txt file found", LAYOUT_CSV)
    m = files[0]
    tick = Ticker(reporter)
    progress = tick.start(f"{KIND}: {m.name}", m.size if m.suffix != ".xlsx" else 0)
    if m.suffix == ".txt":
        title, it = None, parse_txt(m, progress)
    else:
        title, it = parse_csv(m, progress)
    version, eff = (_release(title) if title else None) or release_of(m.name)
    result = TableLoadResult(KIND, str(path))
    con = connect(settings)
    try:
        with transaction(con):
            con.execute("DELETE FROM pfs")
            n = 0
            for batch in batched(it, ROWS_PER_BATCH):
                con.executemany(f"INSERT OR REPLACE INTO pfs VALUES ({','.join('?' * 21)})", batch)
                n += len(batch)
            result.rows = n
            result.parts.append(record_part(con, KIND, "", "", version, eff, n, m.name))
    finally:
        tick.finish()
        con.close()
    return timed(result, t0)
