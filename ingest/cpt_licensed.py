"""A user's licensed AMA CPT data file(s): code and descriptor, tab- or pipe-delimited.

Accepts one file with a descriptor column (or long/medium/short columns, named in a header row) or a
folder of the AMA variant files (LONG*, MEDU*/MED*, SHORT*), merged by code. The descriptors are the
user's licensed data: they go to the user's own data directory only, never into the repository.
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
from ingest.tabular import LayoutError, Member, members, text_lines

LOADER_VERSION = 1
SOURCE = "cpt-licensed"
COLLECTION = "cpt_licensed"
LAYOUT = ("a licensed CPT data file has one code per line: the CPT code, a tab or '|', then the descriptor "
          "(or long, medium and short descriptors; an optional header row names the columns)")
_CPT = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[FTU])$")
VARIANTS = ("long", "medium", "short")


def variant_of(name: str) -> str:
    """Which descriptor a single-descriptor AMA file holds, from its name (LONGULT.txt, MEDU.txt, SHORTU.txt)."""
    n = name.split(":")[-1].lower()
    if n.startswith("short") or "short" in n:
        return "short"
    if n.startswith("med") or "medium" in n:
        return "medium"
    return "long"


def _header_map(cells: list[str]) -> dict[str, int] | None:
    """Column roles from a header row, or None when the row is data."""
    low = [c.strip().lower() for c in cells]
    if any(_CPT.match(c.strip().upper()) for c in cells[:2]):
        return None
    roles: dict[str, int] = {}
    for i, c in enumerate(low):
        if "concept" in c:
            continue
        if "code" in c and "code" not in roles:
            roles["code"] = i
        elif "long" in c:
            roles["long"] = i
        elif "med" in c:
            roles["medium"] = i
        elif "short" in c:
            roles["short"] = i
        elif ("desc" in c or "descriptor" in c) and "long" not in roles:
            roles["long"] = i
    return roles if "code" in roles else None


def parse_file(member: Member) -> Iterator[tuple[str, dict[str, str], int]]:
    """(code, {variant: descriptor}, line) for each data line; LayoutError at the first bad one."""
    delim: str | None = None
    roles: dict[str, int] | None = None
    seen_data = False
    for lineno, line in enumerate(text_lines(member, LAYOUT), start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if delim is None:
            delim = "\t" if "\t" in line else "|" if "|" in line else None
            if delim is None:
                raise LayoutError(member.name, lineno, "no tab or '|' separates the code from the descriptor", LAYOUT)
        cells = [c.strip() for c in line.split(delim)]
        if not seen_data and roles is None:
            header = _header_map(cells)
            if header is not None:
                roles = header
                continue
        seen_data = True
        if roles is None:
            n = len(cells)
            if n == 2:
                roles = {"code": 0, variant_of(member.name): 1}
            elif n >= 4:
                roles = {"code": 0, "long": 1, "medium": 2, "short": 3}
            elif n == 3:
                roles = {"code": 0, "long": 1, "short": 2}
            else:
                raise LayoutError(member.name, lineno, "a line needs a code and a descriptor", LAYOUT)
        if len(cells) <= max(roles.values()):
            raise LayoutError(member.name, lineno, f"line has {len(cells)} column(s), expected "
                              f"{max(roles.values()) + 1} (the file may be truncated)", LAYOUT)
        code = cells[roles["code"]].upper()
        if not _CPT.match(code):
            raise LayoutError(member.name, lineno, f"{cells[roles['code']]!r} is not a CPT code (5 digits, or 4 "
                              "digits and F, T or U)", LAYOUT)
        desc = {v: cells[roles[v]] for v in VARIANTS if v in roles and cells[roles[v]]}
        if not desc:
            raise LayoutError(member.name, lineno, f"no descriptor for {code}", LAYOUT)
        yield code, desc, lineno
    if not seen_data:
        raise LayoutError(member.name, None, "no CPT codes found", LAYOUT)


@dataclass
class CPTLicensedSource:
    """CPT codes (system 'cpt', licensed=True) with the user's licensed descriptors."""

    path: Path
    name: str = SOURCE
    system: str = cs.CPT
    collections: tuple[str, ...] = (COLLECTION,)
    problems: list[Problem] = field(default_factory=list)
    note: str = "The user's licensed AMA CPT data; descriptors stay in the local data directory."

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def version(self) -> str:
        m = re.search(r"(20\d{2})", str(self.path))
        return f"CPT {m.group(1)} (licensed AMA data)" if m else "CPT (licensed AMA data)"

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for m in members(self.path, (".txt", ".tsv", ".csv", ".dat")):
            h.update(m.name.encode())
            h.update(m.read_bytes())
        return stable_hash(self.name, LOADER_VERSION, h.hexdigest())

    @cached_property
    def _parsed(self) -> list[CodeRecord]:
        try:
            return self.load()
        except (LayoutError, OSError) as e:
            self.problems.append(Problem(str(self.path), str(e)))
            return []

    def load(self) -> list[CodeRecord]:
        """Every record (strict: LayoutError at the first bad line)."""
        files = members(self.path, (".txt", ".tsv", ".csv", ".dat"))
        if len(files) > 1:  # an AMA release folder: skip its readme, modifier and other companion files
            files = [m for m in files if not re.search(r"(readme|^mod|clinician|consumer|pla)",
                                                       m.name.split(":")[-1], re.IGNORECASE)]
        if not files:
            raise LayoutError(self.path.name, None, "no CPT data file (.txt) found", LAYOUT)
        merged: dict[str, dict[str, str]] = {}
        for m in files:
            for code, desc, _ in parse_file(m):
                merged.setdefault(code, {}).update(desc)
        out = []
        for code in sorted(merged):
            d = merged[code]
            long = d.get("long") or d.get("medium") or d["short"]
            title = d.get("medium") or (long if len(long) <= 160 else d.get("short") or long[:157] + "...")
            out.append(CodeRecord(
                system=cs.CPT, code=code, display=code, title=title, description=long, billable=True,
                level="code", version=self.version, source=SOURCE, licensed=True,
                extra={f"{k}_descriptor": v for k, v in d.items()},
            ))
        return out

    def records(self) -> Iterator[CodeRecord]:
        return iter(self._parsed)

    def passages(self) -> Iterator[Document]:
        for r in self._parsed:
            yield passage(COLLECTION, f"cpt:{r.code}", f"CPT {r.code}: {r.description}", title=f"CPT {r.code} {r.title}",
                          source=self.version, system=cs.CPT, code=r.code, display=r.code, licensed=True,
                          level="code", embed_text=r.description)
