"""Dominant or non-dominant side: the ICD-10-CM rule for hemiplegia, hemiparesis and monoplegia codes.

Codes such as I69.351 and G81.0- say "affecting right dominant side". The Official Guidelines (I.C.6.a)
decide dominance from the affected side and the patient's handedness: for an ambidextrous patient the
affected side is dominant; when handedness is not documented, a right side is dominant and a left side
non-dominant. A left-handed patient's left side is dominant and right side non-dominant (and vice versa).
"""

from __future__ import annotations

import re

# "left-handed", "R handed", "ambidextrous": the patient's handedness ("left hand" is an affected side).
_HANDED = re.compile(r"\b(right|left|rt|lt|r|l)[\s-]*hand(?:ed|edness)\b|\bambidextrous\b", re.I)
# "L hemiparesis": a lone L or R is a side too, but not the R of "r/o" or the L of "L4"
_SIDE = re.compile(r"\b(right|left|rt|lt|r|l)\b(?![/'.-])", re.I)


def handedness(text: str) -> str | None:
    """"left", "right" or "both" (ambidextrous) when the text documents handedness, else None.

    >>> handedness("pt is R handed"), handedness("left-handed"), handedness("ambidextrous"), handedness("left hand")
    ('right', 'left', 'both', None)
    """
    m = _HANDED.search(text)
    if m is None:
        return None
    if m.group(1) is None:
        return "both"  # ambidextrous
    return "left" if m.group(1).lower() in ("left", "lt", "l") else "right"


def without_handedness(text: str) -> str:
    """The text with its handedness removed, so that "left-handed" names no affected side."""
    return _HANDED.sub(" ", text)


def dominance_of(text: str) -> str | None:
    """"dominant" or "nondominant" for the side a text says is affected, by the guideline above; None when the
    text names no side (or both sides).

    >>> dominance_of("hemiplegia of the left side as a late effect of stroke; patient is left-handed")
    'dominant'
    >>> dominance_of("CVA sequela w/ lt hemiparesis, pt is R handed")
    'nondominant'
    >>> dominance_of("right hemiparesis after stroke"), dominance_of("left hemiparesis after stroke")
    ('dominant', 'nondominant')
    >>> dominance_of("L hemiparesis d/t old CVA, pt is R handed"), dominance_of("R hemiplegia, r/o bleed")
    ('nondominant', 'dominant')
    >>> dominance_of("left hemiplegia, ambidextrous"), dominance_of("hemiplegia")
    ('dominant', None)
    """
    hand = handedness(text)
    rest = without_handedness(text)
    sides = {("left" if m.group(1).lower() in ("left", "lt", "l") else "right") for m in _SIDE.finditer(rest)}
    if len(sides) != 1:
        return None
    side = sides.pop()
    if hand == "both":
        return "dominant"
    if hand is None:
        return "dominant" if side == "right" else "nondominant"
    return "dominant" if side == hand else "nondominant"


def title_dominance(title: str) -> str | None:
    """The dominance a code title states ("affecting left non-dominant side" -> "nondominant").

    >>> title_dominance("Hemiplegia and hemiparesis following cerebral infarction affecting left non-dominant side")
    'nondominant'
    """
    low = title.lower()
    if re.search(r"\bnon-?dominant\b", low):
        return "nondominant"
    if re.search(r"\bdominant side\b", low):
        return "dominant"
    return None
