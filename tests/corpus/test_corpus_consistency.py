"""Facts stated in several corpus files stay consistent with each other.

Each entry of FACTS is one fact: an id, a regex that picks the corpus sections about the topic (matched on
heading + body; a file's front-matter summary counts as a section too), the checks every such section must pass, and the statements that must appear in at least
one of those sections (so a fact cannot pass just because nobody states it any more). Sections are split
into statements (sentences, list items, table rows) before the checks run. To add a fact, add one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from ingest.corpus import CorpusSource

CORPUS = Path(__file__).resolve().parents[2] / "corpus"

# a check sees one section's statements and returns what is wrong with them
Check = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class Fact:
    id: str
    about: str  # regex: a section (heading + body) whose text matches is about this fact
    checks: tuple[Check, ...]
    stated: tuple[str, ...] = ()  # regexes: each must match some statement in some section about the fact
    min_sections: int = 1  # the about regex must find at least this many sections


def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def statements(body: str) -> list[str]:
    """Sentences, list items and table rows of a section body, with hard line wraps undone."""
    blocks: list[str] = []
    for line in body.splitlines():
        s = line.strip()
        if not s:
            blocks.append("")
        elif s.startswith("|"):
            blocks += [s, ""]
        elif re.match(r"([-*]|\d+\.)\s", s) or not blocks or not blocks[-1]:
            blocks.append(s)
        else:
            blocks[-1] += " " + s
    out = []
    for b in blocks:
        if b.startswith("|"):
            out.append(b)
        elif b:
            out += [x for x in re.split(r"(?<=[.!?])\s+(?=[A-Z\"(])", b) if x.strip()]
    return out


# ---- reusable checks ---------------------------------------------------------------------------------

def forbid(pattern: str, why: str) -> Check:
    """No statement may match pattern."""
    rx = _rx(pattern)
    return lambda sts: [f"{why}: {s!r}" for s in sts if rx.search(s)]


def when(pattern: str, must: str, why: str) -> Check:
    """Every statement that matches pattern must also match must."""
    rx, ok = _rx(pattern), _rx(must)
    return lambda sts: [f"{why}: {s!r}" for s in sts if rx.search(s) and not ok.search(s)]


def section_when(pattern: str, must: str, why: str) -> Check:
    """If the section states pattern anywhere, it must also state must somewhere."""
    rx, ok = _rx(pattern), _rx(must)

    def check(sts: list[str]) -> list[str]:
        text = "\n".join(sts)
        return [why] if rx.search(text) and not ok.search(text) else []

    return check


# ---- Medicare prolonged-service thresholds --------------------------------------------------------------

# base code -> (Medicare add-on, minutes for the first unit, days counted before, days counted after)
MEDICARE_PROLONGED = {
    "99205": ("G2212", 89, 0, 0),
    "99215": ("G2212", 69, 0, 0),
    "99223": ("G0316", 90, 0, 0),
    "99233": ("G0316", 65, 0, 0),
    "99236": ("G0316", 110, 0, 3),
    "99306": ("G0317", 95, 1, 3),
    "99310": ("G0317", 85, 1, 3),
    "99345": ("G0318", 140, 3, 7),
    "99350": ("G0318", 110, 3, 7),
    "99483": ("G2212", 100, 3, 7),
}
_BASE = re.compile(r"\b(" + "|".join(MEDICARE_PROLONGED) + r")\b")
_MEDICARE = _rx(r"\b(G0316|G0317|G0318|G2212|Medicare|CMS)\b")
_PROLONGED = _rx(r"\b(G0316|G0317|G0318|G2212|prolonged|first unit|threshold)")
_CPT_ADDON = _rx(r"\b(99417|99418|CPT)\b")
_MINUTES = _rx(r"\b(\d{2,3})\s*min")
_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def _days(text: str, side: str) -> int | None:
    m = _rx(rf"\b(\d|{'|'.join(_NUM)})\s+days?\s+{side}\b").search(text)
    return None if not m else int(_NUM.get(m.group(1).lower(), m.group(1)))


def _window(text: str) -> tuple[int, int] | None:
    """(days before, days after) that text says time is counted over; (0, 0) for the date of service alone."""
    before, after = _days(text, "before"), _days(text, "after")
    if before is None and after is None:
        return (0, 0) if _rx(r"\b(date|day) of (the )?(service|visit|encounter)\b").search(text) else None
    return before or 0, after or 0


def _has_window(text: str) -> bool:
    return _window(text) is not None


def _window_problem(codes: list[str], text: str) -> str | None:
    """When text names a time window and all its codes share one expected window, they must agree."""
    expected = {MEDICARE_PROLONGED[c][2:] for c in codes}
    got = _window(text)
    if got is None or len(expected) != 1:
        return None
    want = expected.pop()
    return None if got == want else f"{'/'.join(codes)}: window of {got} days (before, after), CMS counts {want}"


def _minutes_problem(code: str, minutes: int) -> str | None:
    want = MEDICARE_PROLONGED[code][1]
    return None if minutes == want else f"{code}: Medicare first unit at {minutes} min, CMS says {want}"


def _minutes(text: str) -> list[int]:
    return [int(x) for x in _MINUTES.findall(text) if x != "15"]  # "each further 15 minutes" is no threshold


def medicare_prolonged_thresholds(sts: list[str]) -> list[str]:
    """Wherever a statement gives Medicare's first-unit time (or time window) for a base code, it matches CMS."""
    found: list[str] = []
    for s in sts:
        problems: list[str | None] = []
        if s.startswith("|"):  # table row: base code in the first cell; Medicare cells name no CPT add-on
            cells = [c.strip() for c in s.strip("|").split("|")]
            medicare = " ".join(c for c in cells[1:] if not _CPT_ADDON.search(c))
            if cells[0] in MEDICARE_PROLONGED and _MEDICARE.search(medicare):
                problems += [_minutes_problem(cells[0], m) for m in _minutes(medicare)]
                problems.append(_window_problem([cells[0]], medicare))
            found += [f"{p}: {s!r}" for p in problems if p]
            continue
        if not (_MEDICARE.search(s) and _PROLONGED.search(s)):
            continue  # prose about Medicare's prolonged-service add-on only
        # minutes: pair a code and a number that share a clause free of CPT add-ons
        fine = [c for c in re.split(r";|,|\band\b|\bbut\b", s) if not _CPT_ADDON.search(c)]
        pairs = [(_BASE.findall(c), _minutes(c)) for c in fine]
        pairs = [(codes[0], mins[0]) for codes, mins in pairs if len(codes) == 1 and len(mins) == 1]
        codes = sorted(set(_BASE.findall(s)))
        if not pairs and len(codes) == 1 and len(_minutes(s)) == 1 and not _CPT_ADDON.search(s):
            pairs = [(codes[0], _minutes(s)[0])]
        problems += [_minutes_problem(c, m) for c, m in pairs]
        # time window: a clause naming a code and a window, else the whole sentence
        coarse = [c for c in re.split(r"[;,]", s) if _BASE.search(c) and _has_window(c)]
        if coarse:
            problems += [_window_problem(sorted(set(_BASE.findall(c))), c) for c in coarse]
        elif codes:
            problems.append(_window_problem(codes, s))
        found += [f"{p}: {s!r}" for p in problems if p]
    return found


# ---- the facts ---------------------------------------------------------------------------------------

FACTS = [
    # G2211: office/outpatient 99202-99215 and, from 2026, home or residence 99341-99350
    Fact("g2211-home-not-excluded", r"G2211",
         (forbid(r"\b(not|never|cannot|can't|isn't)\b[^.;]*\bhome\b", "G2211 is payable with home visits from 2026"),
          forbid(r"\bonly\b[^.;]*\boffice\b(?![^.;]*\bhome\b)", "G2211 is not limited to office visits"),
          section_when(r"99202\s*[-–]\s*99215", r"99341\s*[-–]\s*99350|home or residence",
                       "a section listing G2211's office codes must also list home visits 99341-99350")),
         stated=(r"G2211.*2026.*99341\s*[-–]\s*99350|2026.*G2211.*99341\s*[-–]\s*99350",),
         min_sections=5),
    # Medicare prolonged-service add-ons: first-unit times and time windows per base code
    Fact("medicare-prolonged-thresholds", r"\b(G0316|G0317|G0318|G2212)\b",
         (medicare_prolonged_thresholds,),
         stated=(r"99236.*\b110 min", r"99483.*\b100 min"), min_sections=8),
    Fact("g0316-99236-threshold-stated", r"\b99236\b[\s\S]*\bG0316\b|\bG0316\b[\s\S]*\b99236\b",
         (section_when(r"G0316[^\n]*\b(threshold|first unit)|\b(threshold|first unit)\b[^\n]*G0316", r"\b110\b",
                       "a section on 99236 that gives a G0316 threshold states 110 minutes"),),
         min_sections=3),
    # modifier AI: the principal physician of record appends it in every case
    Fact("modifier-ai-always", r"\bmodifier AI\b|\bAI\b",
         (forbid(r"\bAI\b.*\b(when|if|where)\s+(other|another|several|multiple|more than one)\b",
                 "AI is appended by the principal physician of record in every case, not conditionally"),
          forbid(r"\bAI\b.*\bnot\b.*\b(needed|required|necessary)\b", "AI is always appended")),
         stated=(r"\bAI\b.*\bin every case\b",), min_sections=3),
    # COVID-19: a positive test alone does not confirm; asymptomatic positive without documentation -> query
    Fact("covid-positive-test-not-confirmation", r"U07\.1|COVID",
         (when(r"\bpositive\b.*\bU07\.1\b|\bU07\.1\b.*\bpositive\b",
               r"\bquery\b|\bdo(es)? not\b|\bno longer\b|\bnot to\b|\bnot by itself\b|\bon its own\b",
               "a positive test alone does not lead to U07.1 (since April 1, 2025)"),
          forbid(r"\bpositive (test|result)s?\b[^;]*\b(is|are) (enough|sufficient)\b", "a positive test alone does not confirm COVID-19")),
         stated=(r"positive.*\bno longer confirms\b", r"(asymptomatic|without symptoms).*positive.*query"),
         min_sections=3),
    # multisystem inflammatory syndrome: active COVID -> U07.1 first, M35.81 additional
    Fact("mis-sequencing", r"M35\.81|multisystem inflammatory",
         (forbid(r"M35\.81\W+(is\s+)?(coded\s+|listed\s+|sequenced\s+)?first\b.*U07\.1|U07\.1.*M35\.81\W+(is\s+)?(coded\s+|listed\s+|sequenced\s+)?first\b",
                 "with active COVID-19, U07.1 is first and M35.81 additional"),
          when(r"\bM35\.81\b.*\bU07\.1\b|\bU07\.1\b.*\bM35\.81\b",
               r"U07\.1 (is )?((sequenced|listed|coded) )?first|U07\.1 is not used",
               "a statement pairing M35.81 with U07.1 must put U07.1 first")),
         stated=(r"active COVID-19.*U07\.1 is sequenced first.*M35\.81 is an additional",
                 r"M35\.81 with U09\.9", r"M35\.81 with Z20\.822")),
    # MDM data: reviewing a test this practitioner did not order counts; only order + review of one test is barred
    Fact("mdm-data-review-of-others-tests", r"\b(ordered by|did not order|unique test)",
         (forbid(r"(pitfall|error|mistake).*\bcount\w*\s+(tests?|results?)\s+ordered\s+by\s+(another|a different|other)",
                 "reviewing the result of a unique test ordered by someone else counts as data"),
          forbid(r"\b(tests?|results?)\s+ordered\s+by\s+(another|a different|other).*\b(do not|does not|cannot|can't|never)\s+count",
                 "reviewing the result of a unique test ordered by someone else counts as data")),
         min_sections=2),
    # ICD-10-PCS: hand-assisted laparoscopy keeps approach 4 (qualifier G where the table offers it)
    Fact("pcs-hand-assisted-approach", r"hand[- ]assist",
         (forbid(r"hand[- ]assist\w*.*\b(coded (to|as) (the )?open|open approach\b|approach (value )?0\b)",
                 "hand-assisted laparoscopy keeps the percutaneous endoscopic approach (4)"),
          forbid(r"\b0[0-9A-Z]{3}[0378FX][0-9A-Z]G\b", "qualifier G (Hand-Assisted) goes with approach 4")),
         stated=(r"qualifier G", r"\b0DTN4ZG\b")),
]


@pytest.fixture(scope="module")
def sections():
    """(file, heading, text, statements) for every section, plus each file's front-matter summary."""
    out = []
    for f in CorpusSource(CORPUS).files:
        summary = str(f.meta.get("summary") or "").strip()
        if summary:
            out.append((f.rel, "summary:", summary, statements(summary)))
        out += [(f.rel, s.heading, s.heading + "\n" + s.body, statements(s.body)) for s in f.sections]
    return out


def test_fact_ids_are_unique():
    ids = [f.id for f in FACTS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f.id)
def test_fact_is_consistent_across_the_corpus(fact, sections):
    about = _rx(fact.about)
    hits = [(rel, heading, sts) for rel, heading, text, sts in sections if about.search(text)]
    assert len(hits) >= fact.min_sections, f"{fact.id}: only {len(hits)} sections found; is the about regex stale?"
    problems = [f"{rel} § {heading}: {p}" for rel, heading, sts in hits for check in fact.checks for p in check(sts)]
    for pattern in fact.stated:
        rx = _rx(pattern)
        if not any(rx.search(s) for _, _, sts in hits for s in sts):
            problems.append(f"no section about {fact.id} states /{pattern}/")
    assert not problems, "\n".join(problems)


def test_statements_splits_sentences_lists_and_tables():
    body = "First line wraps\nhere. Second sentence.\n- item one\n  continues\n\n| a | b |\n|---|---|"
    assert statements(body) == ["First line wraps here.", "Second sentence.", "- item one continues", "| a | b |",
                                "|---|---|"]


@pytest.mark.parametrize("text, bad", [
    ("CMS's threshold for the first G0316 unit with 99236 is 100 minutes.", True),
    ("CMS's threshold for the first G0316 unit with 99236 is 110 minutes, counting time from the date of service "
     "through three days after.", False),
    ("Medicare uses G0317; the first unit with 99306 is 95 minutes, counted from one day before through five days "
     "after.", True),
    ("For Medicare, the first G2212 unit is reported at 89 minutes with 99205 and at 69 minutes with 99215.", False),
    ("For Medicare, the first G2212 unit is reported at 69 minutes with 99205 and at 89 minutes with 99215.", True),
    ("| 99223 | 99418 at 90 min | G0316 at 75 min (date of service) |", True),
    ("| 99310 | 99418 at 60 min | G0317 at 85 min (1 day before to 3 days after) |", False),
    ("CPT adds 99418 for each full 15 minutes beyond 75 minutes (first unit at 90 minutes).", False),
])
def test_threshold_check_catches_wrong_numbers(text, bad):
    assert bool(medicare_prolonged_thresholds([text])) is bad
