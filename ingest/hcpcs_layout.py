"""The two layouts of the CMS HCPCS Level II release, read into ``Entry`` objects for ``ingest/hcpcs.py``.

Fixed width: 320-character records (CRLF, Latin-1); record type 3 code, 4 code continuation, 7 modifier,
8 modifier continuation; positions from the CMS record layout (``POS``). xlsx/csv: the 48 ANWEB columns with
the long description in one cell. A line that breaks the layout stops the read with ``LayoutError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ingest.tabular import LayoutError, Member, members, rows, text_lines

RECORD_LEN = 320
# 1-based inclusive positions from the CMS record layout. Every record: code, sequence number, record type
# (3 code, 4 code continuation, 7 modifier, 8 modifier continuation) and a part of the long description.
# Record types 3 and 7 then carry the fields after it (FIELDS).
POS = {
    "code": (1, 5), "seq": (6, 10), "rid": (11, 11), "long": (12, 91),
    "short": (92, 119), "price": (120, 127), "mult_pi": (128, 128), "cim": (129, 146), "mcm": (147, 170),
    "statute": (171, 180), "labcert": (181, 204), "xref": (205, 229), "cov": (230, 230), "asc_grp": (231, 232),
    "asc_dt": (233, 240), "opps": (241, 243), "opps_pi": (244, 244), "opps_dt": (245, 252),
    "procnote": (253, 256), "betos": (257, 259), "tos": (261, 265), "anest_bu": (266, 268), "add_dt": (269, 276),
    "act_eff_dt": (277, 284), "term_dt": (285, 292), "action_cd": (293, 293),
}
FIELDS = tuple(k for k in POS if k not in ("code", "seq", "rid", "long"))


def _span(name: str) -> str:
    a, b = POS[name]
    return str(a) if a == b else f"{a}-{b}"


def _cut(line: str, name: str) -> str:
    """The raw text of one field of a record (positions in POS)."""
    a, b = POS[name]
    return line[a - 1:b]


LAYOUT_TXT = (f"the HCPCS fixed-width layout has {RECORD_LEN}-character records: code {_span('code')}, sequence "
              f"{_span('seq')}, record type {_span('rid')} (3 code, 4 code continuation, 7 modifier, 8 modifier "
              f"continuation), long description {_span('long')}, short description {_span('short')}, ..., action "
              f"code {_span('action_cd')}")
LAYOUT_TABLE = ("the HCPCS xlsx/csv layout has 48 columns starting HCPC, SEQNUM, RECID, LONG DESCRIPTION, "
                "SHORT DESCRIPTION, ... and ending ADD DT, ACT EFF DT, TERM DT, ACTION CD")
REPEATS = {"price": 2, "cim": 6, "mcm": 8, "labcert": 3, "xref": 5, "tos": 1}  # width of each occurrence


@dataclass
class Entry:
    """One code or modifier while it is being assembled from its records."""

    code: str
    modifier: bool
    long: list[str]
    fields: dict[str, str]
    line: int


def _split(value: str, width: int) -> list[str]:
    return [value[i:i + width].strip() for i in range(0, len(value), width) if value[i:i + width].strip()]


def parse_fixed(member: Member) -> Iterator[Entry]:
    """Entries of the fixed-width file; preamble lines before the first record are skipped."""
    current: Entry | None = None
    started = False
    for lineno, line in enumerate(text_lines(member, LAYOUT_TXT), start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        rid = _cut(line, "rid")
        shaped = rid in ("3", "4", "7", "8") and _cut(line, "seq").strip().isdigit()
        if not started:
            if not shaped:
                if lineno > 40:
                    raise LayoutError(member.name, lineno, "no HCPCS records in the first 40 lines", LAYOUT_TXT)
                continue  # the disclaimer at the top of the CMS file
            started = True
        if not shaped:
            raise LayoutError(member.name, lineno, f"record type is {rid!r} (expected 3, 4, 7 or 8) or the sequence "
                              f"number in positions {_span('seq')} is not numeric", LAYOUT_TXT)
        if len(line) > RECORD_LEN:
            raise LayoutError(member.name, lineno, f"record is {len(line)} characters, the HCPCS fixed-width layout "
                              f"has {RECORD_LEN}", LAYOUT_TXT)
        code = _cut(line, "code").strip()
        if rid in ("3", "7"):
            if len(line) < POS["action_cd"][1]:
                raise LayoutError(member.name, lineno, f"record is {len(line)} characters, the HCPCS fixed-width "
                                  f"layout has {RECORD_LEN} (the file may be truncated)", LAYOUT_TXT)
            line = line.ljust(RECORD_LEN)
            if current:
                yield current
            fields = {k: _cut(line, k) for k in FIELDS}
            for k, width in REPEATS.items():
                fields[k] = " ".join(_split(fields[k], width))
            current = Entry(code, rid == "7", [_cut(line, "long").strip()], fields, lineno)
        else:
            if current is None or current.code != code or current.modifier != (rid == "8"):
                raise LayoutError(member.name, lineno, f"continuation record for {code!r} does not follow its first "
                                  f"record (type {'7' if rid == '8' else '3'})", LAYOUT_TXT)
            current.long.append(_cut(line, "long").strip())
    if current:
        yield current
    if not started:
        raise LayoutError(member.name, None, "no HCPCS records found", LAYOUT_TXT)


def _col(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().upper())


def parse_table(member: Member) -> Iterator[Entry]:
    """Entries of the xlsx/csv release (48 columns, header row first)."""
    it = iter(rows(member, LAYOUT_TABLE))
    header: dict[str, int] | None = None
    for lineno, cells in it:
        if cells and _col(cells[0]).lstrip("\ufeff") in ("HCPC", "HCPCS", "HCPCS CODE"):
            header = {_col(c): i for i, c in enumerate(cells)}
            break
        if lineno > 20:
            break
    if header is None:
        raise LayoutError(member.name, None, "no header row starting HCPC, SEQNUM, RECID", LAYOUT_TABLE)
    missing = [c for c in ("RECID", "LONG DESCRIPTION", "SHORT DESCRIPTION") if c not in header]
    if missing:
        raise LayoutError(member.name, lineno, f"header lacks {', '.join(missing)}", LAYOUT_TABLE)
    width = len(header)

    def get(cells: list[str], *names: str) -> str:
        for n in names:
            i = header.get(n)
            if i is not None and i < len(cells):
                return cells[i].strip()
        return ""

    current: Entry | None = None
    for lineno, cells in it:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < min(width, 5):
            raise LayoutError(member.name, lineno, f"row has {len(cells)} columns, expected {width} "
                              "(the file may be truncated)", LAYOUT_TABLE)
        rid = get(cells, "RECID")
        code = cells[0].strip()
        if rid not in ("3", "4", "7", "8") or not code:
            raise LayoutError(member.name, lineno, f"RECID is {rid!r}, expected 3, 4, 7 or 8", LAYOUT_TABLE)
        long = get(cells, "LONG DESCRIPTION")
        if rid in ("4", "8"):
            if current is None or current.code != code:
                raise LayoutError(member.name, lineno, f"continuation row for {code!r} does not follow its first row",
                                  LAYOUT_TABLE)
            current.long.append(long)
            continue
        if current:
            yield current
        fields = {
            "short": get(cells, "SHORT DESCRIPTION"),
            "price": " ".join(get(cells, f"PRICE{i}") for i in range(1, 5)),
            "mult_pi": get(cells, "MULT PI"), "statute": get(cells, "STATUTE"),
            "xref": " ".join(get(cells, f"XREF{i}") for i in range(1, 6)), "cov": get(cells, "COV"),
            "opps": get(cells, "OPPS"), "opps_pi": get(cells, "OPPS PI"), "procnote": get(cells, "PROCNOTE"),
            "betos": get(cells, "BETOS"), "tos": " ".join(get(cells, f"TOS{i}") for i in range(1, 6)),
            "anest_bu": get(cells, "ANEST BU"), "add_dt": get(cells, "ADD DT"),
            "act_eff_dt": get(cells, "ACT EFF DT"), "term_dt": get(cells, "TERM DT"),
            "action_cd": get(cells, "ACTION CD"),
        }
        current = Entry(code, rid == "7", [long], fields, lineno)
    if current:
        yield current


def _pick(path: Path) -> Member:
    found = members(path, (".txt", ".xlsx", ".csv"))
    if len(found) > 1:  # a CMS zip: the ANWEB table, xlsx first
        anweb = [m for m in found if "ANWEB" in m.name.upper()] or found
        order = {".xlsx": 0, ".csv": 1, ".txt": 2}
        found = sorted(anweb, key=lambda m: order.get(m.suffix, 9))
    if not found:
        raise LayoutError(path.name, None, "no HCPCS .txt, .xlsx or .csv file found", LAYOUT_TXT)
    return found[0]
