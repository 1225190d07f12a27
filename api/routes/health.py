"""``GET /healthz`` (the process is alive) and ``GET /readyz`` (the index is loaded and reachable).

``/readyz`` is 200 as soon as exact lookups and lexical search answer (after ``casepilot ingest
--lexical-only``); ``full`` turns true once the dense vectors are built and in use, with the build's
progress in ``vectors``. ``ratelimit`` says where limits and quotas are counted now (``fallback`` while a
configured Redis does not answer); it never changes the status: limits fail open by design.
"""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version

import anyio
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from api.deps import SettingsDep
from api.ratelimit import readiness as ratelimit_readiness
from api.schemas import Health, Ready
from casepilot.retrieval import data_present
from casepilot.status import collect_status

router = APIRouter(tags=["health"])

try:
    VERSION = version("casepilot")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0"


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz():
    """Always 200 while the process serves requests."""
    return {"status": "ok", "version": VERSION}


@router.get("/readyz", response_model=Ready, summary="Readiness",
            responses={503: {"model": Ready, "description": "Not ready: `problems` and `error` say why."}})
async def readyz(request: Request, settings: SettingsDep):
    """200 when the index is present, the engine loaded and the vector store answers; else 503.

    200 comes before the dense vectors: ``stage`` says ``lexical`` (exact lookups, BM25 search and guidance
    answer) and ``vectors`` the build's progress; ``full`` is true once dense retrieval is live too.
    """
    engine = getattr(request.app.state, "engine", None)
    problems: list[str] = []
    # The data directory and the Chroma URL are for the operator (no Origin header: curl, a load
    # balancer, `casepilot status`), never for a page on another site.
    detail = request.headers.get("origin") is None
    retry_after = None
    info = await anyio.to_thread.run_sync(collect_status, settings)
    if not data_present(settings):
        problems.append(f"no index in {settings.data_dir}: run `casepilot ingest`" if detail
                        else "no index: run `casepilot ingest`")
    if engine is None:
        problems.append("the chat engine is not loaded")
    elif settings.chroma_url:
        # One bounded heartbeat (connect and read timeouts), skipped while the breaker is open; the thread
        # always returns, so a silent server costs no thread per request.
        check = getattr(engine.retriever, "check_dense", None)
        ok = await anyio.to_thread.run_sync(check) if check is not None else True
        if not ok:
            problems.append(f"the Chroma server at {settings.chroma_url} does not answer" if detail
                            else "the vector store does not answer")
            breaker = getattr(engine.retriever, "breaker", None)
            wait = breaker.retry_after() if breaker is not None else 0
            retry_after = str(wait or math.ceil(settings.chroma_breaker_reset_s))
    # Full readiness is what this server does, not only what is on disk: the vectors are complete and the
    # loaded engine uses them (it swaps to hybrid retrieval within seconds of the build finishing).
    dense_live = engine is not None and getattr(engine.retriever, "dense_live", True)
    full = bool(not problems and info.get("full") and dense_live)
    body = {
        "ready": not problems,
        "full": full,
        "stage": "full" if full else ("none" if engine is None or info.get("stage") == "none" else "lexical"),
        "answerer": info.get("answerer", ""),
        "code_sets": {s["name"]: s["version"] for s in info.get("sources", []) if s.get("version")},
        "sources": info.get("sources", []),
        "collections": info.get("collections", {}),
        "vectors": info.get("vectors"),
        "tables": info.get("tables", []),
        "ratelimit": ratelimit_readiness(request.scope, settings),  # reported, never a problem
        "problems": problems,
    }
    if problems:
        body["error"] = {"code": "not_ready", "message": "; ".join(problems)}
        return JSONResponse(body, status_code=503, headers={"Retry-After": retry_after} if retry_after else None)
    return body
