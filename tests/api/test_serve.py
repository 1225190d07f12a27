"""`casepilot serve` end to end, and CASEPILOT_LLM through a real OpenAI-compatible HTTP server on loopback."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.api.conftest import (E11_22, api_settings, chat_stream, events_only, live_server, start_casepilot_serve,
                                stop_process)

pytestmark = pytest.mark.slow


@contextmanager
def _casepilot_serve(data_dir: Path, **env: str) -> Iterator[str]:
    """Run `casepilot serve` in a subprocess on a free loopback port until /readyz says 200; yields the base URL.

    ``env`` adds/overrides ``CASEPILOT_*`` variables; uvicorn's own FORWARDED_ALLOW_IPS is removed so only
    our setting decides which proxies are trusted.
    """
    proc, base = start_casepilot_serve({"CASEPILOT_DATA_DIR": str(data_dir), **env})
    try:
        yield base
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.server
def test_casepilot_serve_runs_the_api_and_docs(slice_index):
    with _casepilot_serve(slice_index.data_dir) as base:
        assert httpx.get(f"{base}/docs").status_code == 200
        assert "/v1/chat" in httpx.get(f"{base}/openapi.json").json()["paths"]
        _, events = chat_stream(base, {"message": E11_22})
        assert events_only(events)[-1][0] == "done"


# -- forwarded headers and the rate limit ------------------------------------------------------


def _codes(base: str, forwarded_for: list[str | None], source: str = "127.0.0.1") -> list[int]:
    """One GET /v1/codes/E11.22 per entry, from loopback address ``source``, each with that X-Forwarded-For."""
    out = []
    with httpx.Client(base_url=base, timeout=30, transport=httpx.HTTPTransport(local_address=source)) as c:
        for xff in forwarded_for:
            out.append(c.get("/v1/codes/E11.22", headers={"X-Forwarded-For": xff} if xff else {}).status_code)
    return out


@pytest.mark.server
def test_serve_ignores_forwarded_for_without_trusted_proxies(slice_index):
    """Spoofed X-Forwarded-For values all land in the socket peer's one bucket (uvicorn's default trusted it)."""
    with _casepilot_serve(slice_index.data_dir, CASEPILOT_RATE_LIMIT_PER_MINUTE="3") as base:
        spoofed = _codes(base, [f"203.0.113.{i}" for i in range(1, 6)])
        other_peer = _codes(base, [None], source="127.0.0.2")
    assert spoofed == [200, 200, 200, 429, 429]
    assert other_peer == [200]  # the limit is per real client address


@pytest.mark.server
def test_serve_uses_forwarded_for_only_from_trusted_proxies(slice_index):
    env = {"CASEPILOT_RATE_LIMIT_PER_MINUTE": "3", "CASEPILOT_TRUSTED_PROXIES": "127.0.0.1,127.0.0.4/30"}
    with _casepilot_serve(slice_index.data_dir, **env) as base:
        # a trusted proxy (an address, and one inside a trusted network): each forwarded client its own bucket
        via_proxy = _codes(base, [f"198.51.100.{i}" for i in range(1, 6)])
        via_network = _codes(base, [f"198.51.100.{i}" for i in range(11, 16)], source="127.0.0.5")
        # ... and a forwarded client is still limited on its own
        one_client = _codes(base, ["198.51.100.99"] * 4)
        # a peer that is not a trusted proxy: its header is ignored, it is one client
        untrusted = _codes(base, [f"203.0.113.{i}" for i in range(1, 6)], source="127.0.0.2")
    assert via_proxy == [200] * 5
    assert via_network == [200] * 5
    assert one_client == [200, 200, 200, 429]
    assert untrusted == [200, 200, 200, 429, 429]


def test_serve_passes_only_the_trusted_proxies_to_uvicorn(slice_index, monkeypatch):
    """proxy_headers is on only with CASEPILOT_TRUSTED_PROXIES set, and trusts exactly those entries."""
    import uvicorn
    from typer.testing import CliRunner

    from casepilot import cli
    from casepilot.settings import get_settings

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    monkeypatch.setenv("CASEPILOT_DATA_DIR", str(slice_index.data_dir))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable must not matter
    runner = CliRunner()
    try:
        for value in (None, "10.0.0.0/8, 127.0.0.1", "not-an-ip"):
            if value is None:
                monkeypatch.delenv("CASEPILOT_TRUSTED_PROXIES", raising=False)
            else:
                monkeypatch.setenv("CASEPILOT_TRUSTED_PROXIES", value)
            get_settings.cache_clear()
            result = runner.invoke(cli.app, ["serve", "--port", "8765"])
            if value == "not-an-ip":
                assert result.exit_code == 2 and "not-an-ip" in result.output, result.output
                assert len(calls) == 2
            else:
                assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
    assert calls[0]["proxy_headers"] is False and "forwarded_allow_ips" not in calls[0]
    assert calls[1]["proxy_headers"] is True and calls[1]["forwarded_allow_ips"] == ["10.0.0.0/8", "127.0.0.1"]


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
