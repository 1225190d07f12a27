"""``GET /v1/search``: hybrid retrieval (BM25 + dense) with code-shaped tokens resolved exactly."""

from __future__ import annotations

from typing import Literal

import anyio
from fastapi import APIRouter, Query

from api.deps import EngineDep, SearchLimiterDep, SettingsDep, index_unavailable
from api.schemas import SearchResponse, error_responses
from casepilot import service
from casepilot.retrieval import DENSE_DOWN_NOTICE
from casepilot.vectorstore import VectorStoreUnavailable

router = APIRouter(prefix="/v1", tags=["search"])

SearchSystem = Literal["icd10cm", "icd10pcs", "cpt", "hcpcs", "modifier", "corpus"]


@router.get("/search", response_model=SearchResponse, summary="Search codes and guidance",
            responses=error_responses(403, 422, 429, 503))
async def search(
    engine: EngineDep,
    settings: SettingsDep,
    limiter: SearchLimiterDep,
    q: str = Query(min_length=1, max_length=1000, description="A description or question.",
                   examples=["type 2 diabetes with ckd"]),
    system: SearchSystem | None = Query(None, description="Restrict to one code set or to the corpus."),
    k: int = Query(8, ge=1, le=50, description="How many hits."),
):
    """Ranked hits with fused scores and snippets; exact matches for code-shaped tokens come first.

    While the vector store does not answer, the hits come from BM25 alone and `notices` says so
    (`CASEPILOT_CHROMA_FALLBACK=false`: 503 with Retry-After instead)."""
    try:
        found = await anyio.to_thread.run_sync(
            lambda: service.search(engine.store, engine.retriever, q, system, k), limiter=limiter)
    except VectorStoreUnavailable:
        raise index_unavailable(engine) from None
    return {
        "query": q, "system": system, "k": k, **found.to_dict(),
        "dense": bool(getattr(engine.retriever, "dense_live", True)) and not found.dense_skipped,
        "notices": [DENSE_DOWN_NOTICE] if found.dense_skipped else [],
    }
