"""Text normalisation for retrieval: tokens, clinical abbreviations and code-set vocabulary.

Coders write "T2DM with CKD 3", the tabular says "Type 2 diabetes mellitus with diabetic chronic
kidney disease"; PCS says "percutaneous endoscopic" where surgeons say "laparoscopic". Expanding
queries with this vocabulary is what lets BM25 and the dense model meet the official wording.

The vocabulary is data: ``casepilot/data/vocabulary.toml`` lists every stopword, abbreviation and synonym
with the reason it exists and a source to check it against; tests/core/test_vocabulary.py validates it.

Over 300 lines on purpose: one concept, reading a question's words. The spelled-out form, what is negated, the
numbers and the appended readings (trimester, spinal region, maternal age, status) are all read from the same
tokens and vocabulary, and ``expand_query`` composes them.

>>> expand_query("T2DM with CKD")
'type 2 diabetes mellitus with chronic kidney disease renal'
"""

from __future__ import annotations

import re
import threading
import tomllib
from functools import lru_cache
from pathlib import Path

import Stemmer

from casepilot.abbreviations import learned

VOCABULARY_PATH = Path(__file__).resolve().parent / "data" / "vocabulary.toml"

# Sections of vocabulary.toml, one per constant below. Each entry is a table with a non-empty value, reason
# and source (and an optional check_titles flag, read by tests/core/test_vocabulary.py, and pcs = false for
# a synonym whose value is diagnosis wording that ICD-10-PCS searches must not get: PCS names "Sigmoid Colon";
# cpt = false for one that searches without ICD-10 codes, CPT and guidance, must not get).
_SECTIONS = ("stopwords", "abbreviations", "ambiguous", "synonyms")
_REQUIRED = ("value", "reason", "source")
_OPTIONAL = {"check_titles": bool, "pcs": bool, "cpt": bool, "context": str, "strict": bool, "example": str,
             "cms_when_unread": bool, "unless": str, "unless_example": str,
             "lower_with": int, "lower_example": str}


class VocabularyError(ValueError):
    """vocabulary.toml is missing or malformed; the message names the file and the entry."""


def load_vocabulary(path: Path | str = VOCABULARY_PATH) -> dict[str, dict[str, dict]]:
    """Read and validate the vocabulary file: {section: {key: {"value", "reason", "source", ...}}}.

    Sections and entries keep their file order (SYNONYMS' order decides the order of appended terms).
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise VocabularyError(f"{path}: cannot read vocabulary file: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise VocabularyError(f"{path}: invalid TOML: {e}") from e
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise VocabularyError(f"{path}: unknown section(s) {unknown}; expected {sorted(_SECTIONS)}")
    for section in _SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, dict) or not entries:
            raise VocabularyError(f"{path}: section [{section}] is missing or empty")
        for key, entry in entries.items():
            where = f"{path}: [{section}.{key!r}]"
            if key != key.strip().lower() or not key:
                raise VocabularyError(f"{where}: key must be non-empty, lower case, without surrounding spaces")
            if not isinstance(entry, dict):
                raise VocabularyError(f"{where}: expected a table with {', '.join(_REQUIRED)}, got {entry!r}")
            for field in _REQUIRED:
                value = entry.get(field)
                if not isinstance(value, str) or not value.strip():
                    raise VocabularyError(f"{where}: {field!r} must be a non-empty string, got {value!r}")
            for field in set(entry) - set(_REQUIRED):
                if field not in _OPTIONAL:
                    raise VocabularyError(f"{where}: unknown field {field!r}")
                kind = _OPTIONAL[field]
                if not isinstance(entry[field], kind):
                    raise VocabularyError(f"{where}: {field!r} must be {kind.__name__}, got {entry[field]!r}")
    stray = sorted(set(data["ambiguous"]) - set(data["abbreviations"]))
    if stray:
        raise VocabularyError(f"{path}: [ambiguous] entries {stray} have no [abbreviations] entry")
    return data


_VOCABULARY = load_vocabulary()

# Words dropped by tokens(stop=True): function words and the words every coding question contains.
STOPWORDS = frozenset(_VOCABULARY["stopwords"])

# Abbreviation -> expansion (whole-token, case-insensitive). Only unambiguous clinical shorthand.
ABBREVIATIONS: dict[str, str] = {k: e["value"] for k, e in _VOCABULARY["abbreviations"].items()}

# Abbreviations that are also ordinary lower-case words: expanded only when written in capitals, or in lower
# case where the words around them (the entry's ``context`` pattern) settle the reading: "thyroid ca".
AMBIGUOUS = frozenset(_VOCABULARY["ambiguous"])
_READ_IN_CONTEXT = {k: re.compile(e["context"], re.I) for k, e in _VOCABULARY["ambiguous"].items() if "context" in e}
# Abbreviations whose capitals are as ambiguous as their lower case ("AD": right ear or Alzheimer's disease):
# read only in capitals and beside their context ("cerumen impaction AD").
STRICT = frozenset(k for k, e in _VOCABULARY["ambiguous"].items() if e.get("strict"))
# ... unless written in lower case beside this many distinct context words ("ed visit cp nos, trop neg ekg nsr":
# troponin and EKG settle chest pain, which one word beside a fragment would not)
_LOWER_WITH = {k: int(e["lower_with"]) for k, e in _VOCABULARY["ambiguous"].items() if "lower_with" in e}
# ... and those that keep their CMS short-description reading where their context does not settle them ("mod":
# a modifier beside "which mod?", CMS's "moderate" in "MDD recurrent, mod")
_CMS_WHEN_UNREAD = frozenset(k for k, e in _VOCABULARY["ambiguous"].items() if e.get("cms_when_unread"))
# Abbreviations never read beside the words of their ``unless`` pattern, where the same letters mean something
# else: "appy" is an appendectomy, but "perf appy" is the appendicitis
_ABBREVIATION_UNLESS = {k: re.compile(e["unless"], re.I) for k, e in _VOCABULARY["abbreviations"].items()
                        if "unless" in e}

# Plain-language or procedural words -> the code sets' own vocabulary (appended, not replaced).
SYNONYMS: dict[str, str] = {k: e["value"] for k, e in _VOCABULARY["synonyms"].items()}
# ... some only beside their context: "poorly controlled" is "with hyperglycemia" for a diabetes (the index's
# "Diabetes, poorly controlled"), "intractable" for an epilepsy
_SYNONYM_CONTEXT = {k: re.compile(e["context"], re.I) for k, e in _VOCABULARY["synonyms"].items() if "context" in e}
# ... and some never beside the words of their ``unless`` pattern: a "carcinoma in situ" is no malignant neoplasm
_SYNONYM_UNLESS = {k: re.compile(e["unless"], re.I) for k, e in _VOCABULARY["synonyms"].items() if "unless" in e}
NOT_FOR_PCS: frozenset[str] = frozenset(k for k, e in _VOCABULARY["synonyms"].items() if e.get("pcs") is False)
# ... and those that only ICD-10-CM titles use (cpt = false): "visit" is the Z codes' "encounter", not a CPT word
NOT_FOR_CPT: frozenset[str] = frozenset(k for k, e in _VOCABULARY["synonyms"].items() if e.get("cpt") is False)

# Abbreviations whose full stop ends no sentence, one list for the answer's sentence splitters and the citation check:
# the ICD-10-CM chapter 4 note "Appropriate codes in this chapter (i.e. E05.8, E07.0 ...)" stays one sentence
SENTENCE_ABBREVIATIONS = frozenset({"e.g", "i.e", "vs", "cf", "approx", "incl", "fig", "dr"})
# a regex lookbehind for "this full stop closes none of them" (fixed width per alternative, any case)
NOT_ABBREVIATION = "".join(rf"(?<!\b(?i:{re.escape(a)})\.)" for a in sorted(SENTENCE_ABBREVIATIONS))

_TOKEN = re.compile(r"w/o|w/|e/m|[a-z0-9]+(?:-[a-z0-9]+)*")

# expand_query's words. A letter/letter abbreviation with a vocabulary entry ("s/p", "N/V") is one word; any
# other "x/y" still splits into "x", "/", "y" as before. An empty alternation would match "", hence the guard.
_PAIRS = [re.escape(k) for k in ABBREVIATIONS if re.fullmatch(r"[a-z]/[a-z]", k)]
_CAPITALISED = re.compile(r"\b[A-Z][A-Z0-9]*\b")
_PAIR_WORD = re.compile(rf"(?i:{'|'.join(_PAIRS)})(?![A-Za-z0-9])" if _PAIRS else r"(?!)")
_QUERY_WORD = re.compile((rf"{_PAIR_WORD.pattern}|" if _PAIRS else "")
                         + r"[Ww]/[Oo]|[Ww]/|[Ee]/[Mm]|[A-Za-z0-9][A-Za-z0-9\-]*|[^\sA-Za-z0-9]+")


def tokens(text: str, stop: bool = True) -> list[str]:
    """Lower-case word tokens; hyphenated words also yield their parts (gastro-esophageal -> gastro, esophageal)."""
    out: list[str] = []
    for t in _TOKEN.findall(text.lower()):
        if "-" in t:
            out.extend(p for p in t.split("-") if p)
        elif t == "e/m":
            out.append("em")
        elif t not in ("w/", "w/o"):
            out.append(t)
        else:
            out.append("with" if t == "w/" else "without")
    return [t for t in out if not (stop and t in STOPWORDS)]


_stemmers = threading.local()  # a PyStemmer object is not safe to share between threads


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of one lower-case word: "sheltered" and "shelter", "homelessness" and
    "homeless", "shots" and "shot" meet; "unsheltered" stays apart.

    >>> stem("homelessness"), stem("sheltered"), stem("unsheltered")
    ('homeless', 'shelter', 'unshelt')
    """
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    return stemmer.stemWord(word)


def with_stems(words: set[str] | frozenset[str]) -> set[str]:
    """``words`` and their stems: what a coverage check looks a word's stem up in."""
    return set(words) | {stem(w) for w in words}


def expand_query(text: str, pcs: bool = False, cpt: bool = False) -> str:
    """Spell out abbreviations and append code-set vocabulary for plain words (pure, idempotent enough).

    >>> expand_query("N/V, h/o MI")
    'nausea with vomiting , history myocardial infarction'
    >>> "lower end of radius" in expand_query("lt dist rad fx init")  # CMS's "dist" and "rad" kept beside their words
    True
    """
    body = spell_out(text)
    # (the vocabulary's phrases read the words without the CMS shorthand kept beside them: "dist distal rad radius"
    # says "distal radius", whose value is "lower end of radius")
    plain = spell_out(text, keep_cms=False)
    extra = appended(body, pcs, cpt)
    if plain != body:
        extra = list(dict.fromkeys([*extra, *appended(plain, pcs, cpt)]))
    body = _status_wording(body, " ".join(extra))
    return " ".join([body, *extra, *trimester_of(body), *in_pregnancy_of(body), *postprocedural_of(body), *status_of(body),
                     *arabic_grades(body), *spinal_region_of(body), *maternal_age_of(body),
                     *remittance_codes_of(body), *results_of(body)]).strip()


# A test's result typed as a sign after it ("UPT +", "strep (+)", "rapid flu (-)"): the code titles say it in words
# (Z32.01 "... pregnancy test, result positive").
# (a bare "+" joining two words, "discharge + itching", is no result)
_SIGNED_RESULT = re.compile(r"[a-z0-9)]\s*(\(\+\)|\(-\)|\+(?!\s*\w))(?=\s|$|[,.;:!?])", re.I)


def results_of(text: str) -> list[str]:
    """The words a result sign after a test stands for.

    >>> results_of("upt +"), results_of("strep (+), flu (-)"), results_of("a + b"), results_of("UPT + Pt")
    (['positive'], ['positive', 'negative'], [], [])
    """
    return list(dict.fromkeys("negative" if m.group(1) == "(-)" else "positive" for m in _SIGNED_RESULT.finditer(text)))


# Vertebral levels: "L4-L5", "L4-5", "C5/6", "L5-S1"; a single level ("L5") only beside a spine word ("T4" is
# also a thyroid test). The highest number each region has: C8 is a nerve root, S5 the last sacral segment.
_LEVEL = r"([CTLS])\s?(\d{1,2})"
_LEVEL_RANGE = re.compile(rf"\b{_LEVEL}\s*(?:-|/|to|through|thru)\s*([CTLS])?\s?(\d{{1,2}})\b", re.I)
_LEVEL_ONE = re.compile(rf"\b{_LEVEL}\b", re.I)
_SPINE_WORD = re.compile(r"\b(?:dis[ck]s?|vertebra\w*|spin\w*|radicul\w*|stenosis|herniat\w*|hnp|ddd|fx|fractures?|"
                         r"spondyl\w*|fusion|laminectomy|laminotomy|discectomy|microdiscectomy|foramin\w*|facet|"
                         r"levels?|nerve roots?|compression|kyphoplasty|vertebroplasty)\b", re.I)
_TOP = {"c": 8, "t": 12, "l": 5, "s": 5}
_REGION = {"c": "cervical", "t": "thoracic", "l": "lumbar", "s": "sacral"}
_JOINED = {("c", "t"): "cervicothoracic", ("t", "l"): "thoracolumbar", ("l", "s"): "lumbosacral"}


def spinal_region_of(text: str) -> list[str]:
    """The spinal region a vertebral level names, in the code titles' words: "L4-L5" is lumbar, "L5-S1"
    lumbosacral (M51.17-, "Lumbosacral Disc"), "C7-T1" cervicothoracic.

    >>> spinal_region_of("herniated disc at L4-L5 with radiculopathy"), spinal_region_of("L5-S1 HNP")
    (['lumbar'], ['lumbosacral'])
    >>> spinal_region_of("C5-6 and C6/7 ACDF"), spinal_region_of("low T4, fatigue"), spinal_region_of("T12 compression fx")
    (['cervical'], [], ['thoracic'])
    """
    out: list[str] = []
    for m in _LEVEL_RANGE.finditer(text):
        a, b = m.group(1).lower(), (m.group(3) or m.group(1)).lower()
        if int(m.group(2)) <= _TOP[a] and int(m.group(4)) <= _TOP[b]:
            out.append(_REGION[a] if a == b else _JOINED.get((a, b), ""))
    if not out and _SPINE_WORD.search(text):
        out = [_REGION[m.group(1).lower()] for m in _LEVEL_ONE.finditer(text) if int(m.group(2)) <= _TOP[m.group(1).lower()]]
    # a region the text already says is not said twice
    return [r for r in dict.fromkeys(out) if r and not re.search(rf"\b{r}\b", text, re.I)]


_SP = ABBREVIATIONS.get("s/p", "")
# What a past procedure left: a replacement or an implant is present (Z96 "Presence of ..."), a removal leaves an
# absence (Z89-Z90 "Acquired absence of ...").
_LEFT_PRESENT = re.compile(r"\b(replacement|arthroplasty|implant\w*|prosthe\w*|artificial|graft|stent\w*|pacemaker|"
                           r"bypass|transplant\w*)\b", re.I)
_LEFT_ABSENT = re.compile(r"\b(\w+ectomy|amputation|removal|removed|excision|resection)\b", re.I)


# A visit for the care that follows an operation: the operation is the aftercare's subject (Z48.8- "surgical
# aftercare following surgery on ...", Z48.02 "removal of sutures"), not a status the patient lives with.
AFTERCARE_VISIT = re.compile(r"\b(?:after-?care|post-?op(?:erative)?\s+(?:visit|check|appt|appointment|f/u|follow[- ]?up)|"
                             r"(?:suture|staple)s?\s+removal|remov\w*\s+(?:of\s+)?(?:the\s+)?(?:sutures|staples)|"
                             r"dressing change|wound check)\b", re.I)


# A fracture's treatment ("s/p closed reduction colles fx", "s/p ORIF L ankle fx"): the care that follows is the
# fracture's own code with its subsequent-encounter character (I.C.19.a), no status the patient lives with.
_FRACTURE_TREATED = re.compile(r"\b(?:(?:closed|open)\s+reduction|orif|crpp|(?:internal|external)\s+fixation|pinning|"
                               r"intramedullary\s+nail\w*|imn)\b(?=.*\b(?:fx|fractur\w*)\b)", re.I)


def _status_wording(body: str, appended_text: str) -> str:
    """The "s/p" expansion (status post + both Z-code wordings) narrowed to the one the procedure leaves, when the
    question (or what its words append) says which: "s/p R TKA" is a presence (Z96.651), "s/p lt AKA" an absence.

    >>> _status_wording("status post presence acquired absence right total knee replacement", "")
    'status post presence right total knee replacement'
    >>> _status_wording("follow-up status post presence acquired absence closed reduction colles fracture", "")
    'follow-up status post closed reduction colles fracture'
    """
    if not _SP or _SP not in body:
        return body
    if AFTERCARE_VISIT.search(body):
        return body.replace(_SP, "surgical aftercare")
    if _FRACTURE_TREATED.search(body):
        return body.replace(_SP, "status post")
    text = f"{body} {appended_text}"
    present, absent = bool(_LEFT_PRESENT.search(text)), bool(_LEFT_ABSENT.search(text))
    if present == absent:
        return body
    return body.replace(_SP, _SP.replace(" acquired absence" if present else " presence", ""))


# A condition the question says a procedure caused: "hypothyroidism after a total thyroidectomy", "as a result of".
# ("s/p" and "status post" name a status, Z codes, and "seen on EGD" a finding: neither is here.)
_CAUSED_BY_PROCEDURE = re.compile(
    r"\b(?:after|following|(?<!status )post|(?:ever )?since|as a result of|result of|due to|secondary to|caused by)\s+"
    r"(?:a |an |the |his |her |recent |prior )?(?:[a-z/-]+ ){0,2}"
    r"(?:[a-z]+(?:ectomy|otomy|ostomy|plasty|pexy|rrhaphy)|surgery|operation|procedure)\b", re.I)


# A past procedure that leaves something in place or something missing: "history of kidney transplant" is Z94.0
# "Kidney transplant status", not a history code (a personal history names a condition that is gone).
_HAD_PROCEDURE = re.compile(r"\b(?:history|hx|h/o|prior|previous|had an?)\s+(?:of\s+)?(?:[a-z/-]+ ){0,3}"
                            r"(?:transplant\w*|pacemaker|defibrillator|stent\w*|bypass graft|cabg|[a-z]+ostomy|shunt)\b", re.I)


def status_of(text: str) -> list[str]:
    """"status" when the text gives a past procedure that leaves a device, a graft or an opening behind.

    >>> status_of("history of kidney transplant, stable"), status_of("history of kidney stones")
    (['status'], [])
    """
    if re.search(r"\bstatus\b", text, re.I) or not _HAD_PROCEDURE.search(text):
        return []
    return ["status"]


def postprocedural_of(text: str) -> list[str]:
    """"postprocedural" when the text says a procedure caused the condition: ICD-10-CM files those under
    intraoperative and postprocedural complications (E89.0 "Postprocedural hypothyroidism").

    >>> postprocedural_of("hypothyroidism as a result of a total thyroidectomy"), postprocedural_of("s/p TKA")
    (['postprocedural'], [])
    """
    if re.search(r"\bpost-?procedural\b", text, re.I) or not _CAUSED_BY_PROCEDURE.search(text):
        return []
    return ["postprocedural"]


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}
_GRADED = re.compile(r"\b(stage|stg|grade|type|class|degree)\s+(iv|v|i{1,3})\b(?!\s*(?:or|/)\s*(?:iv|v|i{1,3})\b)", re.I)


def arabic_grades(text: str) -> list[str]:
    """The Arabic form of a stage, grade, type or class written in Roman numerals ("stage III decub" -> "stage 3"):
    ICD-10-CM titles write them in digits ("Pressure ulcer of sacral region, stage 3", "Type 2 diabetes mellitus",
    "Obesity, class 3"). A title's own Roman pair ("open fracture type I or II") is left as written.

    >>> arabic_grades("stage III decub sacral area"), arabic_grades("type II DM"), arabic_grades("gustilo type I or II")
    (['stage 3'], ['type 2'], [])
    """
    return [f"{m.group(1).lower()} {_ROMAN[m.group(2).lower()]}" for m in _GRADED.finditer(text)]


# gestational age, not a duration ("cough for 3 weeks") or a time since ("2 weeks ago", "6 weeks postpartum")
# (and written with its days: "34w2d", "34+2 weeks", "34.2 wks", "34 2/7 weeks")
_WEEKS = re.compile(r"(?<!for )(?<![\d+./])\b(\d{1,2})(?:w\d{1,2}d\b|(?:\s*[+.]\s*\d|\s+(?:and\s+)?\d/7)?\s*(?:weeks?|wks?|w)\b)"
                    r"(?!\s+(?:ago|after|before|since|postpartum))", re.I)
_PREGNANCY = re.compile(r"\b(pregnan\w*|prenatal|antenatal|gestation\w*|obstetric\w*|hyperemesis|preeclampsia|"
                        r"eclampsia|gravid\w*|g\d\s*p\d)", re.I)


def trimester_of(text: str) -> list[str]:
    """The trimester a pregnancy's stated weeks fall in, as ICD-10-CM chapter 15 defines it (1st: less than 14
    weeks 0 days; 2nd: 14 weeks 0 days to less than 28 weeks 0 days; 3rd: 28 weeks 0 days until delivery),
    when the text names the weeks and not the trimester.

    >>> trimester_of("routine prenatal visit, first pregnancy, 10 weeks"), trimester_of("pregnant, cough for 3 weeks")
    (['first trimester'], [])
    >>> trimester_of("G2P1 at 34w2d, severe preeclampsia"), trimester_of("preeclampsia, 27+6 weeks")
    (['third trimester'], ['second trimester'])
    """
    m = _WEEKS.search(text)
    if not m or not _PREGNANCY.search(text) or re.search(r"\btrimester\b", text, re.I):
        return []
    weeks = int(m.group(1))
    if not 1 <= weeks <= 43:
        return []
    return ["first trimester" if weeks < 14 else "second trimester" if weeks < 28 else "third trimester"]


# Delivery or after it: the weeks then date the birth, not a pregnancy still under way
_DELIVERED = re.compile(r"\b(deliver\w*|postpartum|post-partum|puerper\w*|pp|c-?section|cesarean|svd|nsvd|vbac|"
                        r"born|birth|labou?r|l&d|childbirth)\b", re.I)


def in_pregnancy_of(text: str) -> list[str]:
    """"pregnancy" when the text dates a pregnancy under way by its weeks and says of no delivery: chapter 15 splits
    a condition "in pregnancy" from "in childbirth" and "in the puerperium" (O24.41- / O24.42- / O24.43-).

    >>> in_pregnancy_of("OB pt 28 wks, gestational diabetes, diet controlled"), in_pregnancy_of("GDM, delivered at 39 wks")
    (['pregnancy'], [])
    """
    return ["pregnancy"] if trimester_of(text) and not _DELIVERED.search(text) else []


# A denial on a remittance: a group code and a claim adjustment reason code ("CO-97", "PR 1", "CO16"), or a CARC
# named as such ("CARC 50"). The passages say "CARC 97"; the group code alone is no topic.
REMITTANCE_CODE = re.compile(r"\b(?:(CO|PR|OA|PI|CR)\s?(-)?\s?|CARC\s*#?\s*)(\d{1,3})\b(?![./]\d)", re.I)


def remittance_codes_of(text: str) -> list[str]:
    """The reason codes of the denials a text quotes from a remittance, in the passages' words ("CARC 97").

    >>> remittance_codes_of("EOB says CO-97 on our 20610"), remittance_codes_of("PR 1 and PR-2 on the remit")
    (['CARC 97'], ['CARC 1', 'CARC 2'])
    >>> remittance_codes_of("co 2 monitoring"), remittance_codes_of("CO2 retention"), remittance_codes_of("CARC 16")
    ([], [], ['CARC 16'])
    """
    found = []
    for m in REMITTANCE_CODE.finditer(text):
        group, hyphen, number = m.groups()
        # without a hyphen only CO, PR or PI reads as a denial ("co 45"), and "co 2", "CO2" are carbon dioxide;
        # "OA 2" may be osteoarthritis
        if group and not hyphen and (group.upper() not in ("CO", "PR", "PI") or group.upper() == "CO" and number == "2"):
            continue
        found.append(f"CARC {int(number)}")
    return list(dict.fromkeys(found))


def names_remittance_code(text: str, carc: str) -> bool:
    """Whether ``text`` speaks of reason code ``carc`` ("CARC 109"), alone or in a list ("CARC 22 and 109").

    >>> names_remittance_code("## CARC 22 and 109: another payer", "CARC 109"), names_remittance_code("CARC 1090", "CARC 109")
    (True, False)
    >>> names_remittance_code("CARC 96, 204, 167 and 151: non-covered", "CARC 167"), names_remittance_code("CARC 45", "CARC 4")
    (True, False)
    """
    number = carc.split()[-1]
    return re.search(rf"\bCARCs?\s+(?:#?\d{{1,3}}(?:,\s*|\s+(?:and|or)\s+))*#?{number}\b(?![./]\d)", text, re.I) is not None


_AGE = re.compile(r"\b(\d{1,2})[\s-]*(?:years?|yrs?|y)[\s-]*(?:old|o)\b|\b(\d{1,2})\s*y/?o\b|\bage[d]?\s+(\d{1,2})\b", re.I)
_FIRST_PREGNANCY = re.compile(r"\b(?:first pregnancy|primigravida|primip\w*|g1(?:\s*p0)?)\b", re.I)
_LATER_PREGNANCY = re.compile(r"\b(?:(?:second|third|fourth|fifth|2nd|3rd|4th|5th) pregnancy|multigravida|multip\w*|g[2-9]\d?)\b",
                              re.I)


def maternal_age_of(text: str) -> list[str]:
    """How ICD-10-CM names a pregnant patient's age: "elderly" at 35 years and older at the expected date of
    delivery, "young" under 16 (O09.5-, O09.6- inclusion terms), with primigravida or multigravida when the text
    says which pregnancy this is.

    >>> maternal_age_of("prenatal visit, 37 year old first pregnancy, 10 weeks"), maternal_age_of("15yo G2 at 20 wks prenatal")
    (['elderly', 'primigravida'], ['young', 'multigravida'])
    >>> maternal_age_of("38 year old with chest pain"), maternal_age_of("prenatal visit, 28 year old")
    ([], [])
    """
    m = _AGE.search(text)
    if not m or not _PREGNANCY.search(text):
        return []
    age = int(next(g for g in m.groups() if g))
    word = "elderly" if age >= 35 else "young" if age < 16 else None
    if word is None:
        return []
    gravida = ["primigravida"] if _FIRST_PREGNANCY.search(text) else ["multigravida"] if _LATER_PREGNANCY.search(text) else []
    return [word, *gravida]


def appended(body: str, pcs: bool = False, cpt: bool = False) -> list[str]:
    """The vocabulary values a spelled-out question gets appended, in file order, each once (two names of
    one drug add its class once); for an ICD-10-PCS search, only those PCS words the same way."""
    # punctuation between words does not split a phrase: "C. diff" is the key "c diff"
    low = " ".join(re.sub(r"[.,;:()\[\]!?]", " ", body.lower()).split())
    # (a value already said as words: "presyncope" holds "syncope" but does not say it)
    extra = [SYNONYMS[k] for k in synonym_keys(low) if not says(low, SYNONYMS[k])
             and not (pcs and k in NOT_FOR_PCS) and not (cpt and k in NOT_FOR_CPT)]
    # "both ear canals impacted", "both knees": the two sides of a paired part are what the tabular calls bilateral
    if _BOTH_SIDES.search(low) and "bilateral" not in low:
        extra.append("bilateral")
    # "bead in L ear canal", "swallowed coin lodged in esophagus": a small object in a body part is what the index
    # calls a foreign body (T15-T19)
    if _SMALL_OBJECT_IN.search(low) and "foreign body" not in low:
        extra.append("foreign body")
    # "T12 compression fracture": a spinal level names a vertebra (M80.08, M48.5-, S22.0-, S32.0-)
    if _SPINAL_LEVEL_FRACTURE.search(low) and "vertebra" not in low:
        extra.append("vertebra")
    # "cellulitis R hand dorsum": the tabular's cellulitis sites stop at the limb (L03.11- upper limb, L03.12-
    # lower limb) below the fingers and toes; an abscess of the hand has a code of its own (L02.51-)
    if "cellulit" in low:
        extra.extend(limb for limb, rx in _CELLULITIS_OF.items() if rx.search(low))
    return list(dict.fromkeys(extra))


_SPINAL_LEVEL_FRACTURE = re.compile(r"\b[ctl](?:[1-9]|1[0-2])\b[^.;]{0,30}\b(?:fracture|fx|compression|collapse|burst)\b|"
                                    r"\b(?:fracture|fx|compression|collapse|burst)\b[^.;]{0,20}\b(?:of\s+|at\s+)?[ctl](?:[1-9]|1[0-2])\b")
_CELLULITIS_OF = {limb: re.compile(rf"\bcellulit\w*\b[^.;]{{0,40}}\b(?:{parts})\b|\b(?:{parts})\b[^.;]{{0,20}}\bcellulit")
                  for limb, parts in (("upper limb", "hands?|wrists?|forearms?|arms?|elbows?"),
                                      ("lower limb", "foot|feet|ankles?|legs?|thighs?|calf|calves|knees?"))}


_SMALL_OBJECT_IN = re.compile(r"\b(?:beads?|coins?|toys?|peas?|beans?|buttons?|button batter(?:y|ies)|marbles?|pebbles?|"
                              r"crayons?|erasers?|popcorn|kernels?|seeds?|legos?|magnets?|earrings?|pen caps?|tampons?)\b"
                              # ("coin lesion in the RUL" is a shape, no object)
                              r"(?!\s+(?:lesions?|shaped|sized|like|opacit\w*|nodules?))"
                              r"[^.;]{0,30}\b(?:in|into|up|lodged|stuck|swallowed|inserted|aspirated)\b"
                              r"|\b(?:swallowed|aspirated|inserted|stuck|lodged)\b[^.;]{0,20}\b(?:beads?|coins?|toys?|peas?|"
                              r"beans?|buttons?|batter(?:y|ies)|marbles?|magnets?)\b")


_BOTH_SIDES = re.compile(r"\bboth\s+(?:\w+\s+)?(?:ears?|ear canals?|eyes?|knees?|hips?|legs?|lower legs?|arms?|hands?|"
                         r"feet|lungs?|kidneys?|breasts?|sides?|shoulders?|wrists?|ankles?|elbows?|ovaries|"
                         r"lower extremities|upper extremities|extremities)\b")


def says(low: str, phrase: str) -> bool:
    """Whether a lower-cased text contains ``phrase`` as whole words ("presyncope" does not say "syncope")."""
    # the substring test first: the word-boundary regex runs only for the few phrases the text contains
    return phrase in low and re.search(rf"\b{re.escape(phrase)}\b", low) is not None


def synonym_keys(low: str) -> list[str]:
    """The vocabulary's synonym keys that a lower-cased text contains as whole words, in file order."""
    return [k for k in SYNONYMS if says(low, k) and (k not in _SYNONYM_CONTEXT or _SYNONYM_CONTEXT[k].search(low))
            and not (k in _SYNONYM_UNLESS and _SYNONYM_UNLESS[k].search(low))]


def question_negations(query: str) -> set[str]:
    """What a question denies, read in its own words and abbreviations ("w/o") and in each appended value on its
    own ("uncomplicated" -> "without complications"), never across them: "without bleeding" followed by the
    appended "large intestine" does not deny the intestine.

    >>> sorted(question_negations("diverticulitis of colon w/o bleeding")), question_negations("afib, type not documented")
    (['bleeding', 'hemorrhage'], {'type'})
    >>> sorted(question_negations("laceration of left index finger, nail not involved"))
    ['nail']
    >>> sorted(question_negations("acute on chronic HFpEF exacerbation, no CKD"))
    ['ckd', 'disease', 'kidney', 'renal']
    >>> sorted(question_negations("dressing change, non-surgical wound")), sorted(question_negations("no pre-existing HTN"))
    (['surgical'], ['existing', 'htn', 'hypertension', 'hypertensive'])
    >>> sorted(question_negations("Lumbar radiculopathy, provider doesn't mention any disc herniation"))
    ['disc', 'herniation']
    >>> question_negations("iron deficiency anemia not specified further")  # NOS: the anemia stays, "specified" does not
    {'specified'}
    >>> sorted(question_negations("DKA, awake, not comatose"))
    ['coma', 'comatose']
    >>> sorted(question_negations("syncope, r/o arrhythmia, outpatient")), question_negations("admitted w syncope, r/o arrhythmia")
    (['arrhythmia', 'rule', 'ruled'], set())
    """
    body = spell_out(query)
    # a word the question also states outside every negated phrase is not denied: in "acute on chronic HFpEF, no
    # CKD" the "chronic" of the spelled-out "no chronic kidney disease" is denied, the heart failure's is not
    # (each text on its own: the spelled-out body may miss a negation the question's own words make, "doesn't")
    out = (negated_terms(query) - affirmed_words(query)) | (negated_terms(body) - affirmed_words(body))
    # "organism unk": no organism is identified, though the word stands outside any negated phrase
    out |= {(m.group(1) or m.group(2)).lower() for t in (query, body) for m in _UNSPECIFIED_AGENT.finditer(t)}
    # "no personal or family hx of polyps or colon ca": a family's history is denied, not the colon a screening
    # colonoscopy looks at (its words after "history of" stay undenied); "no hx rheumatic fever" denies the fever
    out -= _history_objects(query) | _history_objects(body)
    for value in appended(body):
        out |= negated_terms(value)
    # a detail the record leaves open, said after it: "afib, type not documented", "stage not specified"; or spared
    # by the injury: "laceration of finger, nail not involved"
    out |= {m.group(1).lower() for m in _UNSTATED_AFTER.finditer(query) if m.group(1).lower() not in STOPWORDS}
    # a denied word is denied in the code set's words too: "not comatose" denies the tabular's "coma"
    out |= {t for w in list(out) if w in SYNONYMS and " " not in w for t in tokens(SYNONYMS[w])} - STOPWORDS
    # outside a hospital stay a condition to rule out is not coded (guideline IV.H: code the signs and symptoms),
    # so it reads like a denied one: "syncope, r/o arrhythmia" is the syncope. In a stay it is coded as if
    # established (guideline II.H), and a condition already "ruled out" is what Z03 says.
    if rules_out(query):
        # (in the question's words and spelled out: "r/o MI" rules out the tabular's "myocardial infarction")
        for text in (query, body):
            ruled = _RULE_OUT.sub(" no ", text)
            out |= negated_terms(ruled) - negated_terms(text) - affirmed_words(ruled)
        out |= {"rule", "ruled"}  # nor is it a Z03 "... ruled out" (the condition has not been ruled out yet)
    return out


def rules_out(query: str) -> bool:
    """Whether the question names a condition still to rule out outside a hospital stay ("syncope, r/o arrhythmia"):
    that condition is not coded, nor are the words that say so ("r/o") a code title's to cover."""
    return bool(_RULE_OUT.search(query) and not _INPATIENT_STAY.search(query))


RULE_OUT_WORDS = frozenset({"r", "o", "rule", "ruling", "out"})
_RULE_OUT = re.compile(r"\b(?:r/o|rule[- ]out|ruling out)\b", re.I)
_INPATIENT_STAY = re.compile(r"\b(?:inpatient|inpt|admitted|admission|admit|discharged?|hospitali[sz]ed|stay)\b", re.I)


_HISTORY_OF = re.compile(r"\b(?:hx|history|h/o)\b(?:\s+of)?", re.I)
_FAMILY = re.compile(r"\b(?:family|fam|fhx)\b", re.I)


def _history_objects(text: str) -> set[str]:
    """The words a negated phrase says there is no family history of ("no family hx of colon ca": colon, ca, ...).

    A family's history is no statement about the patient's own body: the colon a screening colonoscopy looks at is
    not denied. "No hx rheumatic fever" is the patient's own: the rheumatic fever is denied (I35.-, not I06.-).

    >>> sorted(_history_objects("screening colonoscopy, no family hx of colon ca"))
    ['ca', 'cancer', 'colon', 'intestine', 'large', 'malignant', 'neoplasm']
    >>> _history_objects("no colon polyps"), _history_objects("aortic stenosis, no hx rheumatic fever")
    (set(), set())
    """
    out: set[str] = set()
    for _, _, phrase in _negated_phrases(text):
        m = _HISTORY_OF.search(phrase)
        if m and _FAMILY.search(phrase):
            after = phrase[m.end():]
            out.update(tokens(after) + tokens(expand_query(after)))
    return out - {"history", "hx"}


_UNSTATED_AFTER = re.compile(r"\b([A-Za-z]{3,})\s+(?:is\s+|was\s+|were\s+)?(?:not|nt)\s+"
                             r"(?:documented|specified|stated|known|mentioned|given|recorded|involved|affected)\b"
                             # "iron deficiency anemia not specified further": the condition, unspecified (NOS)
                             r"(?!\s+(?:further|otherwise|any further|more))", re.I)


_LONG_TERM_OF = frozenset({"use", "therapy", "anticoag", "anticoagulation", "anticoagulant", "anticoagulants", "meds",
                           "medication", "medications", "steroid", "steroids", "opioid", "opioids", "insulin", "aspirin"})


@lru_cache(maxsize=256)
def _with_plain_readings(text: str) -> str:
    """The text followed by what its unambiguous abbreviations stand for: the context an ambiguous one is read in
    ("POAG OS": POAG says glaucoma, so OS is the left eye)."""
    plain = [ABBREVIATIONS[w.lower()] for w in _QUERY_WORD.findall(text)
             if w.lower() in ABBREVIATIONS and w.lower() not in AMBIGUOUS]
    return " ".join([text, *plain])


def _settled(word: str, text: str) -> bool:
    """Whether an abbreviation written as ``word`` in ``text`` is read as its expansion.

    Lower-case "ms", "pe", "ra", "cap" are too often ordinary words: those expand only in capitals or beside
    their context; a strict one ("AD") needs both. The context may come from another abbreviation's reading.

    >>> _settled("OS", "POAG OS, mod stage"), _settled("os", "pt os tired")
    (True, False)
    """
    low = word.lower()
    if low in _ABBREVIATION_UNLESS and _ABBREVIATION_UNLESS[low].search(text):
        return False
    plain = _with_plain_readings(text)
    in_context = low in _READ_IN_CONTEXT and bool(_READ_IN_CONTEXT[low].search(plain))
    if low in STRICT:
        if in_context and not word.isupper() and low in _LOWER_WITH:
            cues = {m.group(0).lower() for m in _READ_IN_CONTEXT[low].finditer(plain)}
            return len(cues) >= _LOWER_WITH[low]
        return word.isupper() and in_context
    return word.isupper() or low not in AMBIGUOUS or in_context


_GLUED_NUMBER = re.compile(r"^([A-Za-z]{2,})([0-9]{1,2}[A-Za-z]?)$")


def spell_out(text: str, keep_cms: bool = True) -> str:
    """The question with its abbreviations spelled out, in place: expand_query without the appended
    vocabulary, so a phrase's scope (what "without" negates) ends where the question's own words do.
    ``keep_cms=False`` drops the CMS shorthand kept beside its reading ("dist distal" -> "distal"), so a phrase
    of the vocabulary reads through it ("lt dist rad fx": "distal radius").

    >>> spell_out("diverticulitis of colon w/o bleeding")
    'diverticulitis of colon without bleeding'
    >>> spell_out("MDD recurrent, mod"), spell_out("now lt knee scope (unrelated). mod?")
    ('major depressive disorder recurrent , mod moderate', 'now left knee scope ( unrelated ). modifier ?')
    """
    text = re.sub(r"\bE/M\b", "E/M evaluation and management", text, flags=re.I)
    # "a fib", "a-fib": one word ("afib"), not the article and the fibula
    text = re.sub(r"\b(a)[\s-]fib\b", r"\1fib", text, flags=re.I)
    words = _QUERY_WORD.findall(text)
    out = []
    cms = learned()
    for i, w in enumerate(words):
        low = w.lower()
        exp = ABBREVIATIONS.get(low)
        if exp and len(w) == 1 and i and words[i - 1][-1:].isdigit():
            exp = None  # a lone letter after a number is a unit: "1.2 L out" is litres, not the left side
        if low == "lt" and i + 1 < len(words) and words[i + 1].lower() in _LONG_TERM_OF:
            exp = "long term"  # "LT use of methotrexate", "LT anticoag": long-term drug therapy (Z79), not the left
        if not exp and (glued := _GLUED_NUMBER.match(w)) and glued.group(1).lower() in ABBREVIATIONS \
                and _settled(glued.group(1), text):
            # "CKD3b", "DM2": an abbreviation with its stage or type typed onto it
            out.extend((ABBREVIATIONS[glued.group(1).lower()], glued.group(2)))
        elif exp and _settled(w, text):
            out.append(exp)
        elif _kept_cms(low, cms):
            # CMS's own shorthand ("stg", "unsp", "intertroch"): keep it (short names are indexed too)
            # and add the word it stands for.
            out.extend((w, cms[low]) if keep_cms else (cms[low],))
        else:
            out.append(w)
    return " ".join(out)


def _kept_cms(low: str, cms: dict[str, str]) -> bool:
    """A CMS short-name word that spell_out keeps and spells out beside it (no stopword, no vocabulary abbreviation)."""
    # (an ambiguous abbreviation not read as such here may keep CMS's reading: "MDD recurrent, mod" is moderate)
    return low in cms and low not in STOPWORDS and (low not in ABBREVIATIONS or low in _CMS_WHEN_UNREAD)


def kept_shorthand(text: str) -> dict[str, list[str]]:
    """CMS shorthand that ``spell_out`` keeps beside the word it adds ("ABN" -> "abnormal"): each one's words.

    Either reading may be the asker's: a passage that holds the short form covers the question without the long
    one ("whats an ABN for" is the notice, not an abnormal finding).

    >>> kept_shorthand("whats an ABN actually for")
    {'abn': ['abnormal']}
    """
    cms = learned()
    return {low: tokens(cms[low]) for low in (w.lower() for w in _QUERY_WORD.findall(text)) if _kept_cms(low, cms)}


# "no", "without", "w/o" open a negated phrase; clause words and punctuation close it.
_NEGATOR = re.compile(r"\b(?:without(?:\s+mention\s+of)?|w/o|wo|no|not|nt|never(?:\s+had)?|nothing\s+else|nothing\s+(?:about|regarding|on)|(?:does|did|do|is|was|are|were)n['’]t|denies|deny|denied|"
                      r"negative\s+for|free\s+of)\b\s*", re.I)
_SCOPE_END = re.compile(r"[.;:!?()\[\]]|\s-\s|\b(?:but|with|w/|w|who|which|that|is|are|was|were|has|have|had|then|now|"
                        r"what|code|codes|so|because|due|after|since|without|no|not|nt|"
                        # the encounter (7th character) is never what is denied: "w/o FB init"
                        r"init|initial|subs|subsequent|sequela|encounter)\b", re.I)
# Words that say how the absence was recorded, not what is absent ("no gangrene mentioned").
_NEGATION_FILLER = frozenset({"mention", "mentioned", "documented", "noted", "present", "found", "seen", "evidence",
                              "signs", "sign", "any", "known", "current", "currently", "problem", "problems", "issue",
                              "issues", "stated", "reported", "nor", "involved", "affected",
                              # a bound prefix names nothing on its own ("no pre-existing HTN" denies no "pre-eclampsia")
                              "pre", "post", "non", "anti", "further"})


_NON_PREFIX = re.compile(r"\bnon-([a-z]{3,})\b", re.I)


def _negated_phrases(text: str) -> list[tuple[int, int, str]]:
    """Each negated phrase of ``text``: where it lies (negator included) and its words, with any "or" list that
    continues it ("no perforation, abscess or bleeding"); a comma ends it otherwise."""
    out = []
    for m in _NEGATOR.finditer(text):
        rest = text[m.end():]
        end = _SCOPE_END.search(rest)
        scope = rest[: end.start()] if end else rest
        parts = scope.split(",")
        kept = [parts[0]]
        for i, part in enumerate(parts[1:], 1):
            if not re.search(r"\b(?:or|nor)\b", part, re.I):
                # a serial comma: "no perforation, abscess, or bleeding" lists short items up to its "or"
                if not _serial_item(parts, i):
                    break
            kept.append(part)
        phrase = ",".join(kept)
        out.append((m.start(), m.end() + len(phrase), phrase))
    return out


def _serial_item(parts: list[str], i: int) -> bool:
    """Whether ``parts[i]`` is a short item of a serial-comma list that an "or" part ends: "abscess" in
    "perforation, abscess, or bleeding"."""
    for part in parts[i:]:
        if re.match(r"\s*(?:or|nor)\b", part, re.I):
            return True
        if len(part.split()) > 3:
            return False
    return False


def affirmed_words(text: str) -> set[str]:
    """The words ``text`` states outside its negated phrases (and outside "non-" words: "non-surgical")."""
    out, last = [], 0
    spans = sorted([(start, end) for start, end, _ in _negated_phrases(text)]
                   + [m.span() for m in _NON_PREFIX.finditer(text)])
    for start, end in spans:
        out.append(text[last:start])
        last = max(last, end)
    out.append(text[last:])
    return set(tokens(" ".join(out)))


@lru_cache(maxsize=200_000)
def asserted_and_denied(text: str) -> frozenset[str]:
    """Words a title both states and denies: "Hypertensive heart and chronic kidney disease without heart failure"
    says the heart disease and denies its failure. ("Unspecified as to cause" states no cause.)

    >>> sorted(asserted_and_denied("Hypertensive heart and chronic kidney disease without heart failure"))
    ['heart']
    >>> asserted_and_denied("Partial intestinal obstruction, unspecified as to cause")
    frozenset()
    """
    stated = _UNSPECIFIED_AGENT.sub(" ", _UNSPECIFIED_AS_TO.sub(" ", text))
    # (cached: every search reads it for each candidate code's title)
    return frozenset(negated_terms(text) & affirmed_words(stated))


_UNSPECIFIED_AS_TO = re.compile(r"\bunspecified as to ([^,;()]+)", re.I)
# "Pneumonia, unspecified organism": no organism is identified, as "no organism", "organism unknown" say
_UNSPECIFIED_AGENT = re.compile(r"\b(?:unspecified|unknown|unk|unidentified)\s+(organism|cause|agent)\b|"
                                r"\b(organism|cause|agent)\s+(?:unspecified|unknown|unk|unidentified|nos)\b", re.I)


def negated_terms(text: str) -> set[str]:
    """Words a text says are absent, the whole negated phrase and any "or" list that continues it.

    A comma ends the phrase unless the next part continues an "or" list ("no perforation, abscess or
    bleeding"); "no macular edema, right eye" negates the edema, not the eye.

    >>> sorted(negated_terms("diverticulitis without perforation, abscess or bleeding"))
    ['abscess', 'bleeding', 'perforation']
    >>> sorted(negated_terms("retinopathy, no macular edema, right eye"))
    ['edema', 'macular']
    >>> sorted(negated_terms("Parkinson's disease - no dyskinesia or fluctuations documented"))
    ['dyskinesia', 'fluctuations']
    >>> sorted(negated_terms("Partial intestinal obstruction, unspecified as to cause"))
    ['cause']
    >>> negated_terms("Pneumonia, unspecified organism"), negated_terms("pneumonia, organism unknown")
    ({'organism'}, {'organism'})
    """
    # "non-surgical wound", "Non-pressure chronic ulcer": the prefix denies its own word only
    out: set[str] = {m.group(1).lower() for m in _NON_PREFIX.finditer(text)}
    # "Partial intestinal obstruction, unspecified as to cause" says nothing of a cause: it is the code for a
    # question that gives none ("cause not stated"), not one that asserts it
    # (but not what the title asserts before it: "Unspecified intestinal obstruction, unspecified as to partial
    # versus complete obstruction" leaves the kind open, not the obstruction)
    out.update(w for m in _UNSPECIFIED_AS_TO.finditer(text) for w in tokens(m.group(1))
               if w not in _NEGATION_FILLER and w not in ("versus", "vs", "or") and w not in tokens(text[:m.start()]))
    out.update((m.group(1) or m.group(2)).lower() for m in _UNSPECIFIED_AGENT.finditer(text))
    for _, _, phrase in _negated_phrases(text):
        words = [t for t in tokens(phrase) if t not in _NEGATION_FILLER and not t.isdigit()]
        out.update(words[:5])
    return out


def denied_abbreviations(text: str) -> set[str]:
    """Every word of an abbreviation's spelled-out reading that a negator denies whole: in "TAH, no BSO"
    (spelled out) no part of the bilateral salpingo-oophorectomy was done, however long its reading.

    >>> sorted(denied_abbreviations("hysterectomy, no " + ABBREVIATIONS["bso"]))[:3]
    ['bilateral', 'fallopian', 'oophorectomy']
    """
    low = text.lower()
    out: set[str] = set()
    for value in _LONG_READINGS:
        if value in low and re.search(rf"{_NEGATOR.pattern}{re.escape(value)}", low):
            out.update(tokens(value))
    return out


# readings longer than negated_terms' five-word phrase
_LONG_READINGS = tuple(sorted({v.lower() for v in ABBREVIATIONS.values() if len(v.split()) > 5}, key=len, reverse=True))


_RANGE = re.compile(r"\b(\d{1,2})\s*(?:through|thru|to|-)\s*(?:stage\s+|grade\s+|type\s+)?(\d{1,2})\b", re.I)


def small_numbers(text: str) -> set[int]:
    """Stage, grade and type numbers a text names, ranges spelled out: "stage 1 through stage 4" -> {1, 2, 3, 4}.

    >>> sorted(small_numbers("with stage 1 through stage 4 chronic kidney disease"))
    [1, 2, 3, 4]
    >>> sorted(small_numbers("HTN w/ CKD 3a"))
    [3]
    """
    out: set[int] = set()
    for m in _RANGE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo < hi <= lo + 10:
            out.update(range(lo, hi + 1))
    # "CKD 3a", "stage 3b": a lettered sub-stage is still stage 3 (N18.31, N18.32; I12.9 covers stages 1-4)
    out.update(int(n) for n in re.findall(r"\b(\d{1,2})[ab]?\b", text))
    # "Second degree hemorrhoids", "third degree burn", "2nd trimester": an ordinal before the word it counts
    # ("first visit" counts nothing)
    out.update(_ORDINALS[m.group(1).lower()] for m in _ORDINAL.finditer(text))
    return out


_DECIMAL = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")


def stated_numbers(question: str) -> set[int]:
    """The stage, grade and type numbers a question states (``small_numbers``), its decimals left out: "Cr 1.9" or
    "A1c 9.2" is a measured value, no stage 1 or type 2. (A title's "40.0-44.9" is a range: titles keep theirs.)

    >>> sorted(stated_numbers("CKD stage 3b (baseline Cr 1.9), A1c 9.2, type 2"))
    [2, 3]
    """
    return small_numbers(_DECIMAL.sub(" ", question))


_VALUE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)(?![\d.])")
_VALUE_RANGE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*(?:-|to|through)\s*(\d{1,3}(?:\.\d+)?)(?![\d.])|"
                          r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s+or\s+(less|greater|more)\b|"
                          r"\b(less than|under)\s+(\d{1,3}(?:\.\d+)?)\b", re.I)


def measured_values(text: str) -> set[float]:
    """Measurements a question gives with a decimal point ("BMI 42.3", "alcohol 0.08"): values a code's title
    states a range for, not stage or type numbers.

    >>> measured_values("BMI 42.3 adult"), measured_values("CKD 3a, 34 weeks")
    ({42.3}, set())
    """
    return {float(m.group(1)) for m in _VALUE.finditer(text) if "." in m.group(1)}


def value_ranges(title: str) -> list[tuple[float, float]]:
    """The ranges of a measurement a title states, with a decimal in them: "[BMI] 40.0-44.9, adult" -> (40.0, 44.9);
    "19.9 or less" -> (0, 19.9); "70 or greater" -> (70, inf) when the title has another decimal range form.

    >>> value_ranges("Body mass index [BMI] 40.0-44.9, adult"), value_ranges("Body mass index [BMI] 19.9 or less, adult")
    ([(40.0, 44.9)], [(0.0, 19.9)])
    """
    out = []
    for m in _VALUE_RANGE.finditer(title):
        if m.group(1):
            lo, hi = m.group(1), m.group(2)
            if "." in lo or "." in hi:
                out.append((float(lo), float(hi)))
        elif m.group(3):
            v = float(m.group(3))
            out.append((0.0, v) if m.group(4).lower() == "less" else (v, float("inf")))
        elif m.group(6):
            out.append((0.0, float(m.group(6))))
    # "or less"/"or greater" alone (70 or greater) says nothing of decimals; keep them only beside a decimal title
    return out if "." in title else []


_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_ORDINAL = re.compile(rf"\b({'|'.join(_ORDINALS)})(?:[ -]degree|\s+trimester)\b", re.I)


# Words of a description that say how it is told, not what the condition is ("came in just for a flu shot",
# "per MD", "documented"): no code title is expected to cover them, so coverage leaves them out. Words that
# carry polarity or detail ("no", "with", "other", "type") are not among them.
NARRATION = frozenset(
    "came come comes coming just only here today now has have had got get gets is was were been being also seen "
    "presents presented presenting complains complaining noted documented per states stated says said doc md "
    "doctor provider currently workup pending"
    # how a case is passed on in chat ("known seizure d/o brought in ... neuro note: ... code pls")
    " known brought note notes pls plz thx asap".split())
# Words that only give another word its polarity ("no fever", "w/o FB"): what they deny is read by
# question_negations and covered by a title that lacks it or says "without", so they need no cover of their own.
POLARITY = frozenset({"no", "not", "without"})


def own_word_forms(query: str) -> dict[str, set[str]]:
    """Each word the question itself uses, with the words it stands for: its own expansion ("stg" ->
    "stage") and, for a phrase the vocabulary maps ("heart attack"), the phrase's code-set words.

    >>> sorted(own_word_forms("heart attack")["attack"])
    ['attack', 'infarction', 'myocardial']
    """
    forms = {t: {t} | set(tokens(expand_query(t))) for t in dict.fromkeys(tokens(query))}
    # an abbreviation that is read only in capitals ("AKA", "L") or beside its context ("lung ca", "cerumen
    # impaction AD") keeps the reading it has in the question
    for raw in set(_CAPITALISED.findall(query)) | (forms.keys() & _READ_IN_CONTEXT.keys()):
        low = raw.lower()
        if low not in forms:
            continue
        if raw.isupper():
            forms[low] |= set(tokens(expand_query(raw)))
        if low in ABBREVIATIONS and _settled(raw, query):
            forms[low] |= set(tokens(ABBREVIATIONS[low]))
    # "s/p", "f/u", "h/o": the pair is one abbreviation, so each letter stands for the pair's expansion; when
    # the expansion spells the letters out in order ("N/V": nausea, vomiting), each letter stands for its own
    # word, so R11.0 "Nausea" covers only half of "N/V" and R11.2 "Nausea with vomiting" all of it
    for pair in _PAIR_WORD.findall(query):
        letters = tokens(pair.lower())
        spelled = [w for w in tokens(ABBREVIATIONS[pair.lower()]) if w != "with"]
        aligned = len(spelled) == len(letters) and all(w.startswith(c) for c, w in zip(letters, spelled))
        for i, word in enumerate(letters):
            if word in forms:
                forms[word] |= {spelled[i]} if aligned else set(tokens(ABBREVIATIONS[pair.lower()]))
    for phrase in synonym_keys(query.lower()):
        if " " in phrase:
            for word in tokens(phrase):
                if word in forms:
                    forms[word] |= set(tokens(SYNONYMS[phrase]))
    return forms
