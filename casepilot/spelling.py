"""Typos and truncations in questions, repaired against the words the indexes hold.

Coders type fast: "pnuemonia", "unspec", "decub". A word no index knows matches nothing, and a
truncation matches only the rare passage that truncates it the same way. The speller works from the
indexes' own vocabulary and document frequencies, so it can only ever produce words that are in the
sources; it never replaces a word the sources already use often.

>>> s = Speller({"pneumonia": 900, "unspecified": 5000, "unspec": 2, "decubitus": 40, "stage": 800})
>>> s.fix("pnuemonia, organism unspec")
'pneumonia, organism unspec unspecified'
>>> s.fix("sacral decub stage 4")
'sacral decub decubitus stage 4'
>>> s.fix("Pt Jon Pnuemon has pnuemonia")
'Pt Jon Pnuemon has pneumonia'
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz import process

_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r"[.!?;:]\s*$")
MIN_PREFIX = 4  # "hemi" is the shortest stem worth completing; 3 letters name too many words
MIN_TYPO = 5  # shorter words are too close to other real words ("cigs" is one edit from "figs")
PREFIX_DOMINANCE = 20  # the completion must be this many times more frequent than the typed form
PREFIX_SHARE = 0.67  # ... and hold two thirds of all words that start with it (one clear reading)
MIN_DF = 10  # a correction must be a word the sources use, not a one-off
MIN_DF_COMPLETION = 5  # a completion too ("decub" -> "decubitus", used by 8 passages)


class Speller:
    """Completes truncated words and corrects unknown ones, choosing the most frequent known word."""

    def __init__(self, df: dict[str, int], keep: frozenset[str] | set[str] = frozenset()):
        self.df = {w: n for w, n in df.items() if w.isalpha()}
        self.keep = keep  # words never changed (stopwords: the indexes leave them out on purpose)
        # A question is spelled by the answerer and again by each search it runs: the same text, the
        # same result, so the (fuzzy-search) work is done once.
        self.fix = lru_cache(maxsize=1024)(self._fix)
        self.sorted = sorted(self.df)
        self._choices = list(self.df)

    def completion(self, word: str) -> str | None:
        """The word that ``word`` truncates ("unspec" -> "unspecified"), if one reading dominates."""
        if len(word) < MIN_PREFIX:
            return None
        lo = bisect.bisect_left(self.sorted, word)
        hi = bisect.bisect_left(self.sorted, word + "\uffff")
        longer = [w for w in self.sorted[lo:hi] if w != word]
        if not longer:
            return None
        best = max(longer, key=lambda w: (self.df[w], w))
        total = sum(self.df[w] for w in longer)
        dominant = self.df[best] > PREFIX_DOMINANCE * self.df.get(word, 0) and self.df[best] >= PREFIX_SHARE * total
        if dominant and self.df[best] >= MIN_DF_COMPLETION:
            return best
        return None

    def correction(self, word: str) -> str | None:
        """The known word one edit away (two for long words) from an unknown ``word``, most frequent first."""
        if len(word) < MIN_TYPO or word in self.df:
            return None
        limit = 2 if len(word) >= 8 else 1
        found = [f for f in process.extract(word, self._choices, scorer=DamerauLevenshtein.distance,
                                            score_cutoff=limit, limit=20) if self.df[f[0]] >= MIN_DF]
        if not found:
            return None
        return min(found, key=lambda f: (f[1], -self.df[f[0]], f[0]))[0]

    def _fix(self, text: str) -> str:
        """``text`` with unknown words corrected in place and truncated words followed by their completion."""
        def repl(m: re.Match) -> str:
            raw = m.group(0)
            word = raw.lower()
            if word in self.keep or (raw.istitle() and len(raw) > 1 and m.start() > 0
                                     and not _SENTENCE_END.search(text[:m.start()])):
                # a capitalised word inside a sentence is most likely a name ("John Smithers")
                return raw
            fixed = self.correction(word)
            if fixed:
                raw, word = fixed, fixed
            full = self.completion(word)
            if not full or text[m.end():].lower().startswith(" " + full):
                return raw  # idempotent: fix(fix(t)) == fix(t)
            return f"{raw} {full}"

        return _WORD.sub(repl, text)
