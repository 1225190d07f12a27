"""API test helpers: real HTTP (a live uvicorn on a free loopback port, or the ASGI transport), the real
slice index, and fakes only at the model boundary."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Iterator

import httpx
import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from tests.processes import stop_process  # noqa: F401  (the API tests import it from here)

E11_22 = "What is ICD-10-CM E11.22?"


def api_settings(base, **kw):
    """The slice index's settings with API knobs changed."""
    return base.model_copy(update=kw)


def engine_with(engine, settings, model=None):
    """A ChatEngine over the session's loaded retriever (the model loads once), optionally with a fake LLM."""
    from casepilot.answer.llm import LLMAnswerer
    from casepilot.engine import ChatEngine

    llm = LLMAnswerer(model, timeout_s=settings.llm_timeout_s) if model is not None else None
    return ChatEngine(settings, retriever=engine.retriever, llm=llm)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True,
                            lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@asynccontextmanager
async def asgi_client(app):
    """httpx over the ASGI transport with the app's lifespan run (no streaming: bodies are buffered)."""
    from asgi_lifespan import LifespanManager

    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def run(coro):
    return asyncio.run(coro)


def get_all(app, *paths, **kw) -> list[httpx.Response]:
    """GET each path in turn through one ASGI client (the app's lifespan run once)."""
    async def go():
        async with asgi_client(app) as c:
            return [await c.get(p, **kw) for p in paths]
    return run(go())


def error_shape(r, status: int, code: str) -> dict:
    """Assert the one error shape (JSON ``{"error": {"code", "message", ...}}``) with this status and code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def parse_sse(lines) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs from SSE lines; comment lines come back as ("comment", text)."""
    event, data = None, []
    for line in lines:
        if line.startswith(":"):
            yield "comment", line[1:].strip()
            continue
        if line == "":
            if event or data:
                yield event or "message", json.loads("\n".join(data))
            event, data = None, []
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
    if event or data:
        yield event or "message", json.loads("\n".join(data))


def chat_stream(base: str, body: dict, timeout: float = 60, **kw) -> tuple[httpx.Response, list[tuple[str, Any]]]:
    """POST /v1/chat and read the whole event stream (pings included as comments)."""
    with httpx.Client(base_url=base, timeout=timeout) as c:
        with c.stream("POST", "/v1/chat", json=body, **kw) as r:
            if r.status_code != 200:
                r.read()
                return r, []
            return r, list(parse_sse(r.iter_lines()))


def events_only(events):
    return [(n, d) for n, d in events if n != "comment"]


# -- fakes at the model boundary ---------------------------------------------------------------


class ScriptedChatModel(BaseChatModel):
    """A chat model that streams ``tokens`` with delays, and can fail, go silent, hang or say nothing.

    ``state`` is shared with the test: ``emitted`` counts tokens, ``closed_at`` is when the stream closed.
    """

    tokens: list[str] = Field(default_factory=list)
    delay_s: float = 0.0
    first_delay_s: float = 0.0
    fail_after: int | None = None
    hang: bool = False
    state: dict = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _generate(self, messages, stop=None, run_manager=None, **kw) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(self.tokens)))])

    def _stream(self, messages, stop=None, run_manager=None, **kw):
        st = self.state
        st.setdefault("emitted", 0)
        st["prompt"] = messages
        release = st.setdefault("release", threading.Event())
        try:
            if self.hang:
                release.wait(60)
                return
            if self.first_delay_s:
                release.wait(self.first_delay_s)
            for i, tok in enumerate(self.tokens):
                if self.fail_after is not None and i >= self.fail_after:
                    raise RuntimeError("provider exploded while answering " + str(messages[-1].content)[:200])
                if i and self.delay_s:
                    time.sleep(self.delay_s)
                st["emitted"] += 1
                yield ChatGenerationChunk(message=AIMessageChunk(content=tok))
        finally:
            st["closed_at"] = time.monotonic()


def assert_model_stopped(model: ScriptedChatModel, since: float, within: float, most: int) -> None:
    """The model's stream closed within ``within`` seconds of ``since`` (when the client went away), after fewer
    than ``most`` tokens, and nothing more is generated afterwards."""
    deadline = since + within
    while "closed_at" not in model.state and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "closed_at" in model.state, f"the model kept generating for {within} s after the client went away"
    assert model.state["closed_at"] - since < within
    emitted = model.state["emitted"]
    assert emitted < most
    time.sleep(0.3)
    assert model.state["emitted"] == emitted  # nothing more was generated


def words(text: str) -> list[str]:
    """Split like a model's token stream: each word keeps its leading space."""
    parts = text.split(" ")
    return [parts[0]] + [" " + p for p in parts[1:]]


@pytest.fixture(scope="session")
def grounded_server(slice_index, engine):
    """One live server over the slice index with the grounded answerer."""
    from api.app import create_app

    with live_server(create_app(slice_index, engine=engine)) as base:
        yield base


def start_casepilot_serve(env: dict[str, str], timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """`casepilot serve` in a subprocess on a free loopback port; returns (process, base URL) once /readyz says 200.

    The process gets this environment without ``CASEPILOT_*`` variables and uvicorn's FORWARDED_ALLOW_IPS
    (so only our settings decide), plus ``env``. Its output is piped; the caller stops it (``stop_process``).
    """
    import os
    import sys
    from pathlib import Path

    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_") and k != "FORWARDED_ALLOW_IPS"}
    full_env.update(env)
    proc = subprocess.Popen([sys.executable, "-c", "from casepilot.cli import app; app()", "serve", "--host",
                             "127.0.0.1", "--port", str(port)], cwd=Path(__file__).resolve().parents[2],
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "casepilot serve did not become ready"
            time.sleep(0.3)
    except BaseException:
        stop_process(proc)
        raise


def pytest_collection_modifyitems(config, items):
    """Every test in tests/api is a component test (the app over ASGI or a live server, on the slice
    index). A conftest hook sees every collected item, so only the ones in this folder are marked."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.component)
