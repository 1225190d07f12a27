"""`casepilot serve` end to end, and CASEPILOT_LLM through a real OpenAI-compatible HTTP server on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.api.conftest import E11_22, api_settings, chat_stream, events_only, free_port, live_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.server
def test_casepilot_serve_runs_the_api_and_docs(slice_index):
    port = free_port()
    env = {**os.environ, "CASEPILOT_DATA_DIR": str(slice_index.data_dir)}
    cli = [sys.executable, "-c", "from casepilot.cli import app; app()"]
    proc = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "casepilot serve did not become ready"
            time.sleep(0.3)
        assert httpx.get(f"{base}/docs").status_code == 200
        assert "/v1/chat" in httpx.get(f"{base}/openapi.json").json()["paths"]
        _, events = chat_stream(base, {"message": E11_22})
        assert events_only(events)[-1][0] == "done"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _openai_compatible(text: str, fail: bool = False) -> Starlette:
    """A minimal OpenAI-style /v1/chat/completions that streams ``text`` word by word."""

    async def completions(request: Request):
        body = await request.json()
        if fail:
            return JSONResponse({"error": {"message": "overloaded", "type": "server_error"}}, status_code=500)
        assert body.get("stream") is True

        async def gen():
            words = text.split(" ")
            for i, w in enumerate(words):
                delta = {"content": (" " if i else "") + w}
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@pytest.mark.parametrize("fail", [False, True])
def test_llm_via_openai_compatible_base_url(slice_index, engine, fail):
    from api.app import create_app
    from casepilot.answer.llm import LLMAnswerer
    from casepilot.engine import ChatEngine

    text = "E11.22 is type 2 diabetes with diabetic CKD [1]. Code the CKD stage too [1]."
    with live_server(_openai_compatible(text, fail)) as llm_base:
        settings = api_settings(slice_index, llm="openai:fake-model", llm_base_url=f"{llm_base}/v1",
                                llm_timeout_s=10, llm_max_retries=0)
        eng = ChatEngine(settings, retriever=engine.retriever, llm=LLMAnswerer.from_settings(settings))
        with live_server(create_app(settings, engine=eng)) as base:
            _, events = chat_stream(base, {"message": E11_22})
    events = events_only(events)
    done = events[-1][1]
    assert events[-1][0] == "done"
    if fail:
        assert done["answerer"] == "grounded_fallback" and any("llm_failed" in n for n in done["notices"])
    else:
        assert done["answerer"] == "llm" and done["answer"] == text
        assert len([n for n, _ in events if n == "token"]) >= 10
