"""Verification of every answer: codes must resolve in the code store, [n] must point at evidence.

>>> strip_invalid_citations("Yes [1][7].", {1})
('Yes [1].', 1)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from casepilot import codes as cs
from casepilot.codestore import CodeStore
from casepilot.router import resolve_mentions
from casepilot.text import SENTENCE_ABBREVIATIONS

UNVERIFIED_MARK = " [unverified code]"
_CITE = re.compile(r"\[(\d{1,3})\]")
# A sentence ends at ., ! or ? before a space (taking the [n] markers on its line right after it along)
# or at a line break.
_SENTENCE_END = re.compile(r"[.!?]+(?:[ \t]*\[\d{1,3}\])*(?=\s|$)|\n")


@dataclass
class Verification:
    answer: str
    codes: list[dict] = field(default_factory=list)  # {"code", "system", "verified", "supported"}, see verify_answer
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


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``; "e.g." and "vs." end none, a code's dot (E11.22) neither.

    >>> t = "Use E11.22 [1]. Not e.g. 99213. [2] Done"
    >>> [t[a:b].strip() for a, b in sentence_spans(t)]
    ['Use E11.22 [1].', 'Not e.g. 99213. [2]', 'Done']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group().startswith(".") and _abbreviation_before(text, m.start()):
            continue
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def _abbreviation_before(text: str, dot: int) -> bool:
    word = re.search(r"[A-Za-z.]*$", text[max(0, dot - 8) : dot]).group().lstrip(".").lower()
    return word in SENTENCE_ABBREVIATIONS


def _citations_at(text: str, spans: list[tuple[int, int]], pos: int) -> set[int]:
    """The [n] numbers of the sentence that holds position ``pos``."""
    for start, end in spans:
        if start <= pos < end:
            return set(cited_numbers(text[start:end]))
    return set()


def _reader(evidence_text: Callable[[int], str] | Mapping[int, str]) -> Callable[[int], str]:
    """One lookup per citation number, whatever form the evidence comes in; unknown numbers read as ""."""
    if isinstance(evidence_text, Mapping):
        return lambda n: evidence_text.get(n) or ""
    cache: dict[int, str] = {}

    def read(n: int) -> str:
        if n not in cache:
            cache[n] = evidence_text(n) or ""
        return cache[n]

    return read


def verify_answer(text: str, valid_citations: set[int], store: CodeStore | None,
                  declared_invalid: frozenset[str] | set[str] = frozenset(),
                  evidence_text: Callable[[int], str] | Mapping[int, str] | None = None,
                  declared: Callable[[int], frozenset[str]] | None = None) -> Verification:
    """Check every code-shaped token and every citation of an answer; mark what fails.

    ``declared_invalid`` holds codes the answer itself says do not exist: they are reported
    unverified but not marked inline ("E11.99 is not a valid ICD-10-CM code" needs no second warning).

    Each entry of ``Verification.codes`` is ``{"code", "system", "verified", "supported"}`` (plus
    ``"declared_invalid": True`` when so declared), one per distinct code:

    - ``verified``: the code exists in the code store.
    - ``supported``: None when ``evidence_text`` is None (unknown). Otherwise True when every mention
      of the code sits in a sentence whose [n] markers (after invalid ones are removed) include at
      least one item whose text (``evidence_text[n]`` or ``evidence_text(n)``: title + content) shows
      the code as a whole token, dotted or undotted, in any case; a sentence that cites nothing
      supports nothing. Every end of a range (E11.21-E11.98) is a code of its own.

    ``declared(n)``: the modifier labels item ``n`` declares it is about; where the text cites that item they
    are read bare ("the anesthetist bills QX"), as ``codes.find_mentions`` reads ``labels``.
    """
    text, invalid = strip_invalid_citations(text, valid_citations)
    labels = frozenset().union(*(declared(n) for n in set(cited_numbers(text)))) if declared else frozenset()
    codes: dict[str, dict] = {}
    marks: list[tuple[int, int]] = []
    # mention (code, systems) -> (key of its entry in ``codes``, systems its spellings come from)
    entry_of: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}
    for r in resolve_mentions(text, store, labels=labels):
        m = r.mention
        if r.records:
            rec = r.record
            entry = {"code": cs.display_code(rec.code, rec.system), "system": rec.system, "verified": True}
            systems = (rec.system,)
        else:
            entry = {"code": m.raw.upper(), "system": m.systems[0] if m.systems else None, "verified": False}
            systems = m.systems
            if m.code in declared_invalid:
                entry["declared_invalid"] = True
            elif UNVERIFIED_MARK.strip() not in text[m.end : m.end + len(UNVERIFIED_MARK) + 2]:
                marks.append((m.start, m.end))
        key = f"{entry['system']}:{entry['code']}"
        codes.setdefault(key, entry)
        entry_of[(m.code, m.systems)] = (key, systems)
    supported = _support(text, entry_of, evidence_text, labels) if evidence_text is not None else {}
    for key, entry in codes.items():
        entry["supported"] = supported.get(key, False) if evidence_text is not None else None
    for start, end in reversed(marks):
        text = text[:end] + UNVERIFIED_MARK + text[end:]
    unverified = sum(1 for c in codes.values() if not c["verified"])
    return Verification(text, list(codes.values()), invalid, unverified)


def _support(text: str, entry_of: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]],
             evidence_text: Callable[[int], str] | Mapping[int, str],
             labels: frozenset[str] = frozenset()) -> dict[str, bool]:
    """Entry key -> whether every mention of that code is shown by an item its sentence cites."""
    read = _reader(evidence_text)
    spans = sentence_spans(text)
    out: dict[str, bool] = {}
    for m in cs.find_mentions(text, labels):
        if (m.code, m.systems) not in entry_of:
            continue  # a look-alike resolve_mentions dropped (vitamin B12)
        key, systems = entry_of[(m.code, m.systems)]
        ok = any(cs.occurs_in(m.code, systems, read(n)) for n in sorted(_citations_at(text, spans, m.start)))
        out[key] = out.get(key, True) and ok
    return out
