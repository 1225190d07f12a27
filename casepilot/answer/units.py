"""Timed units from stated minutes: the CMS conversion for codes billed per 15 minutes (the "8-minute rule").

A question that states its minutes ("25 min ther ex + 13 min manual, how many units?") is answered by the rule's own
table, applied to the minutes it states. The sentence is said only beside a retrieved passage that states the
conversion (it is cited for it), so the arithmetic never stands without its source.
"""

from __future__ import annotations

import re

# the passage states the conversion ("8–22 minutes = 1 unit, 23–37 = 2, 38–52 = 3")
STATES_CONVERSION = re.compile(r"\b8\s*[–-]\s*22 minutes\s*=\s*1 unit\b.*\b23\s*[–-]\s*37\s*=\s*2\b", re.S)
_ASKS_UNITS = re.compile(r"\bhow many (?:timed )?units\b|\b(?:1|one) units? or (?:2|two)\b|\bunits? (?:total|do i bill|can i bill)\b",
                         re.I)
_MINUTES = re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:min|mins|minutes)\b", re.I)
# "total timed 38", "38 timed min total", "= 38 timed min", "38 min total timed"
_TOTAL = re.compile(r"\btotal(?: timed)?(?: time| minutes| mins?)?\s*(?:of\s*|=|:|is\s*|was\s*)?\s*(\d{1,3})\b"
                    r"|=\s*(\d{1,3})\s*(?:timed\s*)?(?:min|mins|minutes)\b"
                    r"|\b(\d{1,3})\s*(?:timed\s*)?(?:min|mins|minutes)\s*(?:of\s*)?(?:total|timed total|total timed)\b", re.I)


def units_for(minutes: int) -> int:
    """Units for a day's total timed minutes: 8-22 one, 23-37 two, 38-52 three, and so on by 15; under 8 none.

    >>> [units_for(m) for m in (7, 8, 22, 23, 37, 38, 52, 53)]
    [0, 1, 1, 2, 2, 3, 3, 4]
    """
    return 0 if minutes < 8 else (minutes + 7) // 15


def stated_total(question: str) -> int | None:
    """The total timed minutes a units question states: its stated total, else the sum of its stated minutes.

    >>> stated_total("25 min ther ex + 13 min manual, total timed 38. how many units")
    38
    >>> stated_total("pt got 97110 for 10 min and 97140 for 10 min. medicare - is that 1 unit or 2?")
    20
    >>> stated_total("how many units of 97110 can I bill"), stated_total("30 min visit, what level")
    (None, None)
    """
    if not _ASKS_UNITS.search(question):
        return None
    total = _TOTAL.search(question)
    if total:
        return int(next(g for g in total.groups() if g))
    minutes = [int(m) for m in _MINUTES.findall(question)]
    return sum(minutes) if minutes else None


def unit_sentence(question: str, passage: str) -> str | None:
    """The units the question's stated minutes come to, when ``passage`` states the conversion; None otherwise."""
    total = stated_total(question)
    if total is None or not STATES_CONVERSION.search(passage):
        return None
    units = units_for(total)
    if units == 0:
        return (f"Under the 8-minute rule, {total} total timed minutes are fewer than 8 and bill no unit of a timed "
                "code.")
    return f"Under the 8-minute rule, {total} total timed minutes bill {units} unit{'s' if units > 1 else ''} in all."
