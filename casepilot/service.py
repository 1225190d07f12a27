"""What the command line and the HTTP API both do with an index, written once: a search with the exact matches of
the code-shaped words, and the chat model the settings configure."""

from __future__ import annotations

from dataclasses import dataclass

from casepilot.codestore import CodeStore
from casepilot.retrieval import SYSTEM_COLLECTIONS, Hit
from casepilot.router import resolve_mentions
from casepilot.settings import Settings


@dataclass
class SearchResult:
    exact: list[dict]  # {"system", "code", "title"} of each code the query names that exists
    hits: list[Hit]
    dense_skipped: bool  # the vector store did not answer: the hits are BM25's alone

    def to_dict(self) -> dict:
        return {"exact": self.exact, "hits": [h.to_dict() for h in self.hits]}


def search(store: CodeStore, retriever, query: str, system: str | None = None, k: int = 8) -> SearchResult:
    """Hybrid search (BM25 + dense, fused) over ``system``'s collections (all when None), with the codes the query
    names resolved exactly. ``system`` must be a key of SYSTEM_COLLECTIONS (callers validate it)."""
    collections = list(SYSTEM_COLLECTIONS[system]) if system else None
    skipped = getattr(retriever, "take_dense_skipped", lambda: False)
    skipped()  # forget a skip left by an earlier search on this retriever
    exact = [{"system": r.record.system, "code": r.record.display, "title": r.record.title}
             for r in resolve_mentions(query, store) if r.records]
    hits = retriever.search(query, collections, k=k)
    return SearchResult(exact, hits, skipped())


def chat_model(settings: Settings):
    """The LLM answerer ``CASEPILOT_LLM`` configures, or None for the offline grounded answerer. Raises
    ImportError when the build lacks the LLM extras."""
    if not settings.llm:
        return None
    from casepilot.answer.llm import LLMAnswerer

    return LLMAnswerer.from_settings(settings)
