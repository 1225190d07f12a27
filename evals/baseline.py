"""The naive RAG baseline every report compares against.

Same embedding model and the same Chroma collections, through LangChain's ``Chroma`` integration:
``similarity_search_with_score(question, k=4)`` on each collection, the 4 nearest overall kept (one
store split in collections, merged by distance). No router, no BM25, no query expansion, no
refusal threshold. The answer is the same grounded sentence extraction the engine uses
(``best_sentences``) with [n] citations, then the same verification of codes and citations.

Choice: each passage is handed to ``best_sentences`` with its title as the heading line, so the code
line of a code passage ("E11.22 Type 2 ...") is a candidate sentence, as it would be in an LLM prompt.
"""

from __future__ import annotations

import time

from langchain_core.documents import Document

from casepilot.answer.evidence import Evidence, best_sentences
from casepilot.codestore import CodeStore
from casepilot.embeddings import default_export_dir
from casepilot.settings import Settings
from casepilot.vectorstore import langchain_store, make_client
from casepilot.verify import verify_answer

K = 4


class NaiveRAG:
    """Dense top-k over every loaded collection, then extractive answer; the `done`-shaped dict out."""

    def __init__(self, settings: Settings, embeddings, store: CodeStore | None = None, k: int = K,
                 collections: list[str] | None = None):
        if k <= 0:
            raise ValueError(f"k must be > 0, but got {k}")
        from casepilot.passages import PassageStore

        self.k = k
        self.store = store or CodeStore(settings.codestore_path)
        client = make_client(settings)
        # a lexical-only collection (by default icd10pcs) has no vectors, hence no Chroma collection to query
        names = collections or [c for c, (_, n) in PassageStore(settings.data_dir / "passages.sqlite")
                                .revisions().items() if n and settings.embeds(c)]
        exports = default_export_dir(settings.data_dir)  # a collection is queried the way its vectors were made
        self.stores = {c: langchain_store(client, c, embeddings, exports) for c in sorted(names)}

    def retrieve(self, question: str) -> list[Document]:
        scored: list[tuple[float, str, Document]] = []
        # the question is embedded once per embedder, not once per collection (the same vector LangChain's
        # similarity_search_with_score would make): nine model calls a question were 70% of an eval run
        vectors: dict = {}
        for name, vs in self.stores.items():
            emb = vs.embeddings
            key = getattr(emb, "id", None) or id(emb)
            if key not in vectors:
                vectors[key] = emb.embed_query(question)
            for doc, dist in vs.similarity_search_by_vector_with_relevance_scores(vectors[key], k=self.k):
                scored.append((dist, doc.id or "", doc))
        scored.sort(key=lambda x: (x[0], x[1]))
        return [d for _, _, d in scored[: self.k]]

    def answer(self, message: str, history: list[dict] | None = None) -> dict:
        """``history`` is ignored: a naive RAG has no conversation state."""
        t0 = time.perf_counter()
        docs = self.retrieve(message)
        t1 = time.perf_counter()
        ev = Evidence()
        nums = [ev.cite(d) for d in docs]
        shown = [Document(page_content=f"{d.metadata.get('title', '')}\n{d.page_content}", id=d.id,
                          metadata=d.metadata) for d in docs]
        parts = []
        for di, sentence in best_sentences(message, shown, limit=5, per_doc=3):
            body = sentence.rstrip()
            end = body[-1] if body[-1:] in ".!?" else "."
            body = body[:-1] if body[-1:] in ".!?" else body
            parts.append(f"{body} [{nums[di]}]{end}")
        v = verify_answer(" ".join(parts), ev.numbers(), self.store)
        total = round((time.perf_counter() - t0) * 1000, 1)
        return {
            "answer": v.answer or "I could not answer this from the retrieved passages.",
            "citations": [c.to_dict() for c in ev.items],
            "codes": v.codes,
            "intent": "naive_rag",
            "answered": bool(parts),
            "notices": [],
            "searched": list(self.stores),
            "invalid_citations_removed": v.invalid_citations,
            "timings_ms": {"retrieve_ms": round((t1 - t0) * 1000, 1), "total_ms": total},
            "passages": {c.n: d.page_content for c, d in zip(ev.items, docs)},
        }
