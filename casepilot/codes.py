"""Code-set shapes: recognise, normalise and format codes in any common spelling.

Pure functions only; whether a code *exists* is the code store's business. Slightly over 300 lines on purpose:
the shapes and the mention finder share the same patterns and look-alike normalisation.

>>> normalize(" e11.22 ")
'E1122'
>>> format_code("E1122", "icd10cm")
'E11.22'
>>> candidate_systems("99213")
['cpt']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

ICD10CM = "icd10cm"
ICD10PCS = "icd10pcs"
CPT = "cpt"
HCPCS = "hcpcs"
MODIFIER = "modifier"

SYSTEM_LABELS = {
    ICD10CM: "ICD-10-CM",
    ICD10PCS: "ICD-10-PCS",
    CPT: "CPT",
    HCPCS: "HCPCS Level II",
    MODIFIER: "Modifier",
}

# Shapes of normalised codes (upper case, no dot, no spaces).
_ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
_PCS = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
_CPT = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[FTU])$")
_HCPCS = re.compile(r"^[A-V][0-9]{4}$")
MODIFIER_SHAPE = re.compile(r"^(?:[0-9]{2}|[A-Z][A-Z0-9]|[0-9][A-Z])$")

# Code-shaped tokens inside free text. Order matters: longer, more specific shapes first.
# A token glued to the text before it by ".", "-" or "/" is checked in code (_stands_alone).
_TEXT_CODE = re.compile(
    r"(?<![A-Za-z0-9])("
    r"[A-Za-z][0-9][0-9A-Za-z]\.[0-9A-Za-z]{1,4}"  # dotted ICD-10-CM: E11.22, S72.001A
    r"|[0-9][0-9A-HJ-NP-Za-hj-np-z]{6}"  # ICD-10-PCS starting with a digit: 0DTJ4ZZ
    r"|[A-HJ-NP-Za-hj-np-z][0-9][0-9A-Za-z]{5}"  # 7 characters starting with a letter (PCS or ICD)
    r"|[0-9]{4}[FTUftu]"  # CPT Category II/III, PLA
    r"|[0-9]{5}"  # CPT Category I
    r"|[A-Va-v][0-9]{4}"  # HCPCS Level II (or undotted ICD-10-CM)
    r"|[A-Za-z][0-9][0-9A-Za-z]{1,4}"  # undotted ICD-10-CM: I10, E1122
    r")(?![A-Za-z0-9]|\.[0-9A-Za-z])"
)
_MODIFIER_CONTEXT = re.compile(
    r"\bmodifiers?\s+((?:-?[0-9A-Za-z]{2}\b(?:\s*(?:,|/|&|and|or|vs\.?|versus)\s*)?)+)", re.IGNORECASE
)
# "the GZ modifier", "a 25 modifier": the label before the word (capitals only, so "an" is no modifier).
_X_MODIFIER = re.compile(r"\bX[EPSU]\b")
_MODIFIER_BEFORE = re.compile(r"\b([0-9]{2}|[A-Z][A-Z0-9]|[0-9][A-Z])\s+[Mm]odifiers?\b")
# "GC vs GE modifier": the label the comparison puts before the other one is a modifier too (capitals only)
_MODIFIER_PAIR_BEFORE = re.compile(r"\b([0-9]{2}|[A-Z][A-Z0-9]|[0-9][A-Z])\s*(?:vs\.?|versus|or|/)\s*"
                                   r"(?:[0-9]{2}|[A-Z][A-Z0-9]|[0-9][A-Z])\s+[Mm]odifiers?\b")
# "mod 25", "mod XS": coders' shorthand for modifier. "mod" is also "moderate" ("mod AS", "mod to severe"), so
# after "mod" only a two-digit modifier or one of the common letter modifiers counts.
_MOD_SHORT = re.compile(r"\bmods?\.?\s+-?([0-9]{2}|X[EPSU]|G[AXYZ]|FS|RT|LT|TC|KX)\b", re.IGNORECASE)
# "need the 25 on the E/M?", "can i put 26 on 93000", "append 51 to the secondary ones": a CPT modifier's number
# put on a code (only numbers that are CPT modifiers: "add 15 to the time" names none)
_MOD_PUT_ON = re.compile(r"\b(?:need|needs|use|add|append|put|attach)\s+(?:a\s+|an\s+|the\s+)?-?"
                         r"(2[2-7]|3[23]|47|5[0-9]|6[236]|7[346-9]|8[0-2]|9[0-3]|9[5-79])\s+(?:on|to)\b", re.IGNORECASE)
# "when is 22 appropriate", "when do you use 59": a question of when to use a CPT modifier's number (not a count:
# "when is 30 minutes enough" names none)
_MOD_WHEN = re.compile(r"\b(?:when|why|how)\s+(?:is|are|would|do|does|can|should|to)\s+(?:(?:you|i|we|they|u)\s+)?"
                       r"(?:use\s+|append\s+|add\s+|bill\s+(?:with\s+)?)?-?"
                       r"(2[2-7]|3[23]|47|5[0-9]|6[236]|7[346-9]|8[0-2]|9[0-3]|9[5-79])\b"
                       r"(?!\s*(?:min|minutes|hours?|days?|units?|%|percent|yo|y/o|years?|weeks?|wks?|mg|visits?)\b)",
                       re.IGNORECASE)
# Common modifier labels that can stand bare in a comparison ("26 vs TC", "76 vs 77??"); other letter pairs
# ("RA vs OA") are too often abbreviations.
_COMMON_MOD = r"[0-9]{2}|X[EPSU]|G[AXYZ]|FS|RT|LT|TC|KX"
# "mod 25 vs 59", "modifier 25 or 59": the other side of a comparison with a modifier is one too.
_MOD_OTHER_SIDE = re.compile(rf"\s*(?:vs\.?|versus|or|and|/|&|,)\s*(?:mod(?:ifier)?s?\s+)?-?({_COMMON_MOD})\b")
# "the same side of a comparison", read backwards: "GA and GZ?" once GZ is known to be a modifier.
_MOD_THIS_SIDE = re.compile(rf"(?<![\w.\-/])({_COMMON_MOD})\s*(?:vs\.?|versus|or|and|/|&|,)\s*(?:mod(?:ifier)?s?\s+)?-?$")
# HCPCS modifiers whose letters spell no clinical or everyday abbreviation ("what does GY mean", "KX on PT claims"):
# in capitals they stand bare. (GA is gestational age, GC gonorrhea/chlamydia, GE the GE junction, FS a finger
# stick, GT a G-tube: those need the word "modifier" or a modifier beside them.)
_BARE_MODIFIER = re.compile(r"(?<![\w.\-/])(G[XYZ]|KX|JW|JZ|QW)(?![\w\-/]|\.[0-9A-Za-z])")
# A message that is only a comparison of two modifier labels.
_MOD_COMPARISON = re.compile(rf"^\W*(?:mod(?:ifier)?s?\s+)?({_COMMON_MOD})\s*(?:vs\.?|versus)\s*({_COMMON_MOD})"
                             rf"(?:\s+mod(?:ifier)?s?)?\W*$"
                             # "same radiologist repeated the chest xray later same day - 76 or 77?": a closing choice
                             # between two CPT modifiers
                             r"|(?:^|[-:;,.]\s*)(22|24|25|26|27|50|51|52|53|54|55|56|57|58|59|62|63|66|76|77|78|79|80|"
                             r"81|82|90|91|92|95|96|97|99)\s+or\s+(?:mod(?:ifier)?\s+)?(22|24|25|26|27|50|51|52|53|54|55|"
                             r"56|57|58|59|62|63|66|76|77|78|79|80|81|82|90|91|92|95|96|97|99)\s*\?\s*$")
# A declared label standing bare (see find_mentions' ``labels``): capitals with a letter as a word of their own,
# two digits only as a glossary entry ("79: unrelated procedure").
_BARE_LABEL = re.compile(r"(?<![\w.\-/])(?:([A-Z][A-Z0-9]|[0-9][A-Z])|([0-9]{2})(?=(?:\*\*)?:\s))(?![\w\-/]|\.[0-9A-Za-z])")
_HYPHEN_MODIFIER = re.compile(r"\b(?:[0-9]{5}|[0-9]{4}[FTU]|[A-V][0-9]{4})-([0-9A-Z]{2})\b")
# Medicare Coverage Database document ids (article A52420, LCD L33767): shaped like an undotted ICD-10-CM code,
# but no ICD-10-CM code is A + 5 digits or L3 + 4 digits, so they are never read as codes.
_MCD_DOCUMENT = re.compile(r"^(?:[Aa][0-9]{5}|[Ll]3[0-9]{4})$")

# Capital letters of other scripts drawn like the Latin ones codes use (Unicode confusables):
# Cyrillic А В Е К М Н О Р С Т Х Ѕ І Ј and Greek Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Χ Υ. NFKC leaves them alone.
_LOOKALIKES = str.maketrans(
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0405\u0406\u0408"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7\u03a5"
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2044\u2215",
    "ABEKMHOPCTXSIJ"
    "ABEZHIKMNOPTXY"
    "-------//",  # dashes and slashes NFKC keeps: a range E11.21\u2013E11.98 reads like E11.21-E11.98
)


def normalize_text(text: str) -> tuple[str, list[int]]:
    """``text`` as code detection reads it, and for each of its characters the index of the original one.

    NFKC (fullwidth ＥＩ１ -> EI1), invisible format characters (zero-width space/joiners, word joiner,
    BOM, soft hyphen: category Cf) dropped, look-alike Cyrillic/Greek capitals and dashes mapped to ASCII.
    Works character by character so that every output character has one origin.

    >>> normalize_text("E1\u200b1.\uff19")
    ('E11.9', [0, 1, 3, 4, 5])
    """
    if text.isascii():
        return text, list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            out.append(ch)
            origin.append(i)
            continue
        for c in unicodedata.normalize("NFKC", ch).translate(_LOOKALIKES):
            if unicodedata.category(c) != "Cf":
                out.append(c)
                origin.append(i)
    return "".join(out), origin


class CodeFormatError(ValueError):
    """A string that cannot be any code; the message says why."""


def is_em(code: str) -> bool:
    """CPT Evaluation and Management codes (99202-99499): visits, consultations, critical care, care management.

    >>> is_em("99213"), is_em("20610")
    (True, False)
    """
    return len(code) == 5 and code.isdigit() and 99202 <= int(code) <= 99499


def normalize(raw: str) -> str:
    """Upper-case, drop dots, hyphens and whitespace: ``' e11.22 '`` -> ``'E1122'``."""
    return re.sub(r"[\s.\-]", "", raw or "").upper()


def candidate_systems(raw: str) -> list[str]:
    """Code systems whose shape ``raw`` fits, most likely first (before any store lookup)."""
    code = normalize(raw)
    dotted = "." in (raw or "")
    out: list[str] = []
    if _CPT.match(code):
        out.append(CPT)
    if _PCS.match(code) and not dotted:
        # PCS codes starting with a digit never collide with ICD-10-CM (which starts with a letter).
        out.append(ICD10PCS)
    if _HCPCS.match(code) and not dotted:
        out.append(HCPCS)
    if _ICD10CM.match(code):
        # A dotted form is unambiguous ICD-10-CM; put it first.
        if dotted:
            out.insert(0, ICD10CM)
        else:
            out.append(ICD10CM)
    if MODIFIER_SHAPE.match(code) and not dotted:
        out.append(MODIFIER)
    # A 7-character ICD-10-CM code is more common in questions than a PCS code starting with a letter.
    if code[:1].isalpha() and ICD10PCS in out and ICD10CM in out:
        out.remove(ICD10PCS)
        out.append(ICD10PCS)
    return out


def why_malformed(raw: str) -> str | None:
    """A human reason why ``raw`` is no code of any system, or None when some shape fits."""
    code = normalize(raw)
    if not code:
        return "the code is empty"
    if not re.fullmatch(r"[0-9A-Z]+", code):
        bad = sorted(set(ch for ch in code if not ch.isalnum()))
        return f"codes contain only letters and digits (found {' '.join(repr(c) for c in bad)})"
    if len(code) > 7:
        return f"no code set has codes longer than 7 characters (got {len(code)})"
    if candidate_systems(raw):
        return None
    if len(code) == 1:
        return "a single character is not a code"
    if code.isdigit():
        return f"a numeric code has 5 digits (CPT) or 2 (modifier); got {len(code)}"
    if code[0].isalpha() and len(code) >= 3 and not code[1].isdigit():
        return "ICD-10-CM codes start with a letter and a digit (e.g. E11.22); HCPCS with a letter and 4 digits"
    return "it matches no ICD-10-CM, ICD-10-PCS, CPT, HCPCS or modifier pattern"


def format_code(code: str, system: str) -> str:
    """The conventional display form: ICD-10-CM gets its dot after the third character."""
    code = normalize(code)
    if system == ICD10CM and len(code) > 3:
        return f"{code[:3]}.{code[3:]}"
    return code


@lru_cache(maxsize=4096)
def _is_tabular_code(dotted: str) -> bool:
    """Whether the ICD-10-CM tabular (simple-icd-10-cm) has this code (``M01.X11``): a code, not a block."""
    import simple_icd_10_cm as cm

    return cm.is_valid_item(dotted)


def display_code(code: str, system: str) -> str:
    """Display form of any stored key, headings included: ``E08E13`` -> ``E08-E13``, ``4`` -> ``Chapter 4``.

    A block's key runs forward (``E08E13``); a code with a letter in its fourth place does not (``F01B11`` is
    F01.B11 "Vascular dementia, moderate, with agitation", no block F01-B11).

    >>> display_code("E08E13", ICD10CM), display_code("C00D49", ICD10CM), display_code("F01B11", ICD10CM)
    ('E08-E13', 'C00-D49', 'F01.B11')
    >>> display_code("M01X11", ICD10CM), display_code("W00X58", ICD10CM)
    ('M01.X11', 'W00-X58')
    """
    if system == ICD10CM:
        if code.isdigit():
            return f"Chapter {code}"
        if len(code) == 6 and code[3].isalpha() and code[4].isdigit() and code[3:] >= code[:3] \
                and not _is_tabular_code(f"{code[:3]}.{code[3:]}"):
            return f"{code[:3]}-{code[3:]}"
    return format_code(code, system)


def spellings(code: str, systems: tuple[str, ...] | list[str]) -> set[str]:
    """How ``code`` may be written: undotted always, dotted too where ICD-10-CM is one of ``systems``."""
    code = normalize(code)
    return {code, format_code(code, ICD10CM)} if ICD10CM in systems else {code}


def occurs_in(code: str, systems: tuple[str, ...] | list[str], text: str) -> bool:
    """Whether ``text`` shows ``code`` as a whole token in any of its spellings, ignoring case.

    >>> occurs_in("E1122", (ICD10CM,), "see e11.22 and 99213"), occurs_in("E112", (ICD10CM,), "E11.22")
    (True, False)
    """
    alts = "|".join(re.escape(s) for s in sorted(spellings(code, systems), key=len, reverse=True))
    pattern = rf"(?<![A-Za-z0-9])(?:{alts})(?![A-Za-z0-9]|\.[A-Za-z0-9])"
    return re.search(pattern, normalize_text(text)[0], re.IGNORECASE) is not None


@dataclass(frozen=True)
class Mention:
    """A code-shaped token found in text.

    ``start``/``end`` index the ORIGINAL text (``text[start:end]`` is the token as written, look-alike
    letters and invisible characters included); ``raw`` is that token after ``normalize_text`` (ASCII,
    dot kept: what the code store is asked about) and ``code`` its normalised form (``E1122``).
    """

    raw: str
    code: str  # normalised
    start: int  # offsets into the original text
    end: int
    systems: tuple[str, ...]
    explicit_modifier: bool = False


def _stands_alone(text: str, start: int, code_ends: set[int]) -> bool:
    """Whether a code-shaped token at ``start`` is a code, not the tail of a number or a word.

    Glued by "-", "/" or "." to a code before it, it is one (E11.22/E11.99, both ends of E11.21-E11.98);
    after "/" or "." it is also one when a word precedes (w/E11.65, "diabetes.E11.9"). After a number
    (3.14159, 555-12345, 2024/12345) or a word and a hyphen (COVID-19) it is not.
    """
    sep = text[start - 1] if start else " "
    if sep not in "-/.":
        return True
    if start - 1 in code_ends:
        return True
    if sep == "-":
        return False
    k = start - 1
    while k and text[k - 1].isalnum():
        k -= 1
    return text[k : start - 1].isalpha()


# A number labelled as a record or person identifier ("MRN 3318824", "acct 77120", "member ID: 88412") is no code,
# whatever its shape: patient details pasted into a question by accident.
_IDENTIFIER_BEFORE = re.compile(
    r"\b(?:mrn|med(?:ical)? rec(?:ord)?(?: number| no\.?| #)?|acct|account|dob|d\.o\.b\.?|member(?: id)?|subscriber(?: id)?|"
    # an encounter or visit number needs its "#" or "no.": "enc# E55012", "visit no 4471" (not "encounter Z23")
    r"(?:enc|encounter|visit)\s*(?:#|no\.?(?=\s)|number|num\b)|"
    r"ssn|social|phone|ph|tel|fax|npi|tin|ein|zip|policy|fin|csn|har|claim ?#|id ?#|id)"
    r"\s*(?:#|no\.?|number|num)?\s*[:#=-]?\s*$", re.I)


# (the label is a whole word and its value holds a digit: "physical" is no "ph" label, "fin" in "final" no FIN)
_LABELLED_IDENTIFIER = re.compile(
    _IDENTIFIER_BEFORE.pattern.replace(r"|id)", r"|id)\b").replace(r"\s*$", r"\s*(?=[\w/.-]*\d)[\w/.-]+"), re.I)


# A claim, authorization or control number ("on claim 7782019", "ICN 22119"): six digits or more after its label are
# no PCS code, whatever the shape (a CPT code after "claim" is five digits and stays one)
_CLAIM_NUMBER_BEFORE = re.compile(r"\b(?:claim|auth(?:orization)?|icn|tcn|dcn|ref(?:erence)?)\s*(?:#|no\.?|number|num)?\s*[:#=-]?\s*$",
                                  re.I)
_CLAIM_NUMBER = re.compile(_CLAIM_NUMBER_BEFORE.pattern.replace(r"\s*$", r"\s*\d{6,}[\w-]*\b"), re.I)


# "type 2 diabetic x15 yrs", "cough x10 days": "x" and a number before a unit of time or a count is how often or
# how long, not an external cause category (X15 "Contact with hot household appliances")
_COUNT = re.compile(r"[xX]\d{2}")
_COUNT_UNIT_AFTER = re.compile(r"\s*(?:yrs?|years?|mos?|months?|wks?|weeks?|d|days?|hrs?|hours?|h|mins?|minutes?|"
                               r"times|doses?|episodes?|visits?|sessions?|treatments?|cycles?)\b", re.I)


# Remittance codes ("remark code MA18 or N89", "CARC 209", "RARC N781, N782") look like diagnosis codes but name
# claim adjustments: a list of them after its label is no code mention.
_REMITTANCE_CODES = re.compile(
    r"\b(?:(?:remark|reason|denial) codes?|carcs?|rarcs?)\s*[:#]?\s*"
    r"(?:(?:[A-Z]{1,2}[0-9]{1,4}|[0-9]{1,3})(?![.\w])(?:\s*(?:,|/|or|and|,\s*or|,\s*and)\s*)?)+", re.I)


def without_identifiers(text: str) -> str:
    """``text`` with each labelled identifier and its value blanked: "acct A77812" is an account, no article A77812.

    >>> without_identifiers("jane doe dob 01/02/1960 acct A77812 -- what did her insurance pay")
    'jane doe     -- what did her insurance pay'
    """
    return _CLAIM_NUMBER.sub(" ", _LABELLED_IDENTIFIER.sub(" ", text))


def find_mentions(text: str, labels: frozenset[str] = frozenset()) -> list[Mention]:
    """Every code-shaped token in ``text``, in order, with the systems its shape allows.

    Modifiers are only recognised where the text says so ("modifier 25", "99213-25"), since
    two-character tokens are otherwise ordinary words and numbers. ``labels`` are modifiers the text's
    own sources declare (a corpus document's ``codes``): those also stand bare, a label with a letter as
    a capitalised word ("bills QY ... and QX"), a two-digit one as a glossary entry ("79: unrelated ..."). A full code after a hyphen is
    the other end of a range and a mention of its own. Detection reads ``normalize_text(text)``
    (look-alike and invisible characters); offsets still index ``text``.

    >>> [m.code for m in find_mentions("Can 99213-25 and E11.22 go with modifier XS?")]
    ['99213', '25', 'E1122', 'XS']
    >>> [m.code for m in find_mentions("Modifier 59 marks a distinct procedure; XS (separate structure) is more specific")]
    ['59', 'XS']
    >>> [m.code for m in find_mentions("GC vs GE modifier")]
    ['GC', 'GE']
    >>> [m.code for m in find_mentions("E11.21-E11.98, E11.22/E11.65, not 3.14159")]
    ['E1121', 'E1198', 'E1122', 'E1165']
    >>> [m.code for m in find_mentions("afib I48.0 (pt MRN 3318824, acct 77120, member ID: 99213) on claim #4471902")]
    ['I480']
    >>> [m.code for m in find_mentions("enc# E55012, inpt: likely viral gastroenteritis; encounter Z23 vs Z00.00")]
    ['Z23', 'Z0000']
    >>> [m.code for m in find_mentions("type 2 diabetic x15 yrs, cough x10 days; X15 burns, X10.0XXA")]
    ['X15', 'X100XXA']
    >>> [m.code for m in find_mentions("remark code MA18 or N89 on the remittance; RARC N781, N782 and N783; see E11.22")]
    ['E1122']
    >>> [m.code for m in find_mentions("QY: one case. 79: unrelated; 79 days, QZ", frozenset({"QY", "79"}))]
    ['QY', '79']
    >>> m = find_mentions("Use \u0415\u200b11.99")[0]
    >>> m.raw, m.code, m.start, m.end
    ('E11.99', 'E1199', 4, 11)
    """
    norm, origin = normalize_text(text)
    found: dict[tuple[int, int], Mention] = {}

    def add(start: int, end: int, code: str, systems: tuple[str, ...], explicit: bool = False) -> None:
        found[(start, end)] = Mention(norm[start:end], code, origin[start], origin[end - 1] + 1, systems, explicit)

    code_ends: set[int] = set()
    remittance = [r.span() for r in _REMITTANCE_CODES.finditer(norm)]
    for m in _TEXT_CODE.finditer(norm):
        raw = m.group(1)
        systems = [s for s in candidate_systems(raw) if s != MODIFIER]
        if (systems and not _MCD_DOCUMENT.match(raw) and _stands_alone(norm, m.start(1), code_ends)
                and not any(a <= m.start(1) < b for a, b in remittance)
                and not _IDENTIFIER_BEFORE.search(norm, max(0, m.start(1) - 30), m.start(1))
                and not (_COUNT.fullmatch(raw) and _COUNT_UNIT_AFTER.match(norm, m.end(1)))
                and not (raw.isdigit() and len(raw) >= 6
                         and _CLAIM_NUMBER_BEFORE.search(norm, max(0, m.start(1) - 30), m.start(1)))):
            code_ends.add(m.end(1))
            add(m.start(1), m.end(1), normalize(raw), tuple(systems))
    for m in _MODIFIER_BEFORE.finditer(norm):
        add(m.start(1), m.end(1), m.group(1), (MODIFIER,), True)
    for m in _MODIFIER_PAIR_BEFORE.finditer(norm):
        add(m.start(1), m.end(1), m.group(1), (MODIFIER,), True)
    for m in _HYPHEN_MODIFIER.finditer(norm):
        add(m.start(1), m.end(1), normalize(m.group(1)), (MODIFIER,), True)
    for m in _MOD_SHORT.finditer(norm):
        add(m.start(1), m.end(1), normalize(m.group(1)), (MODIFIER,), True)
    for m in (*_MOD_PUT_ON.finditer(norm), *_MOD_WHEN.finditer(norm)):
        add(m.start(1), m.end(1), normalize(m.group(1)), (MODIFIER,), True)
    for m in _MODIFIER_CONTEXT.finditer(norm):
        base = m.start(1)
        for t in re.finditer(r"\b[0-9A-Za-z]{2}\b", m.group(1)):
            tok = t.group(0)
            if tok.lower() in {"or", "vs"} or (tok.isalpha() and tok.lower() == tok and tok.lower() not in {"xs", "xe", "xp", "xu", "lt", "rt", "tc"}):
                continue
            add(base + t.start(), base + t.end(), normalize(tok), (MODIFIER,), True)
    for m in _MOD_COMPARISON.finditer(norm):
        for g in range(1, 5):
            if m.group(g):
                add(m.start(g), m.end(g), normalize(m.group(g)), (MODIFIER,), True)
    for m in _BARE_MODIFIER.finditer(norm):
        if (m.start(1), m.end(1)) not in found:
            add(m.start(1), m.end(1), m.group(1), (MODIFIER,), True)
    for m in _BARE_LABEL.finditer(norm) if labels else ():
        label = m.group(1) or m.group(2)
        if label in labels and (m.start(), m.start() + 2) not in found:
            add(m.start(), m.start() + 2, label, (MODIFIER,), True)
    for (start, end), mention in list(found.items()):
        if mention.systems != (MODIFIER,):
            continue
        # the side after it, and the side before it (searched in place, so the look-behind sees the word a cut
        # would split: "OMEGA and GZ" names no GA)
        for o in (_MOD_OTHER_SIDE.match(norm, end), _MOD_THIS_SIDE.search(norm, max(0, start - 20), start)):
            if o:
                add(o.start(1), o.end(1), normalize(o.group(1)), (MODIFIER,), True)
    if found and any(m.systems == (MODIFIER,) for m in found.values()):
        # "Modifier 59 ... XE (separate encounter), XS (separate structure)": beside a modifier the text names,
        # the four X{EPSU} modifiers stand bare (capitals only; no ordinary word is spelled so)
        for m in _X_MODIFIER.finditer(norm):
            if (m.start(), m.end()) not in found:
                add(m.start(), m.end(), m.group(0), (MODIFIER,), True)
    return [found[k] for k in sorted(found)]
