"""History of a condition -> the Z80-Z87 history code whose "Conditions classifiable to" note covers it.

ICD-10-CM words its history codes by chapter or site ("Z80.0 Family history of malignant neoplasm of
digestive organs", inclusion term "Conditions classifiable to C15-C26"), never by the condition a coder
names ("family history of colon cancer"). So the condition is coded first (C18.9), and the history code is
the one whose official "classifiable to" range holds that code, the narrowest when several do. All pure;
the caller supplies the condition's code and the ranges read from the code store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from casepilot import codes as cs
from casepilot.text import tokens

FAMILY, PERSONAL = "family", "personal"

_RELATIVE = (r"father|mother|dad|mom|mum|parents?|brother|sister|siblings?|sons?|daughters?|"
             r"grand(?:father|mother|ma|pa|parents?)|aunt|uncle|cousin|twin")
_FAMILY = re.compile(rf"\b(?:fam(?:ily)?(?: medical)? (?:history|hx)|fhx|fh)\b|\b(?:{_RELATIVE})\b.*\bhistory\b|"
                     rf"\bhistory\b.*\b(?:in|of) (?:his|her|their|the patient's|pt's|a) (?:{_RELATIVE})\b", re.I)
_HISTORY = re.compile(r"\b(?:(?:fam(?:ily)?|personal|past)(?: medical)? (?:history|hx)|history|fhx|pmhx?|hx|fh)\b(?:\s+of)?\s*|"
                      r"\bh/o\s+",
                      re.I)
# The condition is present or still treated: the guideline codes the condition itself, not its history
# (I.C.2.d: a malignancy under treatment is coded as current; I.C.21.c.4: history codes are for conditions
# that no longer exist).
_CURRENT = re.compile(r"\b(?<!no )(?<!not )(?:currently|current|active|still|ongoing|under treatment|being treated|on chemo\w*|"
                      r"receiving|status|"
                      # a deficit that remains is a sequela, coded as such (I69 after a stroke), not a history: Z86.73
                      # is "... without residual deficits"
                      r"(?<!no )(?<!without )residual\w*|(?<!no )(?<!without )(?<!no residual )(?<!without residual )deficits?|sequela\w*|late effects?|"
                      # a fracture that did not heal is a current injury (7th character K, P or G), no healed history
                      r"(?<!no )(?<!without )(?:non-?unions?|mal-?unions?|delayed (?:union|healing)))\b", re.I)
_NOISE = re.compile(rf"\([^)]*\)|\b(?:{_RELATIVE})\b|\b(?:z[- ]?codes?|codes?|icd-?10(?:-cm)?|dx|the|a|an|"
                    r"his|her|their|with|had|has|in)\b|[?.!;:,]", re.I)
# The history asked for at the end, of the condition described first: "prostate ca s/p prostatectomy 2019, no
# evidence of disease. what code for the cancer history?"
_ASKS_AT_END = re.compile(r"\b(?:z[- ]?codes?|codes?|dx)\s+(?:for|of)\s+(?:the|this|his|her|their|that)?\s*(?:\w+\s+)?"
                          r"(?:history|hx)\s*\??\s*$", re.I)
# What follows the condition and is no part of it: how it ended and when ("colon polyps that were removed a
# few years ago", "prostate cancer s/p prostatectomy 6 yrs ago").
_AFTER_CONDITION = re.compile(r"\b(?:that|which|who|s/p|status post|treated|removed|resected|excised|cured|"
                              r"resolved|(?:\d+|a few|few|several|many)\s+(?:yrs?|years?|months?|mos?|weeks?|wks?)\s+ago)\b"
                              r"|\bin (?:19|20)\d\d\b", re.I)
_CLASSIFIABLE = re.compile(r"classifiable to\s+(.+)$", re.I)
_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{0,4})?$")


# Before a history that heads a problem list: nothing, or only who the patient is ("78F", "67 yo M", "pt")
_ONLY_WHO = re.compile(r"^\s*(?:(?:pt|patient|\d{1,3}\s*(?:yo|y/o|yr old|year old)?\s*(?:m|f|male|female|man|woman)?)\s*[,:;-]?\s*)*$",
                       re.I)
# A later clause that names another condition as it is now: its acuity or stage, or a chronic disease's shorthand
_CURRENT_CONDITION = re.compile(r"\b(?:chronic|acute|stage\s*\d|type\s*[12]|chf|hfref|hfpef|ckd|esrd|copd|t2dm|dm2|cad|afib|"
                                r"a-fib|hld|osa|gerd)\b", re.I)


@dataclass(frozen=True)
class HistoryAsk:
    """A question asking for the history of a condition: whose history, and the condition's own words."""

    kind: str  # FAMILY or PERSONAL
    condition: str


def history_ask(text: str) -> HistoryAsk | None:
    """The history the question asks to code, or None (no history, or the condition is still current).

    >>> history_ask("Family history of colon cancer (father)")
    HistoryAsk(kind='family', condition='colon cancer')
    >>> history_ask("fam hx colon ca")
    HistoryAsk(kind='family', condition='colon ca')
    >>> history_ask("hx of breast ca, finished treatment 2019") is None
    False
    >>> history_ask("breast cancer, currently on chemo, history of smoking") is None
    True
    >>> history_ask("type 2 diabetes with CKD 3, history of smoking") is None
    True
    >>> history_ask("hx of stroke last year with residual right hemiparesis") is None, history_ask("hx of CVA, no residual deficits") is None
    (True, False)
    >>> history_ask("whats the personal history code for adenomatous colon polyps that were removed a few years ago")
    HistoryAsk(kind='personal', condition='adenomatous colon polyps')
    >>> history_ask("prostate ca s/p prostatectomy 6 yrs ago, no current treatment. what code for the cancer history?")
    HistoryAsk(kind='personal', condition='prostate ca')
    >>> history_ask("78F, hx HTN, chronic systolic CHF w/ EF 30%, CKD stage 3a. Seen in clinic, stable") is None
    True
    >>> history_ask("hx displaced scaphoid fx L wrist 6 mo ago, CT today shows nonunion") is None
    True
    """
    m = _HISTORY.search(text)
    if m is None or _CURRENT.search(text):
        return None
    if (at_end := _ASKS_AT_END.search(text)) and m.start() >= at_end.start():
        rest = text[: m.start()]  # the condition was described before the question
    elif len(tokens(_NOISE.sub(" ", text[: m.start()]))) > 1:
        # "type 2 diabetes with CKD 3, history of smoking": the history is a secondary detail of a question
        # about another condition, which the title search answers
        return None
    else:
        rest = text[m.end():]
        if _ONLY_WHO.match(text[:m.start()]) and any(map(_CURRENT_CONDITION.search, re.split(r"[,.;]\s", rest + " ")[1:])):
            # "78F, hx HTN, chronic systolic CHF w/ EF 30%, CKD stage 3a": "hx" heads the patient's list of current
            # conditions (a past medical history), not the history of one that no longer exists
            return None
    # "finished treatment 2019": what follows a comma is context, not the condition
    first = re.split(r"[,.;?]\s", rest + " ", maxsplit=1)[0]
    first = _AFTER_CONDITION.split(first, maxsplit=1)[0]
    condition = " ".join(re.sub(r"^\s*for\b", " ", _NOISE.sub(" ", first), flags=re.I).split())
    if not re.search(r"[a-z]{2}", condition, re.I):
        return None
    return HistoryAsk(FAMILY if _FAMILY.search(text) else PERSONAL, condition)


def parse_ranges(note: str) -> list[tuple[str, str]]:
    """The code ranges of a "Conditions classifiable to ..." inclusion term, dots removed (pure).

    >>> parse_ranges("Conditions classifiable to C15-C26")
    [('C15', 'C26')]
    >>> parse_ranges("Conditions classifiable to A00-B19, B25-B94, B99")
    [('A00', 'B19'), ('B25', 'B94'), ('B99', 'B99')]
    >>> parse_ranges("Conditions classifiable to C50.-")
    [('C50', 'C50')]
    """
    m = _CLASSIFIABLE.search(note)
    if m is None:
        return []
    out = []
    for part in m.group(1).split(","):
        # "C15-C26" is a range, "C50.-" one category and its children
        ends = [e.strip().rstrip(".-").strip().upper() for e in re.split(r"(?<=\w)-(?=\w)", part, maxsplit=1)]
        if all(_CODE.match(e) for e in ends):
            out.append((ends[0].replace(".", ""), ends[-1].replace(".", "")))
    return out


def in_range(code: str, lo: str, hi: str) -> bool:
    """Whether a code (dots optional) falls in [lo, hi], each end standing for itself and its children.

    >>> in_range("C18.9", "C15", "C26"), in_range("C50.911", "C50", "C50"), in_range("C27", "C15", "C26")
    (True, True, False)
    """
    c = code.replace(".", "").upper()
    return c[: len(lo)] >= lo and c[: len(hi)] <= hi


def _width(lo: str, hi: str) -> tuple[int, int]:
    """How much a range spans (smaller is narrower): categories between its ends, then how specific they are."""
    def ordinal(c: str) -> int:
        return (ord(c[0]) - 65) * 1296 + int(c[1:3], 36)
    return ordinal(hi[:3]) - ordinal(lo[:3]), -min(len(lo), len(hi))


def covering(code: str, ranges: dict[str, list[tuple[str, str]]]) -> list[str]:
    """History codes whose ranges hold ``code``, narrowest first (pure).

    >>> covering("C18.9", {"Z800": [("C15", "C26")], "Z85038": [("C18", "C18")], "Z853": [("C50", "C50")]})
    ['Z85038', 'Z800']
    """
    found = []
    for hist, spans in ranges.items():
        widths = [_width(lo, hi) for lo, hi in spans if in_range(code, lo, hi)]
        if widths:
            found.append((min(widths), hist))
    return [h for _, h in sorted(found)]


def excluded_here(note: str, codes: list[str]) -> bool:
    """Whether an Excludes note names one of ``codes`` (or a heading above it): the tabular codes that
    condition's history elsewhere (pure).

    >>> excluded_here("old myocardial infarction (I25.2)", ["I25.2", "I21.9"])
    True
    >>> excluded_here("old myocardial infarction (I25.2)", ["I21.9"])
    False
    """
    named = [m.code for m in cs.find_mentions(note)]
    return any(cs.normalize(c).startswith(n) for n in named for c in codes if c)
