"""Fusing ranked lists: reciprocal-rank fusion and score-normalised weighted fusion (pure functions).

>>> rrf([["a", "b"], ["b", "c"]], k=60)[0][0]
'b'
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence


def rrf(rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion (Cormack et al., 2009): score(d) = sum_i w_i / (k + rank_i(d)), rank from 1."""
    if k <= 0:
        raise ValueError(f"k must be > 0, but got {k}")
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking is needed")
    scores: dict[str, float] = defaultdict(float)
    for w, ranking in zip(weights, rankings):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] += w / (k + rank)
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


def max_normalized(scored: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Scores divided by the list's best score: keeps how far behind the leader each hit is."""
    if not scored:
        return {}
    top = max(s for _, s in scored)
    if top <= 0:
        return {d: 0.0 for d, _ in scored}
    return {d: max(s, 0.0) / top for d, s in scored}


def weighted_fusion(
    lists: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float], normalize=max_normalized
) -> list[tuple[str, float]]:
    """Convex combination of per-list normalised scores; a document missing from a list scores 0 there."""
    if len(lists) != len(weights):
        raise ValueError("one weight per list is needed")
    scores: dict[str, float] = defaultdict(float)
    for w, scored in zip(weights, lists):
        for d, s in normalize(scored).items():
            scores[d] += w * s
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))
