"""Ranking of code passages: a linear model over the retriever's signals, learned rather than hand-set.

Every candidate code passage of a search carries named features (BM25 and dense scores, exact title,
billable, how much of the question its title covers, attribute clashes such as another stage or
side). The score is the weighted sum. ``casepilot/data/ranker.json`` holds the learned weights and
how they were obtained (``python -m evals.train_ranker --write``: trained on pairs generated from the
official code set, regularisation chosen on the tuning questions, never on the held-out ones).
Without that file the hand-set weights below apply, so ranking never depends on a missing file.

>>> Ranker({"bm25": 0.5, "dense": 0.5}).score({"bm25": 1.0, "dense": 0.5, "unknown": 3.0})
0.75
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

RANKER_PATH = Path(__file__).resolve().parent / "data" / "ranker.json"

# Feature names, in the order the trainer writes them. Penalties are features with value 1 (or a count)
# whose learned weight is negative.
FEATURES = (
    "bm25", "dense", "exact_title", "billable", "q_cover", "t_cover",
    "unstated_detail", "number_mismatch", "stated_unspecified", "side_mismatch", "encounter_mismatch",
    "title_negates", "negation_penalty", "negation_agrees", "visit_reason",
)

# The weights tuned by hand before the ranker was learned (README: reworded items, seed 11).
HAND_WEIGHTS = {
    "bm25": 0.45, "dense": 0.55, "exact_title": 0.5, "billable": 0.04, "q_cover": 0.0, "t_cover": 0.0,
    "unstated_detail": -0.04, "number_mismatch": -0.15, "stated_unspecified": -0.15, "side_mismatch": -0.2,
    "encounter_mismatch": -0.2, "title_negates": -0.2, "negation_penalty": -0.25,
    "negation_agrees": 0.0, "visit_reason": 0.0,
}


@dataclass(frozen=True)
class Ranker:
    """A weight per feature; features it has no weight for count zero."""

    weights: dict[str, float]
    provenance: dict = field(default_factory=dict, compare=False)

    def score(self, features: dict[str, float]) -> float:
        return float(sum(w * features.get(name, 0.0) for name, w in self.weights.items()))


def normalized(weights: dict[str, float]) -> dict[str, float]:
    """Weights scaled so that BM25 and dense sum to 1, as the hand weights do: code scores then stay on
    the scale of guidance passages' fused scores when one search mixes both."""
    scale = weights.get("bm25", 0.0) + weights.get("dense", 0.0)
    if scale <= 0:
        raise ValueError("a ranker must give BM25 and dense a positive total weight")
    return {k: v / scale for k, v in weights.items()}


def read(path: Path) -> Ranker:
    data = json.loads(path.read_text())
    weights = {k: float(v) for k, v in data["weights"].items()}
    unknown = set(weights) - set(FEATURES)
    if unknown:
        raise ValueError(f"{path}: unknown features {sorted(unknown)}")
    return Ranker(normalized(weights), data.get("provenance", {}))


def write(ranker: Ranker, path: Path = RANKER_PATH) -> None:
    path.write_text(json.dumps({"weights": {k: round(ranker.weights.get(k, 0.0), 6) for k in FEATURES},
                                "provenance": ranker.provenance}, indent=2) + "\n")


@lru_cache(maxsize=1)
def default_ranker() -> Ranker:
    """The learned ranker when ``ranker.json`` exists, else the hand-set weights."""
    if RANKER_PATH.exists():
        return read(RANKER_PATH)
    return Ranker(dict(HAND_WEIGHTS), {"source": "hand-set weights"})
