"""``POST /v1/chat``: the engine's events as Server-Sent Events, or one JSON object with ``"stream": false``."""

from __future__ import annotations

import json
import logging
import time
from typing import AsyncIterator

import anyio
from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from api.deps import EngineDep, LimiterDep, SettingsDep
from api.errors import ApiError
from api.schemas import SSE_DESCRIPTION, SSE_EXAMPLE, ChatRequest, ChatResponse, error_responses
from casepilot.answer.llm import LLMError
from casepilot.engine import ChatEngine
from casepilot.settings import Settings
from casepilot.vectorstore import VectorStoreUnavailable

router = APIRouter(prefix="/v1", tags=["chat"])
log = logging.getLogger("casepilot.api.chat")

_END = object()


def check_limits(req: ChatRequest, settings: Settings) -> None:
    """422 naming the limit; the text itself is never echoed."""
    if len(req.message) > settings.max_message_chars:
        raise ApiError(422, "message_too_long", f"The message is longer than the limit of "
                       f"{settings.max_message_chars} characters.", limit=settings.max_message_chars)
    if len(req.history) > settings.max_history_turns:
        raise ApiError(422, "history_too_long", f"The history has more than the limit of "
                       f"{settings.max_history_turns} turns.", limit=settings.max_history_turns)
    if any(len(t.content) > settings.max_turn_chars for t in req.history):
        raise ApiError(422, "history_turn_too_long", f"A history turn is longer than the limit of "
                       f"{settings.max_turn_chars} characters.", limit=settings.max_turn_chars)


def public_error(exc: BaseException) -> tuple[str, str]:
    """(code, message) for the client: generic, with no stack trace and no question text."""
    if isinstance(exc, LLMError):
        return exc.code, exc.public_message
    if isinstance(exc, VectorStoreUnavailable):
        return "index_unavailable", "The search index is not reachable right now."
    return "internal_error", "Something went wrong while answering."


def _event(name: str, payload: dict) -> dict:
    return {"event": name, "data": json.dumps(payload, ensure_ascii=False)}


async def chat_events(engine: ChatEngine, req: ChatRequest, limiter: anyio.CapacityLimiter) -> AsyncIterator[dict]:
    """One generator per stream: the engine runs in worker threads, one event per hop.

    When the client goes away this generator is cancelled; ``finally`` closes the engine's generator
    (which closes the model's stream), shielded so the close always runs.
    """
    history = [t.model_dump() for t in req.history]
    gen = engine.stream(req.message, history, req.conversation_id)
    t0 = time.perf_counter()
    cid = intent = answerer = None
    tokens = 0
    outcome = "cancelled"
    try:
        while True:
            try:
                item = await anyio.to_thread.run_sync(next, gen, _END, limiter=limiter)
            except Exception as exc:  # the engine failed: one generic error event ends the stream
                code, message = public_error(exc)
                outcome = code
                if code == "internal_error":
                    log.error("chat failed: %s", type(exc).__name__)
                yield _event("error", {"code": code, "message": message})
                return
            if item is _END:
                outcome = "ok"
                return
            name, payload = item
            if name == "meta":
                cid, intent, answerer = payload.get("conversation_id"), payload.get("intent"), payload.get("answerer")
            elif name == "token":
                tokens += 1
            elif name == "done":
                answerer = payload.get("answerer") or answerer
            yield _event(name, payload)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(gen.close)
        log.info("chat stream conversation=%s intent=%s answerer=%s tokens=%d outcome=%s ms=%.0f",
                 cid, intent, answerer, tokens, outcome, (time.perf_counter() - t0) * 1000)


@router.post(
    "/chat",
    summary="Ask a coding question (streamed)",
    response_model=ChatResponse,
    responses={
        200: {"description": "With `\"stream\": true` (the default): `text/event-stream`. " + SSE_DESCRIPTION
              + "\nWith `\"stream\": false`: one JSON object, the `done` payload plus `conversation_id`.",
              "content": {"text/event-stream": {"schema": {"type": "string"}, "example": SSE_EXAMPLE}}},
        **error_responses(403, 413, 422, 429, 502, 503, 504),
    },
)
async def chat(req: ChatRequest, engine: EngineDep, settings: SettingsDep, limiter: LimiterDep):
    """Answer a coding question with citations; every code and every [n] is verified before `done`."""
    check_limits(req, settings)
    if req.stream:
        return EventSourceResponse(
            chat_events(engine, req, limiter),
            ping=settings.sse_ping_s,
            send_timeout=settings.sse_send_timeout_s,
            headers={"X-Accel-Buffering": "no", "Cache-Control": "no-cache"},
        )
    history = [t.model_dump() for t in req.history]
    try:
        done = await anyio.to_thread.run_sync(engine.answer, req.message, history, req.conversation_id,
                                              limiter=limiter)
    except Exception as exc:
        code, message = public_error(exc)
        status = {"llm_timeout": 504, "index_unavailable": 503, "internal_error": 500}.get(code, 502)
        if code == "internal_error":
            log.error("chat failed: %s", type(exc).__name__)
        raise ApiError(status, code, message) from None
    log.info("chat json conversation=%s intent=%s answerer=%s", done.get("conversation_id"), done.get("intent"),
             done.get("answerer"))
    return done
