"""The conditions a description states, one clause each, and the ones a found code leaves unsaid: "dog bite L
forearm, lac w/o FB" states a laceration and how it happened; "chronic dry cough from lisinopril" a cough and the
drug's adverse effect. Each clause the first code does not cover is searched on its own. All pure.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from casepilot.answer.decision import content_words
from casepilot.text import POLARITY, stem, tokens

# Where a description moves on to another condition: a list, a link word, a cause.
_SPLIT = re.compile(r"[,;.]|\bw/|\b(?:and|with|plus|also|due to|d/t|from|secondary to|2/2|after|caused by|because|bc|b/c)\b"
                    r"|\+", re.I)
# Detail that belongs to any code of the first one's kind, not another condition: side, encounter, visit.
_DETAIL = frozenset("left right bilateral initial subsequent sequela encounter visit first pt patient".split())


def clauses(question: str) -> list[str]:
    """The parts of a description between its list marks and link words.

    >>> clauses("chronic dry cough from lisinopril, taken as prescribed")
    ['chronic dry cough', 'lisinopril', 'taken as prescribed']
    """
    return [c.strip() for c in _SPLIT.split(question) if c and c.strip()]


def unsaid_clauses(question: str, said: set[str]) -> list[str]:
    """The clauses whose content words none of ``said`` (the found codes' words and their stems) covers; a clause
    needs two such words, or one of four letters or more ("rash"), to be a condition of its own.

    >>> unsaid_clauses("chronic dry cough from lisinopril", {"adverse", "effect", "lisinopril", "angiotensin"})
    ['chronic dry cough']
    """
    out = []
    for c in clauses(question):
        if POLARITY & set(tokens(c, stop=False)):
            continue  # "no hypertension documented" states no condition
        words = [w for w in content_words(c) if w not in _DETAIL]
        if not words or any(w in said or stem(w) in said for w in words):
            continue
        if len(words) >= 2 or len(words[0]) >= 4:
            out.append(c)
    return out


def generic_code_first(text: str) -> str | None:
    """The instruction of a "Code first" note that names no code of its own ("underlying disease, such as:",
    ", for adverse effects, the nature of the adverse effect, such as:"): what the coder finds first elsewhere.

    >>> generic_code_first(", for adverse effects, the nature of the adverse effect, such as:\\nadverse effect NOS (T88.7)")
    'for adverse effects, the nature of the adverse effect'
    >>> generic_code_first("hypertensive chronic kidney disease (I12.-, I13.-)") is None
    True
    >>> generic_code_first("any associated:\\ndiabetic CKD (E11.22)") is None
    True
    """
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    # a lead-in to the conditions it lists ("any associated:") is no instruction of its own; examples are
    if "(" in first or (len(lines) > 1 and not re.search(r"such as:?\s*$", first)):
        return None
    phrase = re.sub(r",?\s*such as:?\s*$|:\s*$", "", first).strip(" ,")
    return phrase or None


@dataclass(frozen=True)
class SequencingRule:
    title: str  # the start of the titles it applies to
    first: str  # why another condition goes first, with {code} for the code and its title
    passage: str  # the corpus passage that says so


@lru_cache(maxsize=1)
def sequencing_rules() -> tuple[SequencingRule, ...]:
    """casepilot/data/sequencing.toml: codes never listed first beside another condition, with their source."""
    data = tomllib.loads(files("casepilot").joinpath("data/sequencing.toml").read_text(encoding="utf-8"))
    return tuple(SequencingRule(e["title"], e["first"], e["passage"]) for e in data["sequencing"].values())


def sequencing_rule(title: str) -> SequencingRule | None:
    """The rule for a code's title, if one applies ("Underdosing of beta-adrenoreceptor antagonists, ...").

    >>> sequencing_rule("Underdosing of beta-adrenoreceptor antagonists, initial encounter").title
    'Underdosing of'
    """
    return next((r for r in sequencing_rules() if title.startswith(r.title)), None)
