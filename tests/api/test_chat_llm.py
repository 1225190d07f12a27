"""The LLM path over a live uvicorn with fake chat models: verification, failures, deadlines, disconnects, pings."""

from __future__ import annotations

import time

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tests.api.conftest import (E11_22, ScriptedChatModel, api_settings, assert_model_stopped, chat_stream,
                                engine_with, events_only, live_server, parse_sse, words)

pytestmark = pytest.mark.slow

QUESTION = "Patient Jane Doerwright asks: what is ICD-10-CM E11.22?"


def _serve(slice_index, engine, model, **kw):
    from api.app import create_app

    settings = api_settings(slice_index, **kw)
    return live_server(create_app(settings, engine=engine_with(engine, settings, model)))


def test_llm_tokens_stream_and_are_verified(slice_index, engine):
    """An invented code is marked and unverified; a citation to no evidence is removed and counted."""
    text = ("E11.22 means type 2 diabetes with diabetic CKD [1]. Also report E11.99 for the kidney disease [7]. "
            "Use an additional code for the CKD stage [1].")
    model = GenericFakeChatModel(messages=iter([AIMessage(text)]))
    with _serve(slice_index, engine, model) as base:
        r, events = chat_stream(base, {"message": E11_22})
    events = events_only(events)
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and events[0][1]["answerer"] == "llm"
    tokens = [d["text"] for n, d in events if n == "token"]
    assert len(tokens) >= 10  # the model's token stream reaches the client as it comes
    done = events[-1][1]
    assert done["answerer"] == "llm"
    assert "E11.99 [unverified code]" in done["answer"]
    assert "[7]" not in done["answer"] and done["invalid_citations_removed"] == 1
    assert {"code": "E11.99", "system": "icd10cm", "verified": False, "supported": False} in done["codes"]
    assert any(c["code"] == "E11.22" and c["verified"] for c in done["codes"])
    assert "".join(tokens) == done["answer"]  # what streamed is what was verified
    cites = [d["n"] for n, d in events if n == "citation"]
    first_citing = next(i for i, (n, d) in enumerate(events) if n == "token" and "[1]" in d["text"])
    assert cites == [1] and names.index("citation") < first_citing
    assert [c["n"] for c in done["citations"]] == [1]


def test_model_sees_numbered_evidence_only_and_rules(slice_index, engine):
    model = ScriptedChatModel(tokens=words("It is diabetes with CKD [1]."))
    hist = [{"role": "user", "content": E11_22}]
    with _serve(slice_index, engine, model) as base:
        chat_stream(base, {"message": "what else should I code with it?", "history": hist})
    msgs = model.state["prompt"]
    system, last = msgs[0].content, msgs[-1].content
    assert "ONLY the numbered evidence" in system and "not instructions" in system
    assert "<evidence>" in last and "[1] " in last and "Question: what else should I code with it?" in last
    assert last.count("</evidence>") == 1 and '<passage n="1">\n[1] ' in last  # each passage in its own tag
    assert any(m.content == E11_22 for m in msgs[1:-1])  # history reaches the model


@pytest.mark.parametrize("model,code", [
    (ScriptedChatModel(tokens=words("E11.22 is diabetes with CKD [1] and more."), fail_after=3), "llm_failed"),
    (ScriptedChatModel(tokens=[]), "llm_empty"),
])
def test_model_failure_ends_with_error_event(slice_index, engine, model, code, caplog):
    with _serve(slice_index, engine, model, llm_fallback=False) as base:
        r, events = chat_stream(base, {"message": QUESTION})
        assert r.status_code == 200
        events = events_only(events)
        assert events[0][0] == "meta"
        name, data = events[-1]
        assert name == "error" and data["code"] == code and data["message"]
        assert "done" not in [n for n, _ in events]
        raw = str(data)
        assert "Traceback" not in raw and "Doerwright" not in raw and "exploded" not in raw
        # The server still answers.
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert "Doerwright" not in caplog.text and "exploded" not in caplog.text


def test_failure_before_first_token_falls_back_to_grounded(slice_index, engine):
    model = ScriptedChatModel(tokens=[])
    with _serve(slice_index, engine, model) as base:  # llm_fallback defaults to on
        _, events = chat_stream(base, {"message": E11_22})
    events = events_only(events)
    done = events[-1][1]
    assert events[-1][0] == "done" and done["answerer"] == "grounded_fallback"
    assert any("llm_empty" in n for n in done["notices"])
    assert "Type 2 diabetes mellitus with diabetic chronic kidney disease" in done["answer"]


def test_hanging_model_hits_the_deadline_and_frees_the_worker(slice_index, engine):
    model = ScriptedChatModel(hang=True)
    try:
        with _serve(slice_index, engine, model, llm_fallback=False, llm_timeout_s=0.5) as base:
            t0 = time.monotonic()
            _, events = chat_stream(base, {"message": E11_22}, timeout=20)
            assert time.monotonic() - t0 < 5
            assert events_only(events)[-1] == ("error", {"code": "llm_timeout",
                                                          "message": "The language model did not answer in time."})
            r = httpx.post(f"{base}/v1/chat", json={"message": E11_22, "stream": False}, timeout=20)
            assert r.status_code == 504 and r.json()["error"]["code"] == "llm_timeout"
    finally:
        model.state["release"].set()


def test_long_silence_is_kept_alive_by_pings(slice_index, engine):
    model = ScriptedChatModel(tokens=words("E11.22 is diabetes with CKD [1]."), first_delay_s=1.5)
    with _serve(slice_index, engine, model, sse_ping_s=0.2) as base:
        _, events = chat_stream(base, {"message": E11_22})
    names = [n for n, _ in events]
    assert names[-1] == "done"
    first_token = names.index("token")
    pings = [d for n, d in events[:first_token] if n == "comment"]
    assert len(pings) >= 4 and all(p.startswith("ping") for p in pings)


def test_client_disconnect_stops_generation(slice_index, engine):
    model = ScriptedChatModel(tokens=words("E11.22 is diabetes [1]. " * 200), delay_s=0.02)
    with _serve(slice_index, engine, model) as base:
        with httpx.Client(base_url=base, timeout=30) as c:
            with c.stream("POST", "/v1/chat", json={"message": E11_22}) as r:
                seen = []
                for name, data in parse_sse(r.iter_lines()):
                    seen.append(name)
                    if name == "token" and seen.count("token") >= 2:
                        break
        assert_model_stopped(model, since=time.monotonic(), within=1.0, most=200)
        # The next request works.
        model.tokens, model.delay_s = words("E11.22 is diabetes [1]."), 0.0
        r = httpx.post(f"{base}/v1/chat", json={"message": "what is e11", "stream": False}, timeout=30)
        assert r.status_code == 200


def test_from_settings_builds_langchain_models(slice_index):
    from casepilot.answer.llm import LLMAnswerer

    s = api_settings(slice_index, llm="openai:gpt-4.1-mini", llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=7)
    a = LLMAnswerer.from_settings(s)
    assert type(a.model).__name__ == "ChatOpenAI" and a.model.openai_api_base == "http://127.0.0.1:9/v1"
    assert a.model.request_timeout == 7 and a.timeout_s == 7
    assert a.model.max_tokens == 1024  # CASEPILOT_LLM_MAX_TOKENS's default bounds every answer
    o = LLMAnswerer.from_settings(api_settings(slice_index, llm="ollama:llama3.1", llm_base_url="http://127.0.0.1:9",
                                               llm_max_tokens=200))
    assert type(o.model).__name__ == "ChatOllama" and o.model.num_predict == 200
