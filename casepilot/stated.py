"""The diagnosis a case narrative states: "... Final dx: atypical chest pain" -> "atypical chest pain".

A pasted case tells how the patient came, what was done and what happens next; the code is assigned to
what the provider concluded (ICD-10-CM guidelines, Section III and IV: code what is documented as the
diagnosis). When the whole story is too diffuse to match any code, the clause after a conclusion marker
("final dx:", "attending documents", "X-ray:") is the description to search. Pure functions.
"""

from __future__ import annotations

import re

# Markers of the provider's conclusion, strongest first: a labelled diagnosis, a provider who documents one,
# then a study's findings. Each is followed by the clause it introduces.
_MARKERS = (
    # "Final dx: ...", "discharge diagnosis - ...", "impression: ...", "final impression presyncope", "A/P: ..."
    re.compile(r"\b(?:final|discharge|working|principal|primary|admitting|clinical|post-?op|pre-?op)\s+"
               r"(?:dx|diagnos[ie]s|impression|assessment)\b(?:\s+(?:is|was|of))?\s*[:\-–=]?\s*"
               r"|\b(?:dx|diagnos[ie]s|impression|assessment|a/p|a&p|assessment and plan)\s*[:\-–=]\s*"
               # "... no end organ damage. Dx hypertensive urgency.": a sentence that opens with "Dx" and a condition
               r"|(?:^|(?<=[.;] ))dx\s+(?!(?:codes?|for|of|is|was|pls|plz|please|and|or|to|on|in|w|with)\b)", re.I),
    # "Attending documents ...", "neuro note: ...", "Provider: ...", "dr smith dx'd ...", "surgeon wrote ..."
    re.compile(r"\b(?:attending|provider|physician|doc|doctor|dr\.?(?:\s+[a-z]+)?|surgeon|hospitalist|intensivist|"
               r"neuro(?:logy|logist)?|cardiology|cardiologist|gi|pulm\w*|ortho|np|pa|md|derm\w*|oncology|oncologist|"
               r"nephrology|nephrologist|urology|urologist|ob)\s*(?:'s\s+)?(?:note|progress note|h&p|dc summary|"
               r"discharge summary)?\s*"
               r"(?::|\b(?:documents?|documented|dx'?d|diagnosed|diagnoses|writes|wrote|states|stated|says|said|"
               r"calls it|called it|confirms?|confirmed)\b(?:\s+(?:as|with|that|it|it as|pt with|the pt with))?\s*[:\-–]?)\s*",
               re.I),
    # "X-ray: closed displaced fracture ...", "CT abd: incarcerated umbilical hernia ...", "path: ..."
    re.compile(r"\b(?:x-?ray|xr|cxr|ct|cta|mri|us|ultrasound|echo|path(?:ology)?|bx|biopsy|cx|culture)"
               r"(?:\s+[a-z/]+){0,2}?\s*(?:(?:showed|shows|revealed|reveals|confirmed|confirms)\s*[:\-–]?|[:\-–])\s*",
               re.I),
)
# where the stated clause ends: a sentence end (a period, "?", "!", ";", a line break) or a dash; the period of an
# initial ("C. difficile", "E. coli") goes on
_CLAUSE_END = re.compile(r"(?<!\b[A-Za-z])\.(?=\s|$)|[?!;\n]|\s[-–—]\s")
# a clause that goes on from what came before ("neuro note: not intractable, no status", "says it is from ...")
# names no condition of its own; one that is uncertain ("r/o MI", "probable pneumonia") is not coded as a diagnosis
# in outpatient care (ICD-10-CM guidelines IV.H) and is left to the guidance
_NOT_STANDALONE = re.compile(r"^(?:is|was|are|were|it|its|it's|that|this|these|those|not|no|non|without|with|w/o?|and|but|"
                             r"or|which|who|as|code|codes|dx|what|how|pls|plz|please|nothing|r/o|rule out|ruled out|"
                             r"probable|probably|possible|possibly|likely|suspected|questionable|presumed|\?)\b", re.I)
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9'/.-]*")
# fewer words than this is a complete description already; nothing to pick out of it
MIN_NARRATIVE_WORDS = 12
# ... unless the diagnosis is labelled ("wet prep shows trichomonads. dx trichomonal vaginitis"): the label says
# which words are the conclusion however short the story before it
MIN_LABELLED_WORDS = 6


def stated_diagnosis(question: str) -> str | None:
    """The clause a case narrative gives as its diagnosis, or None (a short description, or no marker).

    >>> stated_diagnosis("Observation stay 22 hrs. CC chest tightness. Serial troponins neg x3, stress test "
    ...                  "negative. Final dx: atypical chest pain, ACS ruled out. No other dx established.")
    'atypical chest pain, ACS ruled out'
    >>> stated_diagnosis("Pt admitted w/ watery diarrhea x4 days, stool toxin positive. Attending documents C. "
    ...                  "difficile colitis, first episode, not recurrent. What ICD-10 code do I use?")
    'C. difficile colitis, first episode, not recurrent'
    >>> stated_diagnosis("pt w/ known seizure d/o brought in after a sz at home. neuro note: not intractable, "
    ...                  "no status. code pls") is None
    True
    >>> stated_diagnosis("discharge + itching, wet prep shows trichomonads. dx trichomonal vaginitis")
    'trichomonal vaginitis'
    """
    n = len(_WORDS.findall(question))
    if n < MIN_LABELLED_WORDS:
        return None
    for i, marker in enumerate(_MARKERS):
        if i and n < MIN_NARRATIVE_WORDS:
            break
        for m in marker.finditer(question):
            rest = question[m.end():]
            end = _CLAUSE_END.search(rest)
            clause = (rest[:end.start()] if end else rest).strip(" ,.:-–")
            # a conclusion ("presyncope") that is not the whole story again
            if 1 <= len(_WORDS.findall(clause)) <= MIN_NARRATIVE_WORDS and len(clause) >= 4 \
                    and not _NOT_STANDALONE.match(clause):
                return clause
    return None
