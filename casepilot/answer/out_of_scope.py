"""A learned out-of-scope score: how much a question reads like one no coding reference answers.

The scope patterns (``casepilot/data/scope.json``) name the cues a person spotted; a fresh writer's
questions carry cues nobody listed ("which sepsis code should I use so it looks right on the claim"). This
is a logistic regression over the question's word unigrams and bigrams and its words' character 3- to 5-grams
(two TF-IDF blocks, as scikit-learn's ``TfidfVectorizer`` computes them; the characters read typos and
shorthand, "pls" / "plz", as the words they stand for), fitted on the tuning split's answerable and unanswerable questions by
``python -m evals.train_out_of_scope`` and stored in ``casepilot/data/out_of_scope.json`` with its threshold
and its leave-one-source-out figures.

The stored model has two readings. The joint one adds the question's sentence vector (the bundled MiniLM, the
model retrieval embeds with) to the words: it tells "what does our contract say" from "what does the NCD say"
when no listed word does, and out of source it declines more at the same precision (the trainer prints both).
The lexical one (words only) is used when no vector is at hand: a caller without the embedder, or another
embedding model. Scoring is pure Python given the vector: no library, microseconds.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "out_of_scope.json"
# scikit-learn's token pattern, but words only: a code ("99213") or a date says nothing of intent
TOKEN = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z']+\b")
NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)


def terms(text: str, ngrams: tuple[int, int] = NGRAMS) -> list[str]:
    """The lower-cased word n-grams of ``text``, as ``TfidfVectorizer(ngram_range=ngrams)`` forms them.

    >>> terms("Can I bill it?")
    ['can', 'bill', 'it', 'can bill', 'bill it']
    """
    words = TOKEN.findall(text.lower())
    return [" ".join(words[i:i + n]) for n in range(ngrams[0], ngrams[1] + 1) for i in range(len(words) - n + 1)]


_SPACES = re.compile(r"\s\s+")


def char_terms(text: str, ngrams: tuple[int, int]) -> list[str]:
    """The character n-grams of each word padded with a space, as ``TfidfVectorizer(analyzer="char_wb")`` forms
    them: they read "pls", "plz" and "please", or "medicaid's" and "medicaid", as nearly the same.

    >>> char_terms("Hi", (3, 4))
    [' hi', 'hi ', ' hi ']
    """
    out = []
    for w in _SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(ngrams[0], ngrams[1] + 1):
            offset = 0
            out.append(w[offset:offset + n])
            while offset + n < len(w):
                offset += 1
                out.append(w[offset:offset + n])
            if offset == 0:  # a word shorter than n is counted once
                break
    return out


def _block(grams: list[str], vocab: dict, column: int) -> float:
    """One TF-IDF block's share of the logit: sublinear TF times IDF, L2-normalised, dotted with the weights."""
    counts = Counter(g for g in grams if g in vocab)
    values = {g: (1.0 + math.log(c)) * vocab[g][0] for g, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values()))
    return sum(v * vocab[g][column] for g, v in values.items()) / norm if norm else 0.0


def probability(question: str, model: dict, vector=None) -> float:
    """The model's probability that ``question`` is one to decline; pure given ``model`` (and ``vector``).

    Sublinear TF times IDF, L2-normalised over the terms the model knows, then the logistic: what
    ``TfidfVectorizer(sublinear_tf=True)`` and ``LogisticRegression.predict_proba`` compute; a model with a
    character block adds that block the same way, times its weight. With the
    question's sentence ``vector`` and a model that has the joint reading, the vector's scaled features join the
    words (the joint weights); otherwise the words alone (the lexical weights).
    """
    joint = _joint(model, vector)
    column = 2 if joint else 1
    z = (model["embedding"]["bias"] if joint else model["bias"]) + _block(
        terms(question, tuple(model["ngrams"])), model["terms"], column)
    if "chars" in model:
        chars = model["chars"]
        z += chars["weight"] * _block(char_terms(question, tuple(chars["ngrams"])), chars["terms"], column)
    if joint:
        emb = model["embedding"]
        z += emb["scale"] * sum(float(a) * b for a, b in zip(vector, emb["weights"]))
    return 1.0 / (1.0 + math.exp(-z))


def _joint(model: dict, vector) -> bool:
    """Whether ``vector`` is read: the model has the joint reading and the vector is one of its width."""
    return vector is not None and "embedding" in model and len(vector) == len(model["embedding"]["weights"])


def _reading(model: dict, vector) -> dict:
    """The thresholds of the reading ``probability`` uses for this ``vector``."""
    return model["embedding"] if _joint(model, vector) else model


def embedding_model(path: Path | None = None) -> str | None:
    """The embedding model whose question vectors the joint reading was fitted on ("bundled"); None: words only."""
    emb = load(path or MODEL_PATH).get("embedding")
    return emb["model"] if emb else None


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> dict:
    """The stored model, read once."""
    return json.loads(Path(path).read_text())


def declines(question: str, path: Path = MODEL_PATH, vector=None) -> float | None:
    """The score when it reaches the model's threshold (the question should be declined); None otherwise.

    ``vector``: the question's sentence vector from ``embedding_model()`` (None: the lexical reading)."""
    model = load(path)
    p = probability(question, model, vector)
    return p if p >= _reading(model, vector)["threshold"] else None


def surely_in_scope(question: str, path: Path = MODEL_PATH, vector=None) -> bool:
    """Whether ``question`` scores below the model's in-scope threshold: it reads like a coding question.

    The threshold is the highest at which at most 1% of the questions to decline score below it out of source
    (``evals.train_out_of_scope``); a model stored without one says nothing is sure."""
    model = load(path)
    below = _reading(model, vector).get("in_scope_below")
    return below is not None and probability(question, model, vector) < below
