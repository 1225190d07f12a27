"""Fit the learned out-of-scope score on the tuning split: ``python -m evals.train_out_of_scope``.

Every tuning question is an example: answerable ones are label 0, the ones to decline label 1. The model is
a logistic regression over TF-IDF word unigrams and bigrams and character 3- to 5-grams (``Vectoriser``;
``casepilot/answer/out_of_scope.py`` scores it
without scikit-learn). It is judged the way the held-out split judges CasePilot, by source: each dataset
file (one writer) is predicted by a model fitted on the others (leave one source out). The threshold is the
lowest at which the out-of-source declines are at least ``--precision`` precise, so it declines alone only where it
is rarely wrong; the regularisation is the strongest grid value whose recall there is within one standard error of
the best (``one_standard_error_choice``). A second, low threshold (``in_scope_below``) is the highest under which at
most ``IN_SCOPE_MISS`` of the out-of-source declines score: below it a question is surely a coding question, and weak
evidence answers it in part. The held-out split is never loaded.

Two readings are fitted and stored side by side, each with its own regularisation and thresholds: the words alone
(lexical), and the words plus the question's MiniLM sentence vector scaled by ``SCALE`` (joint, what the answerer
uses; the lexical one is its fallback when no vector is at hand). ``--words-only`` fits the lexical one alone.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from casepilot.answer import out_of_scope as oos

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
PRECISION = 0.98
# At most this share of the questions to decline may score below the in-scope threshold out of source
IN_SCOPE_MISS = 0.01
# The sentence vector's weight beside the TF-IDF words (both unit length). Measured out of source on 67 sources
# (C=10, recall at 0.98 precision): words alone 0.867, scale 0.5 0.917, scale 1.0 0.902; the vector alone 0.482.
SCALE = 0.5
EMBED_MODEL = "bundled"
# The character block's weight beside the words (both unit length). Measured out of source on 73 sources (joint
# reading, C=10, recall at 0.98 precision): words and vector 0.891; with characters at weight 0.35 0.893, 0.5 0.899,
# 0.7 0.912, 1.0 0.895; words alone 0.848, with characters at 0.7 0.867.
CHAR_WEIGHT = 0.7
CHAR_MIN_DF = 3


def tuning_examples() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Questions, labels (1 = decline) and source file of every tuning item, then the corpus's own questions
    (label 0, source "corpus"); held-out items never."""
    from evals.datasets import dataset_paths, load_file
    from evals.runner import HELDOUT_TAG

    questions, labels, sources = [], [], []
    for path in dataset_paths():
        for it in load_file(path):
            if HELDOUT_TAG in it.tags:
                continue
            questions.append(it.question)
            labels.append(0 if it.answerable else 1)
            sources.append(path.stem)
    if not questions:
        raise SystemExit("no tuning items found under evals/datasets")
    # what the corpus says it answers is in scope by construction, asked narrowly (its declared questions) and
    # broadly ("Guidelines for <title>", the front page's own example form)
    corpus = corpus_questions()
    questions += corpus
    labels += [0] * len(corpus)
    sources += ["corpus"] * len(corpus)
    return questions, np.array(labels), np.array(sources)


def corpus_questions(root: Path = CORPUS_DIR) -> list[str]:
    """Each corpus document's declared questions and a broad question on its title."""
    from ingest.corpus import read_corpus_file

    out = []
    for path in sorted(root.rglob("*.md")):
        if path.name == "README.md":
            continue
        f = read_corpus_file(path, root)
        out += [q.strip() for q in f.meta.get("questions") or []] + [f"Guidelines for {f.title}"]
    return out


class Vectoriser:
    """The two TF-IDF blocks the scorer reads: word uni- and bigrams, and the words' character n-grams (``char_wb``,
    what ``out_of_scope.char_terms`` forms), the second scaled by ``CHAR_WEIGHT``."""

    def __init__(self):
        self.words = TfidfVectorizer(ngram_range=oos.NGRAMS, min_df=2, sublinear_tf=True,
                                     token_pattern=oos.TOKEN.pattern)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=oos.CHAR_NGRAMS, min_df=CHAR_MIN_DF,
                                     sublinear_tf=True)

    def fit(self, questions: list[str]) -> Vectoriser:
        self.words.fit(questions)
        self.chars.fit(questions)
        return self

    def transform(self, questions: list[str]):
        return hstack([self.words.transform(questions), self.chars.transform(questions) * CHAR_WEIGHT]).tocsr()


def fit(questions: list[str], labels: np.ndarray, c: float, vectors: np.ndarray | None = None,
        vec: Vectoriser | None = None) -> tuple[Vectoriser, LogisticRegression]:
    """The vectoriser and classifier, fitted; the classes are balanced (declines are the rarer label). With
    ``vectors`` (one sentence vector per question) the classifier reads them beside the words (the joint reading).
    A ``vec`` already fitted on these questions is reused (it depends on the questions alone)."""
    vec = vec or Vectoriser().fit(questions)
    return vec, classifier(features(vec.transform(questions), vectors), labels, c)


def classifier(x, labels: np.ndarray, c: float) -> LogisticRegression:
    """The logistic regression on features ``x``, classes balanced (declines are the rarer label)."""
    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, labels)


def features(words, vectors: np.ndarray | None):
    """The classifier's input: the TF-IDF rows, then the scaled sentence vectors when there are any."""
    return words if vectors is None else hstack([words, csr_matrix(vectors * SCALE)]).tocsr()


def _one_source(questions: list[str], labels: np.ndarray, test: np.ndarray, cs: tuple[float, ...],
                vectors: np.ndarray | None) -> dict[float, np.ndarray]:
    """The held-out source's probabilities for each regularisation, the vectoriser fitted once for all of them."""
    train = np.where(~test)[0]
    train_questions = [questions[i] for i in train]
    vec = Vectoriser().fit(train_questions)
    x_train = features(vec.transform(train_questions), None if vectors is None else vectors[train])
    x = features(vec.transform([q for q, t in zip(questions, test) if t]), None if vectors is None else vectors[test])
    return {c: classifier(x_train, labels[train], c).predict_proba(x)[:, 1] for c in cs}


def out_of_source(questions: list[str], labels: np.ndarray, sources: np.ndarray, cs: tuple[float, ...],
                  vectors: np.ndarray | None = None) -> dict[float, np.ndarray]:
    """Each item's probability, for each regularisation in ``cs``, from a model fitted without its source file
    (sources fitted in parallel)."""
    held = [sources == s for s in sorted(set(sources))]
    parts = Parallel(n_jobs=-1)(delayed(_one_source)(questions, labels, test, cs, vectors) for test in held)
    out = {c: np.zeros(len(questions)) for c in cs}
    for test, part in zip(held, parts):
        for c in cs:
            out[c][test] = part[c]
    return out


def one_standard_error_choice(recalls: dict[float, float], positives: int) -> float:
    """The smallest C whose recall is within one standard error (binomial, over ``positives``) of the best; pure.

    >>> one_standard_error_choice({3.0: 0.876, 10.0: 0.895, 30.0: 0.897, 100.0: 0.897}, 1656)
    10.0
    >>> one_standard_error_choice({3.0: 0.80, 10.0: 0.90}, 1656)
    10.0
    """
    best = max(recalls.values())
    se = (best * (1 - best) / positives) ** 0.5
    return min(c for c, r in recalls.items() if r >= best - se)


def lowest_precise_threshold(p: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest threshold (0.50-0.99, by 0.01) whose flagged items are ``precision`` precise; pure.

    >>> lowest_precise_threshold(np.array([0.95, 0.9, 0.8, 0.6]), np.array([1, 1, 0, 1]), 0.99)
    0.81
    """
    for t in np.round(np.arange(0.50, 1.0, 0.01), 2):
        flagged = p >= t
        if flagged.any() and y[flagged].mean() >= precision:
            return float(t)
    return 0.99


def highest_in_scope_threshold(p: np.ndarray, y: np.ndarray, miss: float) -> float:
    """The highest threshold (0.01-0.50, by 0.01) below which at most ``miss`` of the declines score; pure.

    Below it a question is surely a coding question: weak evidence then answers in part instead of declining.

    >>> highest_in_scope_threshold(np.array([0.02, 0.3, 0.9, 0.95]), np.array([0, 0, 1, 1]), 0.0)
    0.5
    >>> highest_in_scope_threshold(np.array([0.02, 0.3, 0.1, 0.95]), np.array([0, 0, 1, 1]), 0.0)
    0.1
    """
    best = 0.0
    for t in np.round(np.arange(0.01, 0.501, 0.01), 2):
        if ((p < t) & (y == 1)).sum() <= miss * y.sum():
            best = float(t)
    return best


def export(vec: Vectoriser, clf: LogisticRegression, joint: LogisticRegression | None = None) -> dict:
    """The model as out_of_scope.probability reads it: term -> [idf, weight] (then the joint weight when there is a
    joint classifier, whose vector weights, bias and scale go under "embedding"), the bias, the n-gram range; the
    character block the same way under "chars", with its n-gram range and weight."""
    nw, nc = len(vec.words.vocabulary_), len(vec.chars.vocabulary_)
    weights = clf.coef_[0]
    both = joint.coef_[0] if joint is not None else None

    def rows(block: TfidfVectorizer, offset: int) -> dict:
        return {t: [round(float(block.idf_[i]), 4), round(float(weights[offset + i]), 4)]
                + ([round(float(both[offset + i]), 4)] if both is not None else [])
                for t, i in sorted(block.vocabulary_.items())}

    out = {"ngrams": list(oos.NGRAMS), "bias": round(float(clf.intercept_[0]), 4), "terms": rows(vec.words, 0),
           "chars": {"ngrams": list(oos.CHAR_NGRAMS), "weight": CHAR_WEIGHT, "terms": rows(vec.chars, nw)}}
    if joint is not None:
        out["embedding"] = {"model": EMBED_MODEL, "scale": SCALE, "bias": round(float(joint.intercept_[0]), 4),
                            "weights": [round(float(w), 4) for w in both[nw + nc:]]}
    return out


def question_vectors(questions: list[str]) -> np.ndarray:
    """The bundled MiniLM's sentence vector of every question (torch: the vectors the ONNX backend reproduces)."""
    from casepilot.embeddings import MiniLMEmbeddings

    print(f"embedding {len(questions)} questions with the {EMBED_MODEL} model ...", flush=True)
    return MiniLMEmbeddings(EMBED_MODEL).encode(questions)


def calibrate(questions: list[str], y: np.ndarray, sources: np.ndarray, precision: float, name: str,
              vectors: np.ndarray | None = None) -> dict:
    """One reading's regularisation, thresholds and out-of-source figures, printed.

    The regularisation is chosen by what the threshold is set for, out-of-source recall at the precision target,
    with the one-standard-error rule: the strongest regularisation whose recall is within one standard error of
    the best. The grid's AUCs differ in the fourth decimal, below their standard error (about 0.001 here), and its
    recalls by one or two items: taking the best by either swung the choice between C=10, 30 and 100 from one refit
    to the next on nearly the same data, and the thresholds with it (in-scope below 0.16, 0.13, then 0.05).
    """
    runs = {}
    for c, p in out_of_source(questions, y, sources, C_GRID, vectors).items():
        t = lowest_precise_threshold(p, y, precision)
        recall = float(((p >= t) & (y == 1)).sum() / y.sum())
        runs[c] = (roc_auc_score(y, p), p, recall, t)
        print(f"  {name} C={c:g}: out-of-source AUC {runs[c][0]:.4f}, recall {recall:.3f} at precision {precision}",
              flush=True)
    c = one_standard_error_choice({k: v[2] for k, v in runs.items()}, int(y.sum()))
    auc, p, _, t = runs[c]
    flagged = p >= t
    fp = int((flagged & (y == 0)).sum())
    recall = float((flagged & (y == 1)).sum() / y.sum())
    print(f"{name}: C={c:g}, threshold {t:.2f}: out-of-source precision {y[flagged].mean():.4f}, recall {recall:.3f}, "
          f"{fp} of {int((y == 0).sum())} answerable questions flagged")
    below = highest_in_scope_threshold(p, y, IN_SCOPE_MISS)
    in_scope = p < below
    print(f"{name}: in scope below {below:.2f}: out of source, {int((in_scope & (y == 1)).sum())} of {int(y.sum())} "
          f"declines and {int((in_scope & (y == 0)).sum())} of {int((y == 0).sum())} answerable questions score below it")
    return {"C": c, "threshold": t, "in_scope_below": below,
            "out_of_source": {"auc": round(auc, 4), "precision": round(float(y[flagged].mean()), 4),
                              "recall": round(recall, 4), "answerable_flagged": fp,
                              "declines_in_scope": int((in_scope & (y == 1)).sum()),
                              "answerable_in_scope": int((in_scope & (y == 0)).sum())}}


def above_the_corpus(model: dict, corpus: list[str], vectors=None) -> list[str]:
    """Raise each reading's decline threshold above what its fit scores the corpus's declared questions (in scope by
    construction: the corpus says it answers them); returns what was raised, to print.

    Out of source, the threshold keeps its precision; in sample, a question the corpus answers may still score above
    it (the joint C=30 fit put "can I change the dx so the test gets covered" at the lexical threshold).
    """
    raised = []
    readings = [("words", model, [None] * len(corpus))]
    if vectors is not None and "embedding" in model:
        readings.append(("words+vector", model["embedding"], list(vectors)))
    for name, reading, vecs in readings:
        top = max(oos.probability(q, model, v) for q, v in zip(corpus, vecs))
        if top >= reading["threshold"]:
            new = math.ceil((top + 0.005) * 100) / 100
            raised.append(f"{name}: threshold {reading['threshold']:.2f} -> {new:.2f} (a corpus question scores {top:.3f})")
            reading["threshold"] = new
    return raised


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", type=float, default=PRECISION, help="out-of-source precision the threshold keeps")
    ap.add_argument("--words-only", action="store_true", help="fit the lexical reading alone (no sentence vectors)")
    ap.add_argument("--out", type=Path, default=oos.MODEL_PATH)
    args = ap.parse_args(argv)

    questions, y, sources = tuning_examples()
    print(f"{len(questions)} questions ({int((sources == 'corpus').sum())} the corpus's own) from {len(set(sources))} "
          f"sources, {int(y.sum())} to decline")
    lexical = calibrate(questions, y, sources, args.precision, "words")
    vec, clf = fit(questions, y, lexical["C"])
    joint = joint_clf = None
    if not args.words_only:
        vectors = question_vectors(questions)
        joint = calibrate(questions, y, sources, args.precision, "words+vector", vectors)
        _, joint_clf = fit(questions, y, joint["C"], vectors, vec)
    exported = export(vec, clf, joint_clf)
    if joint is not None:
        exported["embedding"].update(joint)
    model = {
        "note": "Fitted by python -m evals.train_out_of_scope on the tuning split only (never the held-out split).",
        "fitted": date.today().isoformat(), "items": len(questions), "declines": int(y.sum()),
        "sources": len(set(sources)), **lexical, **exported,
    }
    corpus = sources == "corpus"
    for line in above_the_corpus(model, [q for q, c in zip(questions, corpus) if c],
                                 None if args.words_only else vectors[corpus]):
        print(line)
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({len(model['terms'])} terms{', joint reading' if joint else ''})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
