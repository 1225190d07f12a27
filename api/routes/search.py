"""``GET /v1/search``: hybrid retrieval (BM25 + dense) with code-shaped tokens resolved exactly."""

from __future__ import annotations

from typing import Literal

import anyio
from fastapi import APIRouter, Query

from api.deps import EngineDep, LimiterDep, SettingsDep
from api.errors import ApiError
from api.schemas import SearchResponse, error_responses
from casepilot.retrieval import SYSTEM_COLLECTIONS
from casepilot.router import resolve_mentions
from casepilot.vectorstore import VectorStoreUnavailable

router = APIRouter(prefix="/v1", tags=["search"])

SearchSystem = Literal["icd10cm", "icd10pcs", "cpt", "hcpcs", "modifier", "corpus"]


@router.get("/search", response_model=SearchResponse, summary="Search codes and guidance",
            responses=error_responses(403, 422, 429, 503))
async def search(
    engine: EngineDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    q: str = Query(min_length=1, max_length=1000, description="A description or question.",
                   examples=["type 2 diabetes with ckd"]),
    system: SearchSystem | None = Query(None, description="Restrict to one code set or to the corpus."),
    k: int = Query(8, ge=1, le=50, description="How many hits."),
):
    """Ranked hits with fused scores and snippets; exact matches for code-shaped tokens come first."""
    collections = list(SYSTEM_COLLECTIONS[system]) if system else None

    def run():
        exact = [r for r in resolve_mentions(q, engine.store) if r.records]
        hits = engine.retriever.search(q, collections, k=k)
        return exact, hits

    try:
        exact, hits = await anyio.to_thread.run_sync(run, limiter=limiter)
    except VectorStoreUnavailable:
        raise ApiError(503, "index_unavailable", "The search index is not reachable right now.") from None
    return {
        "query": q, "system": system, "k": k,
        "exact": [{"system": r.record.system, "code": r.record.display, "title": r.record.title} for r in exact],
        "hits": [h.to_dict() for h in hits],
    }
