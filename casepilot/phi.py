"""Patient details pasted into a question: a name, a date of birth, a record number.

A coder asking a general rule often pastes the chart's header with it ("pt Mary Jones dob 3/3/44 - who signs the
ABN?"). Those words say nothing about what the sources must cover, yet as search words they pull the query away
from its topic and count as words no passage holds. The rule is read without them; whether the question asks for
that patient's own record (which no public source holds) is read on the full text by the scope signals.
"""

from __future__ import annotations

import re

from casepilot.codes import without_identifiers

# A capitalised name of one to three words, an initial only before a surname: "Mary Jones", "J. Whitfield", "Maria G Ortiz"
_CAP_NAME = r"(?:[A-Z][a-z'-]+|[A-Z]\.?(?=\s+[A-Z]))(?:\s+(?:[A-Z][a-z'-]+|[A-Z]\.?(?=\s+[A-Z]))){0,2}"
_TWO_WORD_NAME = r"(?:[A-Z][a-z'-]+|[A-Z]\.?)(?:\s+(?:[A-Z][a-z'-]+|[A-Z]\.?)){1,2}"
# the labels that follow a pasted name ("Tom Reyes acct 90023", "Alan Cho, dob 8/22/70")
_LABEL_AFTER = r"(?=\s*[,(]?\s*(?i:dob|d\.o\.b\.?|mrn|acct|account|med(?:ical)? rec|member id|mbi)\b)"
# a date of birth after a name of two words or more: "Leroy Watts 01/05/1970", "(Rita Blanco, 2/14/1950, acct 5520)"
_DATE_AFTER = r"(?=\s*,?\s*\d{1,2}/\d{1,2}/\d{2,4}\b)"
_NAME_PATTERNS = (
    # a chart header's "LAST, FIRST" in capitals before an identifier label (first: the
    # patterns below would take its initial alone): "pt TRAN, KEVIN DOB 10/10/1941",
    # "MRN 5520913, BROOKS, ALAN DOB 7/7/1952", "SMITH, DORIS F   DOB 02/11/1949"
    re.compile(r"\b([A-Z][A-Z'-]+,\s*[A-Z][A-Za-z'-]*(?:\s+[A-Z]\.?)?)" + _LABEL_AFTER),
    # after the word that introduces a patient: "pt Mary Jones", "patient: Angela Duran", "Mrs. Jones" (not "saw pt.
    # Under Medicare ...": a sentence after "pt." starts with a capital)
    re.compile(r"(?:\b(?:[Pp]t|PT|[Pp]atient):?|\b(?:[Mm]rs?|[Mm]s|[Mm]iss)\.?)\s+(" + _CAP_NAME + r")(?:'s)?\b"),
    # before an identifier label: "for Tom Reyes acct 90023", "Kevin Brandt, DOB 10/05/1988"
    re.compile(r"\b(" + _CAP_NAME + r")(?:'s)?" + _LABEL_AFTER),
    re.compile(r"\b(" + _TWO_WORD_NAME + r")(?:'s)?" + _DATE_AFTER),
)
# capitalised words that are no one's name: a payer, a program, a place in the hospital
_NOT_NAMES = frozenset("medicare medicaid part a b c d aetna cigna humana tricare bcbs uhc anthem er ed icu or dr "
                       "the this that my our her his new est established".split())


def without_patient_details(text: str) -> str:
    """``text`` with a pasted patient's name and labelled identifiers (DOB, MRN, account) blanked.

    >>> " ".join(without_patient_details("pt Mary Jones dob 3/3/44 - who signs the ABN?").split())
    'pt - who signs the ABN?'
    >>> " ".join(without_patient_details("POA for Tom Reyes acct 90023 - which indicator").split())
    'POA for - which indicator'
    >>> " ".join(without_patient_details("pt TRAN, KEVIN DOB 10/10/1941 - can i take the stage from the RN?").split())
    'pt - can i take the stage from the RN?'
    >>> " ".join(without_patient_details("pt fell in our ER before the admit order - POA Y or N?").split())
    'pt fell in our ER before the admit order - POA Y or N?'
    """
    def blank(m: re.Match) -> str:
        name = m.group(1)
        if {w.strip(".").lower() for w in name.split()} & _NOT_NAMES:
            return m.group(0)
        return m.group(0).replace(name, " " * len(name))
    for rx in _NAME_PATTERNS:
        text = rx.sub(blank, text)
    return without_identifiers(text)


# A question about what happened ("did ... get paid", "why was claim ... denied", "what was it recouping", "has
# medicare paid it yet"): asked beside a pasted patient's details, it asks for that patient's own record
_PAST_ASK = re.compile(
    r"(?:^|[.?!,;:(-]\s*|\b(?:and|but|so)\s+)(?:(?:why|how|what|when|where|which|who)(?:\s+[\w'.]+){0,2}\s+)?"
    r"(?:did|was|were|(?:has|have)(?:\s+\w+)?\s+(?:paid|denied|processed|posted|approved|been))\b", re.I)


# ... or about that patient's account or coverage now: a balance, a deductible left, eligibility, an authorization
_ACCOUNT_ASK = re.compile(
    r"\b(balance|owes?|owed|outstanding|remaining deductible|deductible (is )?(left|remaining|met)|eligible|"
    r"eligibility|active (on|coverage)|prior auth\w*|auth status|claim status)\b"
    # ... or what is wrong with that claim now ("denied CO-16 on the 93306 line. whats missing on it")
    r"|\bwhat(?:'?s| is| was)\s+(?:missing|wrong|left off)\s+(?:on|with|from|in)\s+(?:it|this|that|the\s+(?:claim|line|one|bill))\b",
    re.I)


def pastes_patient_details(text: str) -> bool:
    """Whether ``text`` carries a pasted patient's name or a labelled identifier (DOB, MRN, account)."""
    return " ".join(without_patient_details(text).split()) != " ".join(text.split())


def asks_for_the_patients_record(text: str) -> bool:
    """Whether ``text`` pastes a patient's details and asks what happened on that patient's claim or chart, or
    what stands on the account now (a balance, eligibility, an authorization).

    >>> asks_for_the_patients_record("claim# 88234001 for Maria Gonzalez DOB 04/12/1961 - did medicare pay it yet")
    True
    >>> asks_for_the_patients_record("whats the pt balance on acct 556201, she's on the phone")
    True
    >>> asks_for_the_patients_record("pt Mary Jones dob 3/3/44 - who signs the ABN, us or her?")
    False
    >>> asks_for_the_patients_record("why was the claim denied for modifier 25?")  # a rule question, no patient
    False
    >>> asks_for_the_patients_record("claim 2024-118834-07, Maria Gonzales DOB 03/14/1956, denied CO-16. whats missing on it")
    True
    """
    return bool(_PAST_ASK.search(text) or _ACCOUNT_ASK.search(text)) and pastes_patient_details(text)
