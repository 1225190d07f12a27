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
    return request.app.state.limiter


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[ChatEngine, Depends(get_engine)]
StoreDep = Annotated[CodeStore, Depends(get_store)]
LimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_limiter)]
