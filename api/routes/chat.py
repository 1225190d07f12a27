"""``POST /v1/chat``: the engine's events as Server-Sent Events, or one JSON object with ``"stream": false``.

Over 300 lines on purpose: one route. Its slots, the step runner (``_Steps``), the stream and the JSON answer
share the cancellation and shutdown handling described below, and no other route uses them.

Time and capacity are bounded here:

- at most ``CASEPILOT_CHAT_MAX_STREAMS`` chats are open per process; one more gets 503 ``busy`` with
  ``Retry-After`` at once (code lookups and searches have their own pools and never wait for chats);
- the engine runs in worker threads one step at a time; a client that goes away (stream or JSON)
  stops the work: the model's stream is closed at its next chunk, a silent model within 0.2 s;
- on shutdown (SIGTERM) every open stream gets a terminal ``error`` event ``shutting_down``, and the
  work in flight is drained for at most ``CASEPILOT_SHUTDOWN_DRAIN_S`` (``api/shutdown.py``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, AsyncIterator, Callable

import anyio
from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse
from starlette.responses import JSONResponse

from api.deps import EngineDep, LimiterDep, SettingsDep, index_unavailable
from api.errors import ApiError
from api.schemas import SSE_DESCRIPTION, SSE_EXAMPLE, ChatRequest, ChatResponse, error_responses
from casepilot.answer.llm import LLMError
from casepilot.engine import ChatEngine
from casepilot.settings import Settings
from casepilot.vectorstore import VectorStoreUnavailable

router = APIRouter(prefix="/v1", tags=["chat"])
log = logging.getLogger("casepilot.api.chat")

_END = object()
_INTERRUPTED = object()
SHUTDOWN_MESSAGE = "The server is shutting down; ask again in a moment."
SHUTDOWN_RETRY_S = 2


class ChatSlots:
    """How many chats are open in this process; ``take`` fails past ``size`` (the caller answers 503)."""

    def __init__(self, size: int):
        self.size = size
        self.active = 0
        self._lock = threading.Lock()

    def take(self) -> Callable[[], None] | None:
        """A release function (idempotent), or None when every slot is taken."""
        with self._lock:
            if self.active >= self.size:
                return None
            self.active += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self.active -= 1

        return release


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
        return "index_unavailable", "Semantic search is unavailable: the vector store is not answering."
    return "internal_error", "Something went wrong while answering."


def _event(name: str, payload: dict) -> dict:
    return {"event": name, "data": json.dumps(payload, ensure_ascii=False)}


class _Steps:
    """The engine's generator, advanced one step at a time in worker threads.

    A step waiting on the model is not cancellable from the event loop, so a step is *abandoned* when the
    client goes away or the server shuts down: ``cancel`` tells the engine to stop (the model's stream
    ends within 0.2 s), and ``close`` waits, at most ``drain_s``, for the step in flight before closing
    the generator (which closes the model's stream). The generator is never touched by two threads.
    """

    def __init__(self, gen, cancel: threading.Event):
        self.gen = gen
        self.cancel = cancel
        self._running = threading.Lock()

    def _step(self):
        with self._running:
            return next(self.gen, _END)

    async def next(self, limiter: anyio.CapacityLimiter, interrupt=None):
        """The next ``(name, payload)``, ``_END``, or ``_INTERRUPTED`` when ``interrupt`` fires first."""
        if interrupt is None:
            return await anyio.to_thread.run_sync(self._step, limiter=limiter, abandon_on_cancel=True)
        if interrupt.is_set():
            return _INTERRUPTED
        box: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            async def work() -> None:
                try:
                    box["item"] = await anyio.to_thread.run_sync(self._step, limiter=limiter, abandon_on_cancel=True)
                except Exception as exc:  # handed to the caller below, outside the task group
                    box["error"] = exc
                tg.cancel_scope.cancel()

            async def watch() -> None:
                await interrupt.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(work)
            tg.start_soon(watch)
        if "error" in box:
            raise box["error"]
        return box.get("item", _INTERRUPTED)

    async def close(self, drain_s: float) -> bool:
        """Stop the engine and close its generator once the step in flight (if any) is over."""
        self.cancel.set()

        def close_when_idle() -> bool:
            if not self._running.acquire(timeout=drain_s):
                return False
            try:
                self.gen.close()
            finally:
                self._running.release()
            return True

        with anyio.CancelScope(shield=True):
            closed = await anyio.to_thread.run_sync(close_when_idle)
        if not closed:
            log.warning("chat work still running after the %.1f s drain: abandoned", drain_s)
        return closed


class _Either:
    """Set when any of its events is (each with ``is_set`` and ``wait``)."""

    def __init__(self, *events):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    async def wait(self) -> None:
        async with anyio.create_task_group() as tg:
            for e in self.events:
                async def one(e=e) -> None:
                    await e.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(one)


async def chat_events(engine: ChatEngine, req: ChatRequest, limiter: anyio.CapacityLimiter,
                      shutdown=None, drain_s: float = 5.0) -> AsyncIterator[dict]:
    """One generator per stream: the engine runs in worker threads, one event per hop.

    When the client goes away this generator is cancelled; ``finally`` stops the engine (``cancel``) and
    closes its generator (which closes the model's stream), shielded so the close always runs. When
    ``shutdown`` is set, the stream ends with an ``error`` event ``shutting_down``.
    """
    history = [t.model_dump() for t in req.history]
    cancel = threading.Event()
    steps = _Steps(engine.stream(req.message, history, req.conversation_id, cancel=cancel), cancel)
    t0 = time.perf_counter()
    cid = intent = answerer = None
    tokens = 0
    outcome = "cancelled"
    try:
        while True:
            try:
                item = _INTERRUPTED if shutdown is not None and shutdown.is_set() else \
                    await steps.next(limiter, shutdown)
            except Exception as exc:  # the engine failed: one generic error event ends the stream
                code, message = public_error(exc)
                outcome = code
                if code == "internal_error":
                    log.error("chat failed: %s", type(exc).__name__)
                payload = {"code": code, "message": message}
                if code == "index_unavailable":
                    payload["retry_after"] = int(index_unavailable(engine).headers["Retry-After"])
                yield _event("error", payload)
                return
            if item is _INTERRUPTED:
                outcome = "shutting_down"
                yield _event("error", {"code": "shutting_down", "message": SHUTDOWN_MESSAGE,
                                       "retry_after": SHUTDOWN_RETRY_S})
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
            if name == "done":  # the terminal event: nothing may follow it, not even a shutdown's error
                outcome = "ok"
                return
    finally:
        await steps.close(drain_s)
        log.info("chat stream conversation=%s intent=%s answerer=%s tokens=%d outcome=%s ms=%.0f",
                 cid, intent, answerer, tokens, outcome, (time.perf_counter() - t0) * 1000)


async def _client_gone(receive, flag: anyio.Event) -> None:
    """Set ``flag`` when the client disconnects (the body has been read: the next message is the disconnect)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            flag.set()
            return


async def answer_json(engine: ChatEngine, req: ChatRequest, limiter: anyio.CapacityLimiter, request: Request,
                      shutdown=None, drain_s: float = 5.0):
    """The ``"stream": false`` answer: the same steps, stopped when the client goes away.

    On shutdown the answer in flight gets ``drain_s`` to finish, then 503 ``shutting_down``.
    """
    history = [t.model_dump() for t in req.history]
    cancel = threading.Event()
    steps = _Steps(engine.stream(req.message, history, req.conversation_id, cancel=cancel), cancel)
    gone = anyio.Event()
    drained = anyio.Event()
    cid, done, item = None, {}, None
    failure: Exception | None = None
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_client_gone, request.receive, gone)
            if shutdown is not None:
                async def drain_then_stop() -> None:
                    await shutdown.wait()
                    await anyio.sleep(drain_s)
                    drained.set()

                tg.start_soon(drain_then_stop)
            interrupt = _Either(gone, drained)
            try:
                while True:
                    item = await steps.next(limiter, interrupt)
                    if item is _INTERRUPTED or item is _END:
                        break
                    name, payload = item
                    if name == "meta":
                        cid = payload["conversation_id"]
                    elif name == "done":
                        done = payload
            except Exception as exc:  # raised below, outside the task group (which would wrap it in a group)
                failure = exc
            tg.cancel_scope.cancel()
    finally:
        await steps.close(drain_s)
    if failure is not None:
        raise failure
    if item is _INTERRUPTED:
        if gone.is_set():
            log.info("chat json cancelled: the client went away")
            return JSONResponse({"error": {"code": "client_closed", "message": "The client went away."}},
                                status_code=499)
        raise ApiError(503, "shutting_down", SHUTDOWN_MESSAGE, headers={"Retry-After": str(SHUTDOWN_RETRY_S)},
                       retry_after=SHUTDOWN_RETRY_S)
    return {**done, "conversation_id": cid}


class _ChatStream(EventSourceResponse):
    """An event stream that gives its chat slot back however it ends."""

    def __init__(self, *args, on_close: Callable[[], None], **kwargs):
        super().__init__(*args, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


# One event of the stream (Open API 3.1 gives an event stream's `schema` per event; `: ping` comments are not events).
SSE_EVENT_SCHEMA = {
    "type": "object", "required": ["event", "data"],
    "properties": {"event": {"type": "string", "enum": ["meta", "citation", "token", "done", "error"]},
                   "data": {"type": "string", "contentMediaType": "application/json",
                            "description": "The event's JSON object (see above)."}},
}


def _busy(settings: Settings) -> ApiError:
    wait = settings.chat_retry_after_s
    return ApiError(503, "busy", f"Every chat slot of this server is taken; retry in {wait} s.",
                    headers={"Retry-After": str(wait)}, retry_after=wait)


@router.post(
    "/chat",
    summary="Ask a coding question (streamed)",
    response_model=ChatResponse,
    responses={
        200: {"description": "With `\"stream\": true` (the default): `text/event-stream`. " + SSE_DESCRIPTION
              + "\nWith `\"stream\": false`: one JSON object, the `done` payload plus `conversation_id`.",
              "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA, "example": SSE_EXAMPLE}}},
        **error_responses(403, 413, 422, 429, 502, 503, 504),
    },
)
async def chat(req: ChatRequest, request: Request, engine: EngineDep, settings: SettingsDep, limiter: LimiterDep):
    """Answer a coding question with citations; every code and every [n] is verified before `done`."""
    check_limits(req, settings)
    state = request.app.state
    shutdown = getattr(state, "shutdown", None)
    if shutdown is not None and shutdown.is_set():
        raise ApiError(503, "shutting_down", SHUTDOWN_MESSAGE, headers={"Retry-After": str(SHUTDOWN_RETRY_S)},
                       retry_after=SHUTDOWN_RETRY_S)
    retriever = engine.retriever
    breaker = getattr(retriever, "breaker", None)
    if not settings.chroma_fallback and getattr(retriever, "dense_live", False) and breaker is not None \
            and breaker.retry_after() > 0:
        raise index_unavailable(engine)  # dense retrieval is required and the vector store is down
    slots = getattr(state, "chat_slots", None)
    if slots is None:
        slots = state.chat_slots = ChatSlots(settings.chat_max_streams)
    release = slots.take()
    if release is None:
        raise _busy(settings)
    if req.stream:
        try:
            return _ChatStream(
                chat_events(engine, req, limiter, shutdown, settings.shutdown_drain_s),
                ping=settings.sse_ping_s,
                send_timeout=settings.sse_send_timeout_s,
                headers={"X-Accel-Buffering": "no", "Cache-Control": "no-cache"},
                # sse-starlette's own shutdown handling cancels a stream at once; give ours time to say why.
                shutdown_grace_period=max(1.0, settings.shutdown_drain_s),
                on_close=release,
            )
        except BaseException:
            release()
            raise
    try:
        done = await answer_json(engine, req, limiter, request, shutdown, settings.shutdown_drain_s)
    except ApiError:
        raise
    except Exception as exc:
        code, message = public_error(exc)
        status = {"llm_timeout": 504, "index_unavailable": 503, "internal_error": 500}.get(code, 502)
        if code == "internal_error":
            log.error("chat failed: %s", type(exc).__name__)
        if code == "index_unavailable":
            raise index_unavailable(engine) from None
        raise ApiError(status, code, message) from None
    finally:
        release()
    if isinstance(done, JSONResponse):
        return done
    log.info("chat json conversation=%s intent=%s answerer=%s", done.get("conversation_id"), done.get("intent"),
             done.get("answerer"))
    return done
