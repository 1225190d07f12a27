"""Model timeouts and chat capacity (issue 13, finding 6), over a live uvicorn with fake chat models.

- the time to the first token and the gap between tokens each have their own limit, apart from the
  whole-answer deadline;
- a ``"stream": false`` request stops its model when the client goes away;
- past ``CASEPILOT_CHAT_MAX_STREAMS`` open chats a new one gets 503 with Retry-After at once, while code
  lookups and searches keep answering (their own pools).
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from tests.api.conftest import (E11_22, ScriptedChatModel, api_settings, assert_model_stopped, chat_stream,
                                events_only, live_server, parse_sse, words)

pytestmark = pytest.mark.slow


class StallingChatModel(BaseChatModel):
    """Streams ``head`` at once, then goes silent (until released), then streams ``tail``."""

    head: list[str] = Field(default_factory=list)
    tail: list[str] = Field(default_factory=list)
    stall_s: float = 30.0
    state: dict = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "stalling-fake"

    def _generate(self, messages, stop=None, run_manager=None, **kw) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(self.head + self.tail)))])

    def _stream(self, messages, stop=None, run_manager=None, **kw):
        release = self.state.setdefault("release", threading.Event())
        try:
            for tok in self.head:
                yield ChatGenerationChunk(message=AIMessageChunk(content=tok))
            release.wait(self.stall_s)
            for tok in self.tail:
                yield ChatGenerationChunk(message=AIMessageChunk(content=tok))
        finally:
            self.state["closed_at"] = time.monotonic()


def _serve(slice_index, engine, model, **kw):
    """A live server whose LLM answerer has the settings' three time limits."""
    from api.app import create_app
    from casepilot.answer.llm import LLMAnswerer
    from casepilot.engine import ChatEngine

    settings = api_settings(slice_index, **kw)
    llm = LLMAnswerer(model, timeout_s=settings.llm_timeout_s,
                      first_token_timeout_s=settings.llm_first_token_timeout_s,
                      token_gap_timeout_s=settings.llm_token_gap_timeout_s)
    return live_server(create_app(settings, engine=ChatEngine(settings, retriever=engine.retriever, llm=llm)))


def test_from_settings_passes_the_first_token_and_gap_timeouts(slice_index):
    from casepilot.answer.llm import LLMAnswerer

    s = api_settings(slice_index, llm="openai:gpt-4.1-mini", llm_base_url="http://127.0.0.1:9/v1",
                     llm_first_token_timeout_s=7, llm_token_gap_timeout_s=3)
    a = LLMAnswerer.from_settings(s)
    assert (a.timeout_s, a.first_token_timeout_s, a.token_gap_timeout_s) == (60.0, 7, 3)


def test_first_token_timeout_is_its_own_limit_before_the_deadline(slice_index, engine):
    model = ScriptedChatModel(tokens=words("E11.22 is diabetes with CKD [1]."), first_delay_s=20)
    try:
        # fallback on: the grounded answer comes long before the 60 s deadline
        with _serve(slice_index, engine, model, llm_timeout_s=60, llm_first_token_timeout_s=0.5) as base:
            t0 = time.monotonic()
            _, events = chat_stream(base, {"message": E11_22}, timeout=30)
            assert time.monotonic() - t0 < 4
        events = events_only(events)
        done = events[-1][1]
        assert events[-1][0] == "done" and done["answerer"] == "grounded_fallback"
        assert any("llm_timeout" in n for n in done["notices"])
        # fallback off: an error event that says the model did not start in time
        with _serve(slice_index, engine, model, llm_timeout_s=60, llm_first_token_timeout_s=0.5,
                    llm_fallback=False) as base:
            t0 = time.monotonic()
            _, events = chat_stream(base, {"message": E11_22}, timeout=30)
            assert time.monotonic() - t0 < 4
        assert events_only(events)[-1] == ("error", {"code": "llm_timeout",
                                                      "message": "The language model did not start answering in time."})
    finally:
        model.state["release"].set()


def test_a_silence_between_tokens_ends_the_stream_with_an_error(slice_index, engine):
    model = StallingChatModel(head=words("E11.22 is type 2 diabetes with diabetic CKD [1]. It"), tail=[" ends."])
    try:
        with _serve(slice_index, engine, model, llm_timeout_s=60, llm_first_token_timeout_s=30,
                    llm_token_gap_timeout_s=0.7) as base:
            t0 = time.monotonic()
            _, events = chat_stream(base, {"message": E11_22}, timeout=30)
            elapsed = time.monotonic() - t0
        events = events_only(events)
        assert elapsed < 5
        assert [n for n, _ in events].count("token") >= 2  # what the model said before it stalled was sent
        assert events[-1] == ("error", {"code": "llm_timeout",
                                        "message": "The language model stopped answering in the middle of its answer."})
    finally:
        model.state["release"].set()


def test_a_json_request_stops_its_model_when_the_client_goes_away(slice_index, engine):
    model = ScriptedChatModel(tokens=words("E11.22 is diabetes [1]. " * 100), delay_s=0.03)
    with _serve(slice_index, engine, model) as base:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{base}/v1/chat", json={"message": E11_22, "stream": False}, timeout=1.5)
        assert_model_stopped(model, since=time.monotonic(), within=1.5, most=400)
        # the server is fine afterwards
        model.tokens, model.delay_s = words("E11.22 is diabetes [1]."), 0.0
        assert httpx.post(f"{base}/v1/chat", json={"message": E11_22, "stream": False}, timeout=30).status_code == 200


def test_past_the_stream_cap_a_chat_gets_503_and_lookups_are_not_starved(slice_index, engine):
    model = ScriptedChatModel(hang=True)  # silent until released (then empty: grounded fallback)
    opened = threading.Barrier(3)
    results: list[str] = []

    def hold(base):
        with httpx.Client(base_url=base, timeout=60) as c:
            with c.stream("POST", "/v1/chat", json={"message": E11_22}) as r:
                names = []
                for name, _ in parse_sse(r.iter_lines()):
                    names.append(name)
                    if name == "meta" and names.count("meta") == 1:
                        opened.wait(30)
                results.append(names[-1])

    try:
        with _serve(slice_index, engine, model, chat_max_streams=2, chat_concurrency=2, chat_retry_after_s=7,
                    llm_first_token_timeout_s=30) as base:
            holders = [threading.Thread(target=hold, args=(base,), daemon=True) for _ in range(2)]
            for t in holders:
                t.start()
            opened.wait(30)
            with httpx.Client(base_url=base, timeout=30) as c:
                t0 = time.monotonic()
                r = c.post("/v1/chat", json={"message": E11_22})
                assert time.monotonic() - t0 < 1
                assert r.status_code == 503 and r.headers["Retry-After"] == "7"
                assert r.json()["error"]["code"] == "busy" and r.json()["error"]["retry_after"] == 7
                r = c.post("/v1/chat", json={"message": E11_22, "stream": False})
                assert r.status_code == 503 and r.json()["error"]["code"] == "busy"
                for _ in range(5):  # both chat workers are held by a silent model: lookups still answer at once
                    t0 = time.monotonic()
                    assert c.get("/v1/codes/E11.22").status_code == 200
                    assert time.monotonic() - t0 < 1
                t0 = time.monotonic()
                assert c.get("/v1/search", params={"q": "diabetic nephropathy"}).status_code == 200
                assert time.monotonic() - t0 < 5
                model.state["release"].set()
                for t in holders:
                    t.join(30)
                assert results == ["done", "done"]
                # the slots were given back
                _, events = chat_stream(base, {"message": E11_22})
                assert events_only(events)[-1][0] == "done"
    finally:
        model.state.setdefault("release", threading.Event()).set()
