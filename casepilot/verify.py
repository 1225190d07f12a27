"""Verification of every answer: codes must resolve in the code store, [n] must point at evidence.

>>> strip_invalid_citations("Yes [1][7].", {1})
('Yes [1].', 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from casepilot import codes as cs
from casepilot.codestore import CodeStore
from casepilot.router import resolve_mentions

UNVERIFIED_MARK = " [unverified code]"
_CITE = re.compile(r"\[(\d{1,3})\]")


@dataclass
class Verification:
    answer: str
    codes: list[dict] = field(default_factory=list)  # {"code", "system", "verified"}
    invalid_citations: int = 0
    unverified: int = 0

    @property
    def ok(self) -> bool:
        return not self.invalid_citations and not self.unverified


def strip_invalid_citations(text: str, valid: set[int]) -> tuple[str, int]:
    """Remove [n] markers that point at no evidence; return the text and how many were removed."""
    removed = 0

    def repl(m: re.Match) -> str:
        nonlocal removed
        if int(m.group(1)) in valid:
            return m.group(0)
        removed += 1
        return ""

    out = _CITE.sub(repl, text)
    return re.sub(r" +([.,;:])", r"\1", out), removed


def cited_numbers(text: str) -> list[int]:
    return [int(n) for n in _CITE.findall(text)]


def verify_answer(text: str, valid_citations: set[int], store: CodeStore | None,
                  declared_invalid: frozenset[str] | set[str] = frozenset()) -> Verification:
    """Check every code-shaped token and every citation of an answer; mark what fails.

    ``declared_invalid`` holds codes the answer itself says do not exist: they are reported
    unverified but not marked inline ("E11.99 is not a valid ICD-10-CM code" needs no second warning).
    """
    text, invalid = strip_invalid_citations(text, valid_citations)
    codes: list[dict] = []
    marks: list[tuple[int, int]] = []
    seen: set[str] = set()
    for r in resolve_mentions(text, store):
        m = r.mention
        if r.records:
            rec = r.record
            entry = {"code": cs.display_code(rec.code, rec.system), "system": rec.system, "verified": True}
        else:
            entry = {"code": m.raw.upper(), "system": m.systems[0] if m.systems else None, "verified": False}
            if m.code in declared_invalid:
                entry["declared_invalid"] = True
            elif UNVERIFIED_MARK.strip() not in text[m.end : m.end + len(UNVERIFIED_MARK) + 2]:
                marks.append((m.start, m.end))
        key = f"{entry['system']}:{entry['code']}"
        if key not in seen:
            seen.add(key)
            codes.append(entry)
    for start, end in reversed(marks):
        text = text[:end] + UNVERIFIED_MARK + text[end:]
    unverified = sum(1 for c in codes if not c["verified"])
    return Verification(text, codes, invalid, unverified)
