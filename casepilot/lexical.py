"""BM25 over one collection's passages (bm25s), saved beside Chroma and rebuilt only when it changes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import bm25s
import numpy as np

from casepilot.text import tokens

log = logging.getLogger(__name__)

# Bump when casepilot.text.tokens changes: indexes built by an older tokenizer are rebuilt at ingest.
TOKENIZER_VERSION = 2


class LexicalIndex:
    """BM25 scores for one collection; ``ids[i]`` is the passage id of document ``i``."""

    def __init__(self, bm25: bm25s.BM25, ids: list[str]):
        self.bm25 = bm25
        self.ids = ids
        self.vocab = bm25.vocab_dict if hasattr(bm25, "vocab_dict") else {}

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> "LexicalIndex":
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([tokens(t) or ["_empty_"] for t in texts], show_progress=False)
        return cls(bm25, ids)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.bm25.save(str(folder), show_progress=False)
        (folder / "ids.json").write_text(json.dumps(self.ids))
        (folder / "tokenizer.json").write_text(json.dumps({"version": TOKENIZER_VERSION}))

    @staticmethod
    def is_current(folder: Path) -> bool:
        """True when ``folder`` holds an index built by this tokenizer."""
        try:
            return json.loads((folder / "tokenizer.json").read_text())["version"] == TOKENIZER_VERSION
        except (OSError, ValueError, KeyError):
            return False

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex | None":
        if not (folder / "ids.json").exists():
            return None
        bm25 = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(bm25, json.loads((folder / "ids.json").read_text()))

    def document_frequencies(self) -> dict[str, int]:
        """word -> how many passages of this collection contain it."""
        indptr = self.bm25.scores.get("indptr") if isinstance(self.bm25.scores, dict) else None
        if indptr is None:
            return {}
        counts = np.diff(np.asarray(indptr))
        return {w: int(counts[i]) for w, i in self.vocab.items() if i < len(counts)}

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(id, BM25 score) of the best ``k`` passages for ``query``; words unknown to the index are dropped."""
        q = [t for t in dict.fromkeys(tokens(query)) if t in self.vocab]
        if not q or not self.ids:
            return []
        scores = self.bm25.get_scores(q)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
