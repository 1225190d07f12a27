"""CMS HCPCS Level II (codes and Level II modifiers) from the fixed-width text or the xlsx/csv release.

Fixed width: 320-character records (CRLF, Latin-1); record type 3 code, 4 code continuation, 7 modifier,
8 modifier continuation; positions from the CMS record layout. xlsx/csv: the 48 ANWEB columns with the
long description in one cell. Terminated codes are kept with their termination date; whether a code is
terminated (and so no longer billable) is decided when it is looked up, for the date asked
(``casepilot.records.on_date``), never on the day of ingest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator

from langchain_core.documents import Document

from casepilot import codes as cs
from casepilot.records import CodeRecord
from ingest.source import Problem, passage, stable_hash
from ingest.tabular import LayoutError, Member, iso_date, members, rows, text_lines

# 2: records carry the termination date only (billable and "terminated" are decided at lookup).
LOADER_VERSION = 2
SOURCE = "hcpcs"
COLLECTION = "hcpcs"
URL = "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system"
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
COVERAGE = {
    "C": "carrier judgment", "D": "special coverage instructions apply", "I": "not payable by Medicare",
    "M": "non-covered by Medicare", "S": "non-covered by Medicare statute",
}
ACTIONS = {
    "A": "added", "B": "administrative data and long description changed", "C": "long description changed",
    "D": "discontinued", "F": "administrative data changed", "N": "no maintenance", "P": "payment change",
    "R": "reactivated", "S": "short description changed", "T": "miscellaneous change",
}
_MONTHS = {"JAN": "01", "APR": "04", "JUL": "07", "OCT": "10"}


def version_of(name: str) -> str | None:
    """'HCPCS Level II 2025-10' from 'HCPC2025_OCT_ANWEB.xlsx'; 'HCPCS Level II 2020' from 'HCPC2020_ANWEB'."""
    m = re.search(r"HCPC(?:S)?[_ ]?(\d{4})(?:[_ -]?(JAN|APR|JUL|OCT))?", name.split(":")[-1], re.IGNORECASE)
    if not m:
        return None
    month = _MONTHS.get((m.group(2) or "").upper())
    return f"HCPCS Level II {m.group(1)}" + (f"-{month}" if month else "")


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


def to_record(e: Entry, name: str, version: str) -> CodeRecord:
    """A CodeRecord from an assembled entry; raises LayoutError for a bad code or date.

    The record holds the file's dates as they are: a code is billable here, and ``extra["termination_date"]``
    says from when it is not (``casepilot.records.on_date`` decides that for the date of a lookup).
    """
    f = {k: v.strip() for k, v in e.fields.items()}
    code = cs.normalize(e.code)
    system = cs.MODIFIER if e.modifier else cs.HCPCS
    if not (re.fullmatch(r"[0-9A-Z]{2}", code) if e.modifier else re.fullmatch(r"[A-Z][0-9]{4}", code)):
        raise LayoutError(name, e.line, f"{e.code.strip()!r} is not a HCPCS Level II "
                          f"{'modifier' if e.modifier else 'code'}", LAYOUT_TXT)
    try:
        added, eff, term = (iso_date(f.get(k, "")) for k in ("add_dt", "act_eff_dt", "term_dt"))
    except ValueError as ex:
        raise LayoutError(name, e.line, f"bad date for {code}: {ex}", LAYOUT_TXT) from None
    long = re.sub(r"\s+", " ", " ".join(p for p in e.long if p)).strip() or f.get("short", "")
    label = "modifier" if e.modifier else "code"
    title = long if len(long) <= 160 else long[:157].rsplit(" ", 1)[0] + "..."
    cov, action = f.get("cov", ""), f.get("action_cd", "")
    extra = {
        "short_description": f.get("short", ""), "added": added, "effective": eff, "termination_date": term,
        "action_code": action, "action": ACTIONS.get(action, ""), "coverage_code": cov,
        "coverage": COVERAGE.get(cov, ""), "betos": f.get("betos", ""),
        "pricing_indicators": f.get("price", "").split(), "multiple_pricing_indicator": f.get("mult_pi", ""),
        "cross_reference": f.get("xref", "").split(), "type_of_service": f.get("tos", "").split(),
        "opps_status_indicator": f.get("opps_pi", ""), "statute": f.get("statute", ""),
        "processing_note": f.get("procnote", ""), "anesthesia_base_units": f.get("anest_bu", ""),
        "level": label,
    }
    extra = {k: v for k, v in extra.items() if v not in ("", [], None)}
    return CodeRecord(
        system=system, code=code, display=code, title=title, description=long,
        billable=None if e.modifier else True,
        level="modifier" if e.modifier else "code", version=version, source=SOURCE, extra=extra,
    )


def _pick(path: Path) -> Member:
    found = members(path, (".txt", ".xlsx", ".csv"))
    if len(found) > 1:  # a CMS zip: the ANWEB table, xlsx first
        anweb = [m for m in found if "ANWEB" in m.name.upper()] or found
        order = {".xlsx": 0, ".csv": 1, ".txt": 2}
        found = sorted(anweb, key=lambda m: order.get(m.suffix, 9))
    if not found:
        raise LayoutError(path.name, None, "no HCPCS .txt, .xlsx or .csv file found", LAYOUT_TXT)
    return found[0]


@dataclass
class HCPCSSource:
    """HCPCS Level II codes (system 'hcpcs') and Level II modifiers (system 'modifier') from one CMS file."""

    path: Path
    name: str = SOURCE
    system: str = cs.HCPCS
    collections: tuple[str, ...] = (COLLECTION,)
    problems: list[Problem] = field(default_factory=list)
    note: str = ("CMS HCPCS Level II file loaded by the user; terminated codes are kept and marked terminated "
                 "from their termination date.")

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._version = version_of(self.path.name)

    @property
    def version(self) -> str:
        if self._version is None:
            self._parsed  # the file itself may say
        return self._version or "HCPCS Level II"

    @version.setter
    def version(self, value: str) -> None:
        self._version = value

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        with open(self.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return stable_hash(self.name, LOADER_VERSION, h.hexdigest())  # the file alone: no re-ingest each month

    @cached_property
    def _parsed(self) -> list[CodeRecord]:
        try:
            return self.load()
        except (LayoutError, OSError) as e:
            self.problems.append(Problem(str(self.path), str(e)))
            return []

    def load(self) -> list[CodeRecord]:
        """Every record, or LayoutError at the first bad line (strict: the caller decides what to keep)."""
        m = _pick(self.path)
        self._version = self._version or version_of(m.name)
        entries = parse_fixed(m) if m.suffix == ".txt" else parse_table(m)
        out: dict[tuple[str, str], CodeRecord] = {}
        for e in entries:
            r = to_record(e, m.name, "")
            out[(r.system, r.code)] = r
        if not out:
            raise LayoutError(m.name, None, "no codes or modifiers found", LAYOUT_TXT)
        if self._version is None:
            latest = max((r.extra.get("effective") or "" for r in out.values()), default="")
            self._version = f"HCPCS Level II (actions through {latest})" if latest else "HCPCS Level II"
        for r in out.values():
            r.version = self._version
        return list(out.values())

    def records(self) -> Iterator[CodeRecord]:
        return iter(self._parsed)

    def passages(self) -> Iterator[Document]:
        for r in self._parsed:
            yield passage(COLLECTION, f"hcpcs:{r.system}:{r.code}", passage_text(r), title=passage_title(r),
                          source=self.version, system=r.system, code=r.code, display=r.display,
                          level=r.level, billable=r.billable, termination_date=r.extra.get("termination_date"), url=URL,
                          embed_text=r.description)


def passage_title(r: CodeRecord) -> str:
    kind = "HCPCS Level II modifier" if r.system == cs.MODIFIER else "HCPCS"
    term = r.extra.get("termination_date")
    return f"{kind} {r.code} {r.title}" + (f" (termination date {term})" if term else "")


def passage_text(r: CodeRecord) -> str:
    """One self-contained paragraph per code: descriptions, dates, coverage and status."""
    x = r.extra
    kind = "HCPCS Level II modifier" if r.system == cs.MODIFIER else "HCPCS Level II code"
    parts = [f"{kind} {r.code}: {r.description}."]
    if x.get("short_description"):
        parts.append(f"Short description: {x['short_description']}.")
    if x.get("coverage_code"):
        parts.append(f"Medicare coverage code {x['coverage_code']} ({x.get('coverage', '')}).")
    if x.get("betos"):
        parts.append(f"BETOS {x['betos']}.")
    if x.get("added"):
        parts.append(f"Added {x['added']}.")
    if x.get("effective"):
        parts.append(f"Latest action {x.get('action', x.get('action_code', ''))} effective {x['effective']}.")
    if x.get("termination_date"):
        parts.append(f"Termination date: {x['termination_date']}.")
    if x.get("cross_reference"):
        parts.append(f"Cross reference: {', '.join(x['cross_reference'])}.")
    return " ".join(parts)
