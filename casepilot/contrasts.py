"""Opposite branches of a code family ("new" vs "established", "first" vs "each additional"), as data.

A title that states only the side a question does not is about another code: retrieval lowers it. The
pairs live in casepilot/data/contrasts.toml, each with its reason and source.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib.resources import files


@lru_cache(maxsize=1)
def contrast_pairs() -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """The (one side, other side) word sets of casepilot/data/contrasts.toml."""
    data = tomllib.loads(files("casepilot").joinpath("data/contrasts.toml").read_text(encoding="utf-8"))
    return tuple((frozenset(e["one"]), frozenset(e["other"])) for e in data["contrasts"].values())


def contradicts(question: set[str], title: set[str]) -> bool:
    """Whether the title states only the other side of a pair the question states one side of (pure).

    >>> contradicts({"established", "patient", "visit"}, {"new", "patient", "office", "visit"})
    True
    >>> contradicts({"established", "patient"}, {"new", "established", "patient"})
    False
    >>> contradicts({"office", "visit"}, {"new", "patient", "office", "visit"})
    False
    """
    for one, other in contrast_pairs():
        for said, opposite in ((one, other), (other, one)):
            if question & said and not question & opposite and title & opposite and not title & said:
                return True
    return False


def leaves_open(question: set[str], title: set[str]) -> bool:
    """Whether the question states a side of some pair and the title states neither side (pure): "chronic
    hepatitis C" and B19.20 "Unspecified viral hepatitis C ...", which leaves acute or chronic open.

    >>> leaves_open({"chronic", "hepatitis"}, {"unspecified", "viral", "hepatitis"})
    True
    >>> leaves_open({"chronic", "hepatitis"}, {"chronic", "viral", "hepatitis"}), leaves_open({"hepatitis"}, {"viral"})
    (False, False)
    """
    return any(question & (one | other) and not title & (one | other) for one, other in contrast_pairs())
