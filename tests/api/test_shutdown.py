"""SIGTERM with streams open (issue 13, finding 7; RELIABILITY row 19), against a live `casepilot serve`.

The model is a slow OpenAI-compatible server on loopback (in this test process), so the streams are
mid-answer when the signal comes. Every open stream must end with an ``error`` event ``shutting_down``,
the process must exit within its grace period, and feedback acknowledged before must be on disk.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from api import feedback_store
from tests.api.conftest import E11_22, live_server, parse_sse, start_casepilot_serve

pytestmark = [pytest.mark.slow, pytest.mark.server]


def _slow_model(words: int = 400, gap_s: float = 0.25) -> Starlette:
    """/v1/chat/completions streaming one word every ``gap_s`` seconds (minutes in all)."""

    async def completions(request: Request):
        body = await request.json()

        async def gen():
            for i in range(words):
                delta = {"content": ("" if i == 0 else " ") + ("E11.22 is diabetes with CKD [1]." if i % 5 == 0 else "and")}
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
                await asyncio.sleep(gap_s)
            yield "data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def _data_dir_view(src: Path, dst: Path) -> Path:
    """A data directory whose index entries are links to the session's index (feedback lands in ``dst``)."""
    dst.mkdir()
    for entry in src.iterdir():
        if not entry.name.startswith("feedback."):
            (dst / entry.name).symlink_to(entry)
    return dst


def test_sigterm_ends_every_open_stream_with_shutting_down_and_flushes_feedback(slice_index, tmp_path):
    data = _data_dir_view(slice_index.data_dir, tmp_path / "data")
    with live_server(_slow_model()) as llm_base:
        proc, base = start_casepilot_serve({
            "CASEPILOT_DATA_DIR": str(data), "CASEPILOT_LLM": "openai:fake-model",
            "CASEPILOT_LLM_BASE_URL": f"{llm_base}/v1", "CASEPILOT_LLM_MAX_RETRIES": "0",
            "CASEPILOT_SHUTDOWN_DRAIN_S": "3"})
        try:
            streams: list[list] = [[] for _ in range(3)]
            ended: list[float | None] = [None] * 3
            answering = threading.Barrier(4)

            def read(i: int) -> None:
                try:
                    with httpx.Client(base_url=base, timeout=60) as c:
                        with c.stream("POST", "/v1/chat", json={"message": E11_22}) as r:
                            for name, data_ in parse_sse(r.iter_lines()):
                                if name == "comment":
                                    continue
                                streams[i].append((name, data_))
                                if name == "token" and [n for n, _ in streams[i]].count("token") == 1:
                                    answering.wait(60)
                except httpx.HTTPError as e:
                    streams[i].append(("transport_error", type(e).__name__))
                ended[i] = time.monotonic()

            readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(3)]
            for t in readers:
                t.start()
            answering.wait(60)  # every stream is mid-answer
            fb = httpx.post(f"{base}/v1/feedback", json={"conversation_id": "shutdown-test", "rating": "up"}, timeout=10)
            assert fb.status_code == 201

            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            for t in readers:
                t.join(20)
            proc.wait(20)
            exited = time.monotonic()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            if proc.stdout:
                proc.stdout.close()
    for events, end in zip(streams, ended):
        assert events and events[-1] == ("error", {"code": "shutting_down", "message": (
            "The server is shutting down; ask again in a moment."), "retry_after": 2}), (events[-3:], output[-2000:])
        assert [n for n, _ in events].count("token") >= 1 and "done" not in [n for n, _ in events]
        assert end is not None and end - sent < 5  # told at once, not when the grace period ran out
    assert exited - sent < 12  # uvicorn's grace is 10 s; the streams ended well before it
    rows = feedback_store.rows(data)
    assert [r["conversation_id"] for r in rows] == ["shutdown-test"]


def test_a_shutdown_after_done_adds_no_error_event():
    """``done`` is terminal: a SIGTERM that lands as the engine sends ``done`` must not append
    ``error: shutting_down`` after it (seen in benchmarks/load_faults.py: a widget would show an error
    under a complete answer)."""
    import anyio

    from api.routes.chat import chat_events
    from api.schemas import ChatRequest

    class LateShutdown:
        """Set while the engine makes ``done``; never wakes a waiter (so the step is not interrupted)."""
        flag = False

        def is_set(self) -> bool:
            return self.flag

        async def wait(self) -> None:
            await anyio.sleep_forever()

    shutdown = LateShutdown()

    class Engine:
        def stream(self, message, history, conversation_id, cancel=None):
            yield "meta", {"conversation_id": "c1", "intent": "code_lookup"}
            shutdown.flag = True
            yield "done", {"answer": "E11.22 [1]", "answerer": "grounded"}

    async def collect():
        return [e async for e in chat_events(Engine(), ChatRequest(message=E11_22), anyio.CapacityLimiter(2),
                                             shutdown, drain_s=1.0)]

    events = anyio.run(collect)
    assert [e["event"] for e in events] == ["meta", "done"]
