"""NCCI procedure-to-procedure (PTP) edit files, practitioner and outpatient hospital, into ``tables.sqlite``.

Reads the tab-separated text (header lines, then column 1, column 2, pre-1996 flag, effective date,
deletion date, modifier indicator, rationale), the xlsx form, a zip of either, or a folder of parts
(f1..f4). Each part replaces its previous load in one transaction. Every row is kept, so the same files give the
same table whatever the day of the load: a pair edited, deleted and edited again has a row for each, and
``casepilot.tables.ptp.check_pair`` picks the one that applies on the date of service. Only a row repeated
exactly within a part is stored once (counted in ``duplicates``).
"""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from casepilot.iterutils import batched
from casepilot.tables.schema import PTP_COLUMNS
from ingest.tablestore import ROWS_PER_BATCH, TableLoadResult, Ticker, connect, record_part, timed, transaction
from ingest.tabular import LayoutError, Member, iso_date, members, rows, text_lines

KIND = "ncci-ptp"
LAYOUT = ("the NCCI PTP layout is tab-separated: column 1, column 2, '*' if in existence before 1996, "
          "effective date YYYYMMDD, deletion date YYYYMMDD or '*', modifier indicator 0/1/9, rationale")
HEADER_LINES_MAX = 30
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_VERSION = re.compile(r"v(\d{2})(\d)r(\d+)", re.IGNORECASE)
_PART = re.compile(r"-f(\d+)", re.IGNORECASE)

# an exact repeat of a row of the same part is stored once (the first line); every other row is kept
INSERT = f"INSERT INTO ptp ({PTP_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"


def detect_setting(name: str) -> str | None:
    """'practitioner' or 'hospital' from a CMS file name (ccipra-…, ccioph-…), else None."""
    n = name.lower()
    if "ccipra" in n or "practitioner" in n or re.search(r"(^|[^a-z])pra([^a-z]|$)", n):
        return "practitioner"
    if "ccioph" in n or "hospital" in n or "outpatient" in n or re.search(r"(^|[^a-z])(oph|opps)([^a-z]|$)", n):
        return "hospital"
    return None


def version_of(name: str) -> tuple[str, str | None]:
    """('v32.2r0', '2026-07-01') from 'ccipra-v322r0-f1.txt': version 32 is 2026, release .2 is quarter 3."""
    m = _VERSION.search(name)
    if not m:
        return Path(name.split(":")[-1]).stem, None
    major, minor, rev = int(m.group(1)), int(m.group(2)), m.group(3)
    eff = date(1994 + major, 3 * minor + 1, 1).isoformat() if minor <= 3 else None
    return f"v{major}.{minor}r{rev}", eff


def part_of(name: str) -> str:
    base = name.split(":")[-1]
    m = _PART.search(base)
    return f"f{m.group(1)}" if m else Path(base).stem.lower()


def parse_rows(member: Member, setting: str, progress=None) -> Iterator[tuple]:
    """Validated ptp rows of one file (part left empty, deletion '' for none); raises LayoutError naming the line
    at the first bad one."""
    started = False
    source = _lines(member, progress)
    for lineno, cells in source:
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if not started:
            if _looks_like_row(cells):
                started = True
            elif lineno > HEADER_LINES_MAX:
                raise LayoutError(member.name, lineno, f"no PTP edit rows in the first {HEADER_LINES_MAX} lines",
                                  LAYOUT)
            else:
                continue
        yield _row(member.name, lineno, cells, setting)
    if not started:
        raise LayoutError(member.name, None, "no PTP edit rows found", LAYOUT)


def _lines(member: Member, progress) -> Iterator[tuple[int, list[str]]]:
    if member.suffix == ".xlsx":
        yield from rows(member, LAYOUT, progress=progress)
    elif member.suffix == ".csv":
        yield from rows(member, LAYOUT, ",", progress=progress)
    else:  # tab-separated text: a plain split is faster and safer than csv quoting rules
        for i, line in enumerate(text_lines(member, LAYOUT, progress), start=1):
            yield i, line.rstrip("\r\n").split("\t")


def _looks_like_row(cells: list[str]) -> bool:
    return len(cells) >= 6 and bool(_CODE.match(cells[0].upper())) and bool(_CODE.match(cells[1].upper())) \
        and cells[3].isdigit()


def _row(name: str, lineno: int, cells: list[str], setting: str) -> tuple:
    if len(cells) < 6:
        raise LayoutError(name, lineno, f"row has {len(cells)} column(s), expected 7 (the file may be truncated)",
                          LAYOUT)
    col1, col2 = cells[0].upper(), cells[1].upper()
    for i, c in ((1, col1), (2, col2)):
        if not _CODE.match(c):
            raise LayoutError(name, lineno, f"column {i} is {c!r}, expected a 5-character CPT/HCPCS code", LAYOUT)
    if cells[2] not in ("", "*"):
        raise LayoutError(name, lineno, f"column 3 is {cells[2]!r}, expected '*' or blank", LAYOUT)
    try:
        eff = iso_date(cells[3])
        dele = iso_date(cells[4])
    except ValueError as e:
        raise LayoutError(name, lineno, f"bad date: {e}", LAYOUT) from None
    if eff is None:
        raise LayoutError(name, lineno, "column 4 (effective date) is empty", LAYOUT)
    mod = cells[5]
    if mod not in ("0", "1", "9"):
        raise LayoutError(name, lineno, f"column 6 (modifier indicator) is {mod!r}, expected 0, 1 or 9", LAYOUT)
    rationale = cells[6] if len(cells) > 6 else ""
    return (col1, col2, setting, int(cells[2] == "*"), eff, dele or "", mod, rationale, "", lineno)


def _dedupe(files: list[Member]) -> list[Member]:
    """In a CMS zip or folder: skip companion files (readme, disclaimer) and keep one form of each part."""
    if len(files) > 1:
        files = [m for m in files if _PART.search(m.name.split(":")[-1]) or detect_setting(m.name.split(":")[-1])]
    order = {".txt": 0, ".xlsx": 1, ".csv": 2}
    seen: set[str] = set()
    out = []
    for m in sorted(files, key=lambda m: order.get(m.suffix, 9)):
        stem = Path(m.name.split(":")[-1]).stem.lower()
        if stem not in seen:
            seen.add(stem)
            out.append(m)
    return sorted(out, key=lambda m: m.name)


def load_table(settings: Any, path: Path | str, reporter: Any = None, setting: str | None = None) -> TableLoadResult:
    """Load PTP file(s) at ``path`` (file, zip or folder); all parts in one transaction.

    ``setting`` ('practitioner' or 'hospital') overrides detection from the file name. Every row is stored, so
    the same files always give the same table; which row of a pair applies is decided when a date of service is
    checked. Raises LayoutError (a ValueError) naming file and line; nothing is changed then.
    """
    t0 = time.perf_counter()
    path = Path(path)
    files = members(path)
    if not files:
        raise LayoutError(path.name, None, "no .txt, .csv or .xlsx PTP files found", LAYOUT)
    files = _dedupe(files)
    plan = []
    for m in files:
        st = setting or detect_setting(m.name)
        if st not in ("practitioner", "hospital"):
            raise LayoutError(m.name, None, "cannot tell practitioner from outpatient hospital edits from the file "
                              "name; keep the CMS name (ccipra-… or ccioph-…) or pass the setting explicitly")
        plan.append((m, st, part_of(m.name), *version_of(m.name)))
    result = TableLoadResult(KIND, str(path))
    tick = Ticker(reporter)
    con = connect(settings)
    try:
        with transaction(con):
            for m, st, part, version, eff in plan:
                con.execute("DELETE FROM ptp WHERE setting = ? AND part = ?", (st, part))
                progress = tick.start(f"{KIND}: {m.name}", m.size if m.suffix != ".xlsx" else 0)
                n = 0
                for batch in batched(parse_rows(m, st, progress), ROWS_PER_BATCH):
                    con.executemany(INSERT, [r[:8] + (part,) + r[9:] for r in batch])
                    n += len(batch)
                tick.finish()
                kept = con.execute("SELECT COUNT(*) FROM ptp WHERE setting = ? AND part = ?", (st, part)).fetchone()[0]
                result.rows += n
                result.duplicates += n - kept
                result.parts.append(record_part(con, KIND, st, part, version, eff, kept, m.name))
    finally:
        con.close()
    return timed(result, t0)
