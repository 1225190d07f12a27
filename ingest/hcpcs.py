"""CMS HCPCS Level II (codes and Level II modifiers) from the fixed-width text or the xlsx/csv release.

Fixed width: 320-character records (CRLF, Latin-1); record type 3 code, 4 code continuation, 7 modifier,
8 modifier continuation; positions from the CMS record layout. xlsx/csv: the 48 ANWEB columns with the
long description in one cell. Terminated codes are kept with their termination date; whether a code is
terminated (and so no longer billable) is decided when it is looked up, for the date asked
(``casepilot.records.on_date``), never on the day of ingest.

The file layouts and their parsers are ``ingest/hcpcs_layout.py``; this module turns the entries into code
records and passages.
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
# The layout's names were defined here before the split: still importable from here.
from ingest.hcpcs_layout import (FIELDS, LAYOUT_TABLE, LAYOUT_TXT, POS, RECORD_LEN, REPEATS, Entry,  # noqa: F401
                                 _pick, parse_fixed, parse_table)
from ingest.source import Problem, passage, stable_hash
from ingest.tabular import LayoutError, iso_date

# 2: records carry the termination date only (billable and "terminated" are decided at lookup).
LOADER_VERSION = 2
SOURCE = "hcpcs"
COLLECTION = "hcpcs"
URL = "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system"
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
