"""Choosing a code from a set by what the question states: the billable child of a heading the search matched, and
the code an instructional note asks for ("Use additional code to identify stage of chronic kidney disease
(N18.1-N18.4, N18.9)" with "CKD 3b" -> N18.32).

Pure: the caller reads the candidates from the code store.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from casepilot.dominance import title_dominance
from casepilot.measures import measure_mismatch, title_ranges
from casepilot.records import CodeRecord
from casepilot.retrieval import encounter_of, query_facts
from casepilot.text import negated_terms, small_numbers, stem, tokens, with_stems

_WITH = re.compile(r"\bwith\b", re.I)
# Words that say how conditions relate, not what they are: no evidence of a choice on their own.
_RELATION = frozenset("on and of or with without other unspecified type due".split())
_USING_A_CODE = re.compile(r"\b(?:use|using|bill|billing|code|coding|report|reporting|assign|assigning)\s+"
                           r"(?:[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?|[0-9]{4}[0-9FTU]|it|this|that|them)\b", re.I)
_NOTE_CODE = re.compile(r"\b([A-Z][0-9][0-9A-Z])(?:\.([0-9A-Z]{1,4}))?")
# "N18.1-N18.4", "I50.-", "O08.8", "E08-E13": one code or a range, each end standing for itself and its children
_NOTE_RANGE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.-)?(?:\s*-\s*([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?))?")


def code_first_targets(texts) -> list[tuple[str, tuple[str, ...]]]:
    """Each condition a "Code first" note names, with its codes as undotted prefixes ("I12.-" names every I12
    code); the condition is the wording before its codes, after any lead-in ("any associated:").

    >>> code_first_targets(["any associated:\\ndiabetic CKD (E11.22)\\nhypertensive chronic kidney disease (I12.-, I13.-)"])
    [('diabetic CKD', ('E1122',)), ('hypertensive chronic kidney disease', ('I12', 'I13'))]
    """
    out = []
    for text in texts:
        for part in re.split(r"[;\n]", text):  # the tabular lists one condition per line
            phrase, _, codes = part.partition("(")
            if found := tuple(dict.fromkeys(a + (b or "") for a, b in _NOTE_CODE.findall(codes))):
                out.append((phrase.rsplit(":", 1)[-1].strip(), found))
    return out


def note_ranges(line: str) -> list[tuple[str, str]]:
    """The codes one line of an instructional note names, as undotted (low, high) ends (pure).

    >>> note_ranges("code to identify stage of chronic kidney disease (N18.1-N18.4, N18.9)")
    [('N181', 'N184'), ('N189', 'N189')]
    >>> note_ranges("code to identify type of heart failure (I50.-)")
    [('I50', 'I50')]
    """
    _, _, codes = line.partition("(")
    return [(lo.replace(".", ""), (hi or lo).replace(".", "")) for lo, hi in _NOTE_RANGE.findall(codes)]


def note_groups(text: str) -> list[list[tuple[str, str]]]:
    """The sets of codes a "Use additional code" or "Code also" note offers, one per purpose: a line that names its
    own codes is one set; the items listed after a lead-in ("code to identify control using:") are one set together,
    until the next instruction ("code ...") (pure).

    >>> note_groups("code to identify type of heart failure (I50.-)\\ncode to identify stage of CKD (N18.1-N18.4, N18.9)")
    [[('I50', 'I50')], [('N181', 'N184'), ('N189', 'N189')]]
    >>> note_groups("code to identify control using:\\ninsulin (Z79.4)\\noral hypoglycemic drugs (Z79.84)")
    [[('Z794', 'Z794'), ('Z7984', 'Z7984')]]
    """
    groups: list[list[tuple[str, str]]] = []
    listing = False
    for line in text.splitlines():
        found = note_ranges(line)
        if line.lstrip().lower().startswith(("code ", "code,")):
            listing = False  # "code to identify ...": a new instruction, not one more item of the list above
        if not found:
            listing = line.rstrip().endswith(":")
            if listing:
                groups.append([])
        elif listing:
            groups[-1].extend(found)
        else:
            groups.append(found)
    return [g for g in groups if g]


def essential(title: str) -> str:
    """A title without its nonessential modifiers: ICD-10-CM encloses them in parentheses (conventions I.A.7).

    >>> essential("Acute on chronic diastolic (congestive) heart failure")
    'Acute on chronic diastolic  heart failure'
    """
    return re.sub(r"\([^()]*\)", "", title)


def _stated_scores(query: str, base: set[str], children: list[CodeRecord]) -> tuple[list[tuple[int, CodeRecord]], set[str]]:
    """Each child scored by its own words (beyond ``base``) that the question states, with their polarity ("no
    abnormal findings" names "without abnormal findings", not "with") and the dominant side the guideline gives.
    A child naming other small numbers than the question (another stage) is left out when any agrees."""
    # "do I need the doctor to link them to use I11.0?": how the question asks to code states nothing of the patient
    # (its "use" chose Z72.0 "Tobacco use" from I10's tobacco set)
    query = _USING_A_CODE.sub(" ", query)
    q = query_facts(query)  # the question's words, what it denies and its dominant side, as the ranker reads them
    stated = q.words - q.negated
    # "ORIF" spelled out says how a fracture was reduced, not that it was open (the ranker reads it the same way)
    stated -= {"open"} & q.fracture_unstated
    ranged = False
    if q.measures:
        # "25% TBSA, 10% third degree": a child whose ranges hold the measurements (T31.21), where any does
        fit = {c.code: measure_mismatch(q.measures, title_ranges(c.title)) for c in children}
        children = [c for c in children if fit[c.code] is not True] or children
        ranged = any(v is not None for v in fit.values())
    # a measurement is no stage ("EF 25%, CKD 3b": 25 is a percent, 3 the stage)
    numbers = q.numbers - {int(v) for vs in q.measures.values() for v in vs if float(v).is_integer()}
    if numbers and not ranged:
        # "CKD 3a": a child that names other stages (I12.0, stage 5) is not the default, one naming none may be
        agree = [c for c in children if not small_numbers(c.title) or numbers & small_numbers(c.title)]
        children = agree or children

    # (by stem too: "nothing else complicating it" denies B02.8's "with other complications")
    stated_forms, denied_forms = with_stems(stated), with_stems(q.negated)

    def said_in(words: set[str], forms: set[str]) -> int:
        return sum(1 for w in words if w in forms or stem(w) in forms)

    base_forms = with_stems(base)

    def named(c: CodeRecord) -> int:
        # (a plural of the heading's word, D50.8's "anemias" under D50 "Iron deficiency anemia", is no word of its own)
        own = {w for w in tokens(c.title) if w not in base_forms and stem(w) not in base_forms}
        denied = negated_terms(c.title) & own
        score = said_in(own - denied, stated_forms) + said_in(denied, denied_forms)
        score -= said_in(own - denied, denied_forms)  # asserts what the question denies
        if q.dominance and title_dominance(c.title) not in (None, q.dominance):
            score -= 1
        if q.measures and fit[c.code] is False:
            score += 1  # its range holds what the question measured
        if q.encounter and (told := encounter_of(c.title)):
            score += 1 if told == q.encounter else -1  # "first visit" is the initial encounter (7th character A)
        return score

    return [(named(c), c) for c in children], stated


def _least_unsaid(stated: set[str], base: set[str], picks: list[CodeRecord]) -> CodeRecord | None:
    """Of children that name the question's words equally, the one that asserts nothing it leaves unsaid ("chronic
    HFpEF": I50.32 "Chronic ..." rather than I50.33 "Acute on chronic ..."); None if that leaves a tie."""
    # with no encounter stated, the encounter is no unsaid assertion ("sequela" is not fewer words than "initial
    # encounter"); a stated one still selects its siblings
    ignore = {"on", "and", "of"} | (set() if stated & _ENCOUNTER_WORDS else _ENCOUNTER_WORDS)
    if len(picks) > 1:
        def unsaid(c: CodeRecord) -> int:
            return len(set(tokens(c.title)) - base - stated - negated_terms(c.title) - ignore)
        least = min(unsaid(c) for c in picks)
        picks = [c for c in picks if unsaid(c) == least]
    if len(picks) > 1 and not stated & _ENCOUNTER_WORDS:
        # 7th-character siblings and no encounter stated: the injury under active treatment (initial, I.C.19.a)
        # rather than a sequela the question never mentions
        initial = [c for c in picks if encounter_of(c.title) == "initial"]
        picks = initial if len(initial) == 1 else picks
    if len(picks) > 1 and (unspecified := _unspecified_of(picks)):
        picks = [unspecified]
    return picks[0] if len(picks) == 1 else None


_KIND_WORDS = frozenset({"unspecified", "other"})


def _unspecified_of(picks: list[CodeRecord]) -> CodeRecord | None:
    """Of codes that differ only in "Unspecified" against "Other" ("Unspecified Escherichia coli [E. coli] as the
    cause ..." and "Other Escherichia coli ..." for "E. coli"), the unspecified one: the record names no other
    kind (guideline I.A.9). None unless exactly that."""
    unspecified = [c for c in picks if "unspecified" in tokens(c.title)]
    if len(picks) < 2 or len(unspecified) != 1:
        return None
    words = set(tokens(unspecified[0].title)) - _KIND_WORDS
    return unspecified[0] if all(set(tokens(c.title)) - _KIND_WORDS == words for c in picks) else None


_ENCOUNTER_WORDS = frozenset({"initial", "subsequent", "encounter", "sequela"})


_INITIAL = re.compile(r"\binitial encounter\b", re.I)


_OPEN_FRACTURE = re.compile(r"\bopen fracture\b", re.I)


def default_child(query: str, heading: CodeRecord, children: list[CodeRecord]) -> CodeRecord | None:
    """The billable code below ``heading`` for a question that matched the heading: the child whose own words
    (beyond the heading's) the question names (``_stated_scores``); else the "unspecified" child (NOS); else the
    "without" child (a condition the record does not state is not coded); else the "other" child (NEC).

    Pure: children are the heading's billable descendants.
    """
    if not children:
        return None
    base = set(tokens(heading.title))
    scored, stated = _stated_scores(query, base, children)
    best = max(n for n, _ in scored)
    if best > 0:
        return _least_unsaid(stated, base, [c for n, c in scored if n == best])
    # A child that asserts more than its heading ("with withdrawal", "with unspecified nicotine-induced
    # disorders") codes a condition the question does not state: never the default.
    plain = [(n, c) for n, c in scored if _WITH.subn("", c.title)[1] <= _WITH.subn("", heading.title)[1]]
    # "withdrawal, no delirium, no perceptual disturbances": a question that denies what the other children add
    # states the uncomplicated one, before "unspecified"
    q = query_facts(query)
    denied_forms = with_stems(q.negated)
    denies_siblings = any(w in denied_forms or stem(w) in denied_forms
                          for c in children for w in set(tokens(c.title)) - base)
    order = ("without", "unspecified", "other") if denies_siblings else ("unspecified", "without", "other")
    for word in order:
        picks = [c for n, c in plain if n == best and _default_mark(c.title, base, word)]
        if len(picks) == 1:
            return picks[0]
    # a child that says no more than its heading (Z82.49 repeats Z82.4 "Family history of ischemic heart disease
    # and other diseases of the circulatory system" beside Z82.41 "... sudden cardiac death") is the heading itself
    same = [c for n, c in plain if n == best and set(tokens(c.title)) <= base]
    if len(same) == 1:
        return same[0]
    # children told apart by the encounter only (T78.3XXA / D / S): a question that states none is the encounter
    # of active treatment, the initial one (I.C.19.a; the ranker reads an unstated encounter the same way)
    if q.encounter is None:
        initial = [c for n, c in plain if n == best and _INITIAL.search(c.title)]
        if len(initial) > 1 and "open" in q.fracture_unstated:
            # a fracture not stated as open is closed (I.C.19.c.1): "initial encounter for closed fracture"
            initial = [c for c in initial if not _OPEN_FRACTURE.search(c.title)] or initial
        if len(initial) == 1:
            return initial[0]
    return None


def stated_choices(query: str, candidates: Iterable[CodeRecord], said: Iterable[str] = ()) -> list[CodeRecord]:
    """The codes of a note's set whose own words the question states: each one it states in full ("weak stream,
    nocturia" among the LUTS codes: R39.12 and R35.1), else the one it names best ("acute on chronic diastolic CHF"
    among I50.-: I50.33). Nothing when the set is a single code (the note names it already), when the question
    names none of them, only a minor part of the best one's words, or leaves a tie: a note's set is coded only on
    what the record says. Nonessential modifiers (in parentheses) choose nothing, and a choice needs a word beyond
    ``said``, the titles of the code whose note it is ("asthma" chooses no code of J45's note for J45.20)."""
    originals = {c.code: c for c in candidates}
    cands = [dataclasses.replace(c, title=essential(c.title)) for c in originals.values()]
    if len(cands) < 2:
        return []
    # what every candidate says ("chronic kidney disease" across N18.-) tells none of them apart
    base = set.intersection(*(set(tokens(c.title)) for c in cands)) | _RELATION
    taken = with_stems(set(tokens(" ".join(said))))
    scored, stated = _stated_scores(query, base, cands)

    def own(c: CodeRecord) -> set[str]:
        return set(tokens(c.title)) - base

    measures = query_facts(query).measures

    def new(c: CodeRecord) -> bool:
        return (any(w not in taken and stem(w) not in taken for w in own(c) & stated)
                or (bool(measures) and measure_mismatch(measures, title_ranges(c.title)) is False))

    full = [c for n, c in scored if n > 0 and n >= len(own(c)) and new(c)]
    # a code stated in full inside another one ("acute diastolic" inside "acute on chronic diastolic") is its part
    full = [c for c in full if not any(own(c) < own(o) for o in full)]
    full = [_unspecified_of(full)] if _unspecified_of(full) else full
    if full:
        return [originals[c.code] for c in full]
    best = max(n for n, _ in scored)
    pick = _least_unsaid(stated, base, [c for n, c in scored if n == best]) if best > 0 else None
    # one shared word of a long title ("chronic" of "... tobacco smoke (acute) (chronic)") is no choice; what the
    # noted code's own title says ("chronic kidney disease" of E11.22) goes without saying
    if pick is None or 2 * best < len({w for w in own(pick) if w not in taken and stem(w) not in taken}) or not new(pick):
        return []
    return [originals[pick.code]]


def _default_mark(title: str, base: set[str], word: str) -> bool:
    """Whether a child's own words mark it as the default of ``word``'s kind: "unspecified" (NOS), "without" or
    "uncomplicated" (a condition the record does not state is not coded), "other" (NEC)."""
    own = set(tokens(title)) - base
    if word == "without":
        return bool({"without", "uncomplicated"} & own)
    return word in own
