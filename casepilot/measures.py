"""Measurements with a unit, read from a question and from the ranges code titles give for them: loss of
consciousness "of 1 hour to 5 hours 59 minutes" (S06), burns "involving 20-29% of body surface" (T31, T32), a
pediatric BMI "5th percentile to less than 85th percentile for age" (Z68.5-), birth weight "1000-1249 grams" (P05,
P07), a newborn's age "8 to 28 days old" (Z00.11-). A question that says "LOC 2 hrs" or "25% TBSA" states which range applies. All pure.
"""

from __future__ import annotations

import re

INF = float("inf")
_EPS = 1e-6  # "less than 85th" excludes 85 itself

# -- the question ------------------------------------------------------------------------------------------------
_Q_DURATION = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*(hrs?|hours?|mins?|minutes?)\b", re.I)
_Q_PERCENTILE = re.compile(r"(?<![\d.])(\d{1,2})(?:st|nd|rd|th)?\s*(?:percentile|%ile|pctl|centile)", re.I)
_Q_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)(?!\s*ile)", re.I)
_Q_AGE_DAYS = re.compile(r"(?<![\d.])(\d{1,2})[\s-]*(?:days?[\s-]*(?:old|of age)|d/o|do)\b", re.I)
_Q_GRAMS = re.compile(r"(?<![\d.])(\d{3,4})\s*(?:g|gm|gms|grams?)\b|(?<![\d.])(\d(?:\.\d+)?)\s*kg\b", re.I)


def question_measures(text: str) -> dict[str, set[float]]:
    """The measurements a question states, by unit: minutes, percent, percentile, grams, days old.

    >>> question_measures("traumatic SDH, LOC approx 2 hrs, init")
    {'minutes': {120.0}}
    >>> sorted(question_measures("burns 25% TBSA, 10% third degree")["percent"])
    [10.0, 25.0]
    >>> question_measures("peds BMI 70th percentile"), question_measures("preemie 1.1 kg")
    ({'percentile': {70.0}}, {'grams': {1100.0}})
    """
    out: dict[str, set[float]] = {}
    for m in _Q_DURATION.finditer(text):
        v = float(m.group(1))
        out.setdefault("minutes", set()).add(v * 60 if m.group(2).lower().startswith("h") else v)
    for m in _Q_PERCENTILE.finditer(text):
        out.setdefault("percentile", set()).add(float(m.group(1)))
    for m in _Q_PERCENT.finditer(text):
        out.setdefault("percent", set()).add(float(m.group(1)))
    for m in _Q_AGE_DAYS.finditer(text):
        out.setdefault("days old", set()).add(float(m.group(1)))
    for m in _Q_GRAMS.finditer(text):
        out.setdefault("grams", set()).add(float(m.group(1)) if m.group(1) else float(m.group(2)) * 1000)
    return out


# a stated age: "5 wk old", "2 day old", "7 y/o", "19 yo", "80yo F", "a 45-year-old", "6 mo old"
_Q_AGE_YOUNG = re.compile(r"(?<![\d.])\d{1,2}[\s-]*(?:d|days?|wks?|weeks?|mos?|months?)[\s-]*(?:old|of age)\b", re.I)
# (a bare "15 yrs" is as often how long as how old: "DM2 x15 yrs", "3 years ago")
_Q_AGE_YEARS = re.compile(r"(?<![\d.])(\d{1,3})[\s-]*(?:yo|y/o|y\.o\.?|yrs?[\s-]*old|years?[\s-]*old)(?![\w/])", re.I)


def age_group(text: str) -> set[str]:
    """"child" or "adult" for the patient's age the text states, in the words ICD-10-CM titles split families by
    (R62.51 "Failure to thrive (child)" vs R62.7 "Adult failure to thrive", T74.12- vs T74.11-, Q40.0 vs K31.1);
    empty when it states none or both. Under 18 years is a child.

    >>> age_group("5 wk old projectile vomiting"), age_group("80yo F senile osteoporosis"), age_group("7 y/o w/ asthma")
    ({'child'}, {'adult'}, {'child'})
    >>> age_group("DM2 x15 yrs, 3 years ago a stroke"), age_group("2 day old with jaundice")
    (set(), {'child'})
    """
    groups = {"child"} if _Q_AGE_YOUNG.search(text) else set()
    for m in _Q_AGE_YEARS.finditer(text):
        groups.add("child" if int(m.group(1)) < 18 else "adult")
    return groups if len(groups) == 1 else set()


# -- the titles --------------------------------------------------------------------------------------------------
_D = r"(\d+ (?:hours?|minutes?)(?: \d+ minutes?)?)"
_T_DURATION = (
    (re.compile(rf"\bof {_D} or less\b"), lambda a: (0.0, a)),
    (re.compile(rf"\bof {_D} to {_D}"), lambda a, b: (a, b)),
    (re.compile(rf"\bgreater than {_D}"), lambda a: (a + _EPS, INF)),
    (re.compile(rf"\b{_D} or more\b"), lambda a: (a, INF)),
)
_T_PERCENT = (
    (re.compile(r"(?<![\d.])(\d+)%?\s*(?:-|to)\s*(\d+)%(?! of the)"), lambda a, b: (a, b)),
    (re.compile(r"\bless than (\d+)%(?! of the)"), lambda a: (0.0, a - _EPS)),
    (re.compile(r"(?<![\d.])(\d+)% or more"), lambda a: (a, INF)),
    (re.compile(r"\bgreater than (\d+)%(?! of the)"), lambda a: (a + _EPS, INF)),
)
_T_PERCENTILE = (
    (re.compile(r"(\d+)(?:st|nd|rd|th) percentile(?: for age)? to less than (\d+)(?:st|nd|rd|th) percentile"),
     lambda a, b: (a, b - _EPS)),
    (re.compile(r"\bless than (\d+)(?:st|nd|rd|th) percentile"), lambda a: (0.0, a - _EPS)),
    # "95th percentile for age to less than 120% of the 95th percentile", "greater than or equal to 140% of the
    # 95th percentile": above the 95th, told apart by a percent of it that questions rarely give
    (re.compile(r"(\d+)(?:st|nd|rd|th) percentile for age to less than \d+% of the"), lambda a: (a, INF)),
    (re.compile(r"\d+% of the (\d+)(?:st|nd|rd|th) percentile"), lambda a: (a, INF)),
)
_T_AGE_DAYS = (
    (re.compile(r"\bunder (\d+) days old"), lambda a: (0.0, a - _EPS)),
    (re.compile(r"(\d+) to (\d+) days old"), lambda a, b: (a, b)),
)
_T_GRAMS = (
    (re.compile(r"(\d+)-(\d+) grams"), lambda a, b: (a, b)),
    (re.compile(r"\bless than (\d+) grams"), lambda a: (0.0, a - _EPS)),
    (re.compile(r"(\d+) grams and over"), lambda a: (a, INF)),
)


def _minutes(text: str) -> float:
    """ "1 hour" -> 60, "5 hours 59 minutes" -> 359."""
    total = 0.0
    for n, unit in re.findall(r"(\d+) (hour|minute)", text):
        total += float(n) * (60 if unit == "hour" else 1)
    return total


def title_ranges(title: str) -> dict[str, list[tuple[float, float]]]:
    """The ranges a code title states, by unit (as ``question_measures``).

    >>> title_ranges("Traumatic subdural hemorrhage with loss of consciousness of 1 hour to 5 hours 59 minutes")
    {'minutes': [(60.0, 359.0)]}
    >>> title_ranges("Burns involving 20-29% of body surface with 10-19% third degree burns")
    {'percent': [(20.0, 29.0), (10.0, 19.0)]}
    >>> title_ranges("Body mass index [BMI] pediatric, 5th percentile to less than 85th percentile for age")
    {'percentile': [(5.0, 84.999999)]}
    >>> title_ranges("Extremely low birth weight newborn, 500-749 grams")
    {'grams': [(500.0, 749.0)]}
    """
    t = title.lower()
    out: dict[str, list[tuple[float, float]]] = {}
    for unit, forms, read in (("minutes", _T_DURATION, _minutes), ("percent", _T_PERCENT, float),
                              ("percentile", _T_PERCENTILE, float), ("grams", _T_GRAMS, float),
                              ("days old", _T_AGE_DAYS, float)):
        rest = t
        for rx, make in forms:
            for m in rx.finditer(rest):
                out.setdefault(unit, []).append(make(*(read(g) for g in m.groups())))
            rest = rx.sub(" ", rest)  # a span read by one form is not read again by a looser one
    return out


def measure_mismatch(stated: dict[str, set[float]], ranges: dict[str, list[tuple[float, float]]]) -> bool | None:
    """Whether a title's ranges contradict the measurements a question states: a stated value in none of the
    title's ranges of its unit, or, when the question gives several values of a unit ("25% TBSA, 10% third
    degree"), a title range that holds none of them. None when they share no unit (nothing to compare).

    >>> measure_mismatch({"minutes": {120.0}}, {"minutes": [(60.0, 359.0)]})
    False
    >>> measure_mismatch({"percent": {25.0, 10.0}}, {"percent": [(20.0, 29.0), (0.0, 9.0)]})
    True
    >>> measure_mismatch({"percent": {25.0}}, {"grams": [(500.0, 749.0)]}) is None
    True
    """
    shared = stated.keys() & ranges.keys()
    if not shared:
        return None
    for unit in shared:
        values, spans = stated[unit], ranges[unit]
        if any(not any(lo <= v <= hi for lo, hi in spans) for v in values):
            return True
        if len(values) > 1 and any(not any(lo <= v <= hi for v in values) for lo, hi in spans):
            return True
    return False
