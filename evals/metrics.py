"""Answer-quality metrics as pure functions: per-item scores in, one number (or per-item list) out.

Every function that takes parallel lists rejects lists of unequal length (ValueError), and each one
names the definition it implements.

>>> round(mrr([["a", "b"], ["x", "y", "z"]], [{"b"}, {"q"}]), 3)
0.25
>>> code_accuracy([["E11.22", "N18.3"]], [["E1122"]])
{'top1': 1.0, 'any': 1.0}
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

_CITE = re.compile(r"\[(\d{1,3})\]")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of and or to in on at for by is are be as it its this that with from not no can may "
    "code codes".split()
)


def _same_length(*seqs: Sequence) -> None:
    lengths = {len(s) for s in seqs}
    if len(lengths) > 1:
        raise ValueError(f"inputs must have equal lengths, got {sorted(len(s) for s in seqs)}")


def _check_k(k: int) -> None:
    if k <= 0:
        raise ValueError(f"k must be > 0, but got {k}")


def norm_code(code: str) -> str:
    """Codes compare without dots, hyphens, spaces or case: ``e11.22`` == ``E1122``."""
    return re.sub(r"[\s.\-]", "", code or "").upper()


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


# -- retrieval ---------------------------------------------------------------------------------
def hit_at_k(retrieved: Sequence[Sequence[str]], relevant: Sequence[Iterable[str]], k: int) -> float | None:
    """Share of queries with at least one relevant id in the top ``k`` (hit rate / success@k).

    Queries without relevant ids are left out; None when none is left.

    >>> hit_at_k([["a", "b"], ["c"]], [{"b"}, {"d"}], k=2)
    0.5
    """
    _same_length(retrieved, relevant)
    _check_k(k)
    return _mean(
        (1.0 if set(r) & set(ids[:k]) else 0.0) if set(r) else None for ids, r in zip(retrieved, relevant)
    )


def reciprocal_rank(ids: Sequence[str], relevant: Iterable[str]) -> float:
    """1 / rank of the first relevant id, 0 when none is retrieved (Voorhees, TREC-8 QA track, 1999)."""
    rel = set(relevant)
    for i, x in enumerate(ids, 1):
        if x in rel:
            return 1.0 / i
    return 0.0


def mrr(retrieved: Sequence[Sequence[str]], relevant: Sequence[Iterable[str]]) -> float | None:
    """Mean reciprocal rank over queries that have relevant ids.

    >>> mrr([["x", "a"]], [{"a"}])
    0.5
    """
    _same_length(retrieved, relevant)
    return _mean(reciprocal_rank(ids, r) if set(r) else None for ids, r in zip(retrieved, relevant))


def ndcg_at_k(ids: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k (Järvelin & Kekäläinen 2002): DCG = sum rel_i / log2(i + 1).

    The ideal ranking puts min(|relevant|, k) relevant ids first.

    >>> round(ndcg_at_k(["x", "a"], {"a"}), 4)
    0.6309
    """
    _check_k(k)
    rel = set(relevant)
    if not rel:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, x in enumerate(ids[:k], 1):
        if x in rel and x not in seen:
            dcg += 1.0 / math.log2(i + 1)
        seen.add(x)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
    return dcg / ideal


def mean_ndcg(retrieved: Sequence[Sequence[str]], relevant: Sequence[Iterable[str]], k: int = 10) -> float | None:
    """Mean nDCG@k over queries that have relevant ids."""
    _same_length(retrieved, relevant)
    return _mean(ndcg_at_k(ids, r, k) if set(r) else None for ids, r in zip(retrieved, relevant))


# -- codes -------------------------------------------------------------------------------------
def code_match(predicted: Sequence[str], expected: Iterable[str]) -> dict[str, float]:
    """One item: ``top1`` = the first predicted code is expected; ``any`` = some expected code is predicted."""
    exp = {norm_code(c) for c in expected}
    pred = [norm_code(c) for c in predicted]
    return {"top1": float(bool(pred) and pred[0] in exp), "any": float(bool(exp & set(pred)))}


def code_accuracy(predicted: Sequence[Sequence[str]], expected: Sequence[Iterable[str]]) -> dict[str, float | None]:
    """Exact-match accuracy (top-1 and any) over items that expect codes; codes in answer order."""
    _same_length(predicted, expected)
    scores = [code_match(p, e) for p, e in zip(predicted, expected) if list(e)]
    return {"top1": _mean(s["top1"] for s in scores), "any": _mean(s["any"] for s in scores)}


def hallucinated_code_rate(codes: Sequence[Sequence[dict]]) -> float | None:
    """Unverified codes / all codes mentioned in answers (a code is verified when the code store has it).

    >>> hallucinated_code_rate([[{"code": "E11.9", "verified": True}, {"code": "E11.99", "verified": False}]])
    0.5
    """
    total = sum(len(c) for c in codes)
    if not total:
        return None
    return sum(1 for cs in codes for c in cs if not c.get("verified", False)) / total


# -- facts -------------------------------------------------------------------------------------
def normalize_text(text: str) -> str:
    """Lower case, citations and Markdown marks dropped, whitespace collapsed, curly quotes straightened."""
    text = _CITE.sub("", text or "").replace("**", "").replace("`", "")
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').replace("\u2013", "-")
    text = text.replace("\u2014", "-")
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.lower().split()))


def fact_recall(answer: str, facts: Sequence[Sequence[str]]) -> float | None:
    """Share of fact groups found in ``answer``; a group is found when any of its phrasings is a substring.

    >>> fact_recall("E11.22 is billable [1].", [["billable"], ["not billable", "heading"]])
    0.5
    """
    if not facts:
        return None
    text = normalize_text(answer)
    return sum(1 for group in facts if any(normalize_text(p) in text for p in group)) / len(facts)


def mean_fact_recall(answers: Sequence[str], facts: Sequence[Sequence[Sequence[str]]]) -> float | None:
    """Mean of per-item fact recall over items that have expected facts."""
    _same_length(answers, facts)
    return _mean(fact_recall(a, f) for a, f in zip(answers, facts))


# -- citations ---------------------------------------------------------------------------------
def citation_validity(answer: str, evidence_numbers: Iterable[int]) -> float | None:
    """Share of [n] markers that point at numbered evidence; None when the answer cites nothing.

    >>> citation_validity("A [1]. B [3].", {1, 2})
    0.5
    """
    cited = [int(n) for n in _CITE.findall(answer or "")]
    if not cited:
        return None
    valid = set(evidence_numbers)
    return sum(1 for n in cited if n in valid) / len(cited)


def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, its [n] numbers) for each sentence of ``answer`` that cites something."""
    out = []
    for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", answer or ""):
        nums = [int(n) for n in _CITE.findall(s)]
        if nums:
            out.append((_CITE.sub("", s).strip(), nums))
    return out


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalize_text(text)) if w not in _STOP and len(w) > 1}


def supports(sentence: str, passage: str, threshold: float = 0.5) -> bool:
    """A passage supports a sentence when it holds at least ``threshold`` of the sentence's content words.

    Token-recall support, as in the attribution checks of Rashkin et al. 2021 (AIS), without a model.

    >>> supports("E11.9 means type 2 diabetes", "E11.9 Type 2 diabetes mellitus without complications")
    True
    """
    words = _content_words(sentence)
    if not words:
        return True
    return len(words & _content_words(passage)) / len(words) >= threshold


def citation_support(answer: str, passages: dict[int, str], threshold: float = 0.5) -> float | None:
    """Share of cited sentences that at least one of their cited passages supports; None with no citations.

    >>> citation_support("Insulin use is Z79.4 [1]. The sky is green [1].", {1: "Z79.4 long term use of insulin"})
    0.5
    """
    sents = cited_sentences(answer)
    if not sents:
        return None
    ok = sum(1 for s, nums in sents if any(supports(s, passages.get(n, ""), threshold) for n in nums))
    return ok / len(sents)


# -- refusals ----------------------------------------------------------------------------------
def refusal_scores(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of refusing, with unanswerable items as the positive class.

    precision = refused unanswerable / all refused; recall = refused unanswerable / all unanswerable
    (None where the denominator is 0).

    >>> refusal_scores([True, True, False, False], [False, True, False, True])
    {'precision': 0.5, 'recall': 0.5}
    """
    _same_length(refused, answerable)
    tp = sum(1 for r, a in zip(refused, answerable) if r and not a)
    fp = sum(1 for r, a in zip(refused, answerable) if r and a)
    fn = sum(1 for r, a in zip(refused, answerable) if not r and not a)
    return {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
    }


# -- latency -----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (NumPy's default).

    >>> percentile([10, 20, 30, 40], 50)
    25.0
    """
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], but got {q}")
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def latency(values_ms: Sequence[float]) -> dict[str, float | None]:
    """p50 and p95 of per-item latencies in milliseconds."""
    return {"p50_ms": percentile(values_ms, 50), "p95_ms": percentile(values_ms, 95)}
