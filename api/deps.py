"""FastAPI dependencies: the long-lived resources the lifespan built, as annotated parameters."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request

from api.errors import ApiError
from casepilot.codestore import CodeStore
from casepilot.engine import ChatEngine
from casepilot.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> ChatEngine:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ApiError(503, "not_ready", "No index is loaded: run `casepilot ingest`, then restart the server.")
    return engine


def get_store(engine: Annotated[ChatEngine, Depends(get_engine)]) -> CodeStore:
    return engine.store


def get_limiter(request: Request) -> anyio.CapacityLimiter:
    """The chats' limiter (their engine work)."""
    return request.app.state.limiter


def _own_limiter(request: Request, name: str, size: int) -> anyio.CapacityLimiter:
    limiter = getattr(request.app.state, name, None)
    if limiter is None:  # an app built without it (create_app makes them): made once, here
        limiter = anyio.CapacityLimiter(size)
        setattr(request.app.state, name, limiter)
    return limiter


def get_lookup_limiter(request: Request) -> anyio.CapacityLimiter:
    """Code lookups and NCCI checks: their own pool, so chats (or a silent vector store) never starve them."""
    return _own_limiter(request, "lookup_limiter", request.app.state.settings.lookup_concurrency)


def get_search_limiter(request: Request) -> anyio.CapacityLimiter:
    """``/v1/search``: its own pool too, apart from the chats'."""
    return _own_limiter(request, "search_limiter", request.app.state.settings.chat_concurrency)


def index_unavailable(engine) -> ApiError:
    """503 ``index_unavailable`` with ``Retry-After``: when the vector store's breaker lets calls through again."""
    breaker = getattr(getattr(engine, "retriever", None), "breaker", None)
    wait = (breaker.retry_after() if breaker is not None else 0) or 5
    return ApiError(503, "index_unavailable", "Semantic search is unavailable: the vector store is not answering. "
                    f"Retry in {wait} s.", headers={"Retry-After": str(wait)}, retry_after=wait)


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[ChatEngine, Depends(get_engine)]
StoreDep = Annotated[CodeStore, Depends(get_store)]
LimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_limiter)]
LookupLimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_lookup_limiter)]
SearchLimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_search_limiter)]
