"""Fit the answer / partial / decline model on the tuning split: ``python -m evals.calibrate``.

The label is "an answer would be right": every tuning item is answered with the decision switched
off, scored like the eval scores it, and labelled 1 when it is answerable and that forced answer is
correct, 0 otherwise (unanswerable, or answerable but the sources miss it: declining is right then).
A logistic regression over the decision features (casepilot/answer/decision.py) gives the calibrated
score; the decline threshold is the one that best separates the labels on the tuning items, and
"partial" is a band above it. Held-out items are never loaded here.

``--describe`` fits the description -> code model (``casepilot/data/describe_decision.json``): the label is "the
code stated first is the expected one", the features are the ranked codes' signals (``decision.describe_features``).
The decline threshold separates unanswerable questions from code-set questions; "answer" needs the labels'
precision above it to reach ``ANSWER_PRECISION``; between the two the code is given as the closest match, with a
notice.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from casepilot.answer import decision as dm

ALWAYS_ANSWER = {"bias": 50.0, "weights": {k: 0.0 for k in dm.FEATURES}, "thresholds": {"answer": 0.0, "partial": 0.0}}
# A description answered without a notice must be right this often on the tuning items (else: "closest match").
ANSWER_PRECISION = 0.95


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 4000, lr: float = 0.5) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by gradient descent (pure; features are in [0, 1])."""
    w = np.zeros(x.shape[1])
    b = 0.0
    n = len(y)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = p - y
        w -= lr * (x.T @ g / n + l2 * w / n)
        b -= lr * g.mean()
    return w, b


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The decline threshold with the highest accuracy on (score, label); ties go to the lower one."""
    cands = sorted(set(np.round(p, 4)) | {0.5})
    return float(max(cands, key=lambda t: (((p >= t) == (y == 1)).mean(), -t)))


def collect(settings, limit: int | None = None, describe: bool = False) -> list[dict]:
    """Features and labels of the tuning items, with the decision forced to "answer".

    ``describe``: the description -> code items and their describe features, plus every unanswerable item
    searched as a description (label 0: a question no code answers must not get one, whichever path it
    reaches the code search by); else every other item and the guidance features.
    """
    from evals.cli import build_systems
    from evals.datasets import load_items
    from evals.runner import HELDOUT_TAG, loaded_sources, score, skip_reason

    tuning = [i for i in load_items() if HELDOUT_TAG not in i.tags]
    items = [i for i in tuning if (i.intent == "description_to_code") == describe]
    items = items[:limit] if limit else items
    engine, _ = build_systems(settings, with_baseline=False)
    loaded = loaded_sources(settings)
    with tempfile.TemporaryDirectory() as tmp:
        forced = Path(tmp) / "always.json"
        forced.write_text(json.dumps(ALWAYS_ANSWER))
        saved = dm.MODEL_PATH, dm.DESCRIBE_PATH
        dm.MODEL_PATH = dm.DESCRIBE_PATH = forced
        try:
            rows = []
            for it in items:
                if skip_reason(it, loaded):
                    continue
                done = engine.answer(it.question, [t.model_dump() for t in it.history])
                feats = done.get("decision_features") or {}
                if not feats or ("ranker" in feats) != describe:
                    continue  # no relevance decision of this kind on this path (a code lookup, a table verdict)
                passages = {c["n"]: c.get("snippet", "") for c in done.get("citations", [])}
                ok = bool(score(it, done, passages).get("correct")) if it.answerable else False
                rows.append({"id": it.id, "answerable": it.answerable, "label": int(ok), "features": feats})
            if describe:
                rows += _unanswerable_as_descriptions(engine, [i for i in tuning if not i.answerable][:limit])
        finally:
            dm.MODEL_PATH, dm.DESCRIBE_PATH = saved
    return rows


def _unanswerable_as_descriptions(engine, items) -> list[dict]:
    """Describe features of unanswerable questions searched as ICD-10-CM descriptions, each labelled 0."""
    from casepilot.answer.grounded import confident, strip_question

    retriever = engine.retriever
    rows = []
    for it in items:
        query = retriever.spell(strip_question(it.question))
        hits = [h for h in retriever.search(query, ["icd10cm"], k=5) if "ranker" in h.signals]
        if hits:
            feats = dm.describe_features([h.signals for h in hits], confident(query, hits[0]))
            rows.append({"id": it.id, "answerable": False, "label": 0, "features": feats})
    return rows


def answer_threshold(p: np.ndarray, y: np.ndarray, floor: float, precision: float = ANSWER_PRECISION) -> float:
    """The lowest score at or above ``floor`` above which the labels are right at least ``precision`` of the time."""
    for t in sorted(set(np.round(p[p >= floor], 4))):
        above = p >= t
        if above.any() and y[above].mean() >= precision:
            return float(t)
    return 1.0


def calibrate_describe(rows: list[dict]) -> dict:
    """The description -> code model: logistic weights, the decline threshold and the answer threshold."""
    x = np.array([[r["features"].get(k, 0.0) for k in dm.DESCRIBE_FEATURES] for r in rows], dtype=float)
    y = np.array([r["label"] for r in rows], dtype=float)
    w, b = fit_logistic(x, y, l2=1.0)
    p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    # Decline only what no code answers (unanswerable questions); a code-set question whose first code may be
    # wrong is answered in part, as the closest match with a notice, and only a sure one as the match.
    t = best_threshold(p, np.array([float(r["answerable"]) for r in rows]))
    ta = answer_threshold(p, y, t)
    stated = p >= t
    unans = np.array([not r["answerable"] for r in rows])
    return {
        "note": "Fitted by python -m evals.calibrate --describe on the tuning split only (never the held-out split).",
        "fitted": date.today().isoformat(),
        "items": len(rows), "positives": int(y.sum()),
        "bias": round(float(b), 4),
        "weights": {k: round(float(v), 4) for k, v in zip(dm.DESCRIBE_FEATURES, w)},
        "thresholds": {"partial": round(t, 4), "answer": round(ta, 4)},
        "tuning": {
            "label_accuracy": round(float((stated == (y == 1)).mean()), 4),
            "stated_precision": round(float(y[stated].mean()), 4) if stated.any() else None,
            "answer_precision": round(float(y[p >= ta].mean()), 4) if (p >= ta).any() else None,
            "answered_share": round(float((p >= ta).mean()), 4),
            "partial_share": round(float(((p >= t) & (p < ta)).mean()), 4),
            "decline_recall_unanswerable": round(float((~stated & unans).sum() / unans.sum()), 4) if unans.any() else None,
            "decline_precision_unanswerable": round(float((~stated & unans).sum() / (~stated).sum()), 4)
            if (~stated).any() else None,
        },
    }


def calibrate(rows: list[dict]) -> dict:
    x = np.array([[r["features"].get(k, 0.0) for k in dm.FEATURES] for r in rows], dtype=float)
    y = np.array([r["label"] for r in rows], dtype=float)
    w, b = fit_logistic(x, y)
    p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    t = best_threshold(p, y)
    declined = p < t
    unans = np.array([not r["answerable"] for r in rows])
    tp = float((declined & unans).sum())
    return {
        "note": "Fitted by python -m evals.calibrate on the tuning split only (never the held-out split).",
        "fitted": date.today().isoformat(),
        "items": len(rows), "positives": int(y.sum()),
        "bias": round(float(b), 4),
        "weights": {k: round(float(v), 4) for k, v in zip(dm.FEATURES, w)},
        "thresholds": {"partial": round(t, 4), "answer": round(min(0.95, t + 0.15), 4)},
        "tuning": {
            "label_accuracy": round(float(((p >= t) == (y == 1)).mean()), 4),
            "decline_precision_unanswerable": round(tp / declined.sum(), 4) if declined.sum() else None,
            "decline_recall_unanswerable": round(tp / unans.sum(), 4) if unans.sum() else None,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--write", action="store_true", help=f"write {dm.MODEL_PATH}")
    ap.add_argument("--rows", type=Path, default=None, help="also save the labelled rows (JSONL)")
    ap.add_argument("--from-rows", type=Path, default=None, help="fit on rows saved earlier instead of collecting")
    ap.add_argument("--describe", action="store_true", help=f"fit the description -> code model ({dm.DESCRIBE_PATH.name})")
    args = ap.parse_args()
    from casepilot.settings import get_settings, prepare_offline_environment

    prepare_offline_environment()
    if args.from_rows:
        rows = [json.loads(line) for line in args.from_rows.read_text().splitlines() if line.strip()]
    else:
        rows = collect(get_settings(), args.limit, args.describe)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = calibrate_describe(rows) if args.describe else calibrate(rows)
    print(json.dumps(model, indent=2))
    if args.write:
        (dm.DESCRIBE_PATH if args.describe else dm.MODEL_PATH).write_text(json.dumps(model, indent=2) + "\n")


if __name__ == "__main__":
    main()
