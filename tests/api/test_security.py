"""Limits, keys and origins, CORS, rate limits and what reaches the logs (RELIABILITY 11, 12, 13, 14, 17)."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.api.conftest import E11_22, api_settings, asgi_client, chat_stream, live_server, run

pytestmark = pytest.mark.slow

KEYS = "k1=https://a.example|https://b.example,k2=https://c.example"


def _app(slice_index, engine, **kw):
    from api.app import create_app

    return create_app(api_settings(slice_index, **kw), engine=engine)


def _error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code
    return body["error"]


# -- limits ------------------------------------------------------------------------------------


def test_oversized_bodies_get_413_before_parsing(slice_index, engine):
    app = _app(slice_index, engine)
    big = b'{"message": "' + b"a" * (10 * 1024 * 1024) + b'"}'

    async def chunks():
        for i in range(0, len(big), 64 * 1024):
            yield big[i:i + 64 * 1024]

    async def go():
        async with asgi_client(app) as c:
            sized = await c.post("/v1/chat", content=big, headers={"content-type": "application/json"})
            chunked = await c.post("/v1/chat", content=chunks(), headers={"content-type": "application/json"})
            return sized, chunked

    sized, chunked = run(go())
    for r in (sized, chunked):
        err = _error(r, 413, "body_too_large")
        assert err["limit"] == 256_000 and "256000" in err["message"]


def test_over_long_message_and_history_get_422_naming_the_limit(slice_index, engine):
    app = _app(slice_index, engine, max_body_bytes=2_000_000)

    async def go():
        async with asgi_client(app) as c:
            long_msg = await c.post("/v1/chat", json={"message": "a" * 100_000})
            turns = [{"role": "user", "content": "hi"}] * 500
            long_hist = await c.post("/v1/chat", json={"message": "hi", "history": turns})
            bad_role = await c.post("/v1/chat", json={"message": "hi", "history": [{"role": "system",
                                                                                     "content": "x"}]})
            return long_msg, long_hist, bad_role

    long_msg, long_hist, bad_role = run(go())
    err = _error(long_msg, 422, "message_too_long")
    assert err["limit"] == 4000 and "4000" in err["message"] and "aaaa" not in long_msg.text
    err = _error(long_hist, 422, "history_too_long")
    assert err["limit"] == 40 and "40" in err["message"]
    _error(bad_role, 422, "invalid_request")


# -- keys, origins, CORS -------------------------------------------------------------------------


def test_keys_and_origins(slice_index, engine):
    app = _app(slice_index, engine, api_keys=KEYS)
    url = "/v1/codes/E11.22"

    async def go():
        async with asgi_client(app) as c:
            return {
                "none": await c.get(url, headers={"Origin": "https://a.example"}),
                "wrong": await c.get(url, headers={"X-CasePilot-Key": "nope", "Origin": "https://a.example"}),
                "ok": await c.get(url, headers={"X-CasePilot-Key": "k1", "Origin": "https://a.example"}),
                "query": await c.get(url + "?key=k1", headers={"Origin": "https://b.example"}),
                "evil": await c.get(url, headers={"X-CasePilot-Key": "k1", "Origin": "https://evil.example"}),
                "reused": await c.get(url, headers={"X-CasePilot-Key": "k2", "Origin": "https://a.example"}),
                "server": await c.get(url, headers={"X-CasePilot-Key": "k2"}),
                "health": await c.get("/healthz"),
                "pre_ok": await c.options("/v1/chat", headers={
                    "Origin": "https://c.example", "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-casepilot-key"}),
                "pre_evil": await c.options("/v1/chat", headers={
                    "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}),
                "chat_evil": await c.post("/v1/chat", json={"message": E11_22, "stream": False},
                                          headers={"X-CasePilot-Key": "k1", "Origin": "https://evil.example"}),
            }

    r = run(go())
    for name, code in (("none", "invalid_api_key"), ("wrong", "invalid_api_key"), ("evil", "origin_not_allowed"),
                       ("reused", "origin_not_allowed"), ("pre_evil", "origin_not_allowed"),
                       ("chat_evil", "origin_not_allowed")):
        _error(r[name], 403, code)
        assert "access-control-allow-origin" not in r[name].headers, name
    assert r["ok"].status_code == 200 and r["ok"].headers["access-control-allow-origin"] == "https://a.example"
    assert "Origin" in r["ok"].headers["vary"]
    assert r["query"].status_code == 200 and r["query"].headers["access-control-allow-origin"] == "https://b.example"
    assert r["server"].status_code == 200  # no Origin: a server-side caller with a valid key
    assert r["health"].status_code == 200
    pre = r["pre_ok"]
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "https://c.example"
    assert "x-casepilot-key" in pre.headers["access-control-allow-headers"].lower()


def test_open_by_default_with_cors_for_any_origin(slice_index, engine):
    app = _app(slice_index, engine)

    async def go():
        async with asgi_client(app) as c:
            return (await c.get("/v1/codes/E11.22", headers={"Origin": "https://anywhere.example"}),
                    await c.options("/v1/chat", headers={"Origin": "https://anywhere.example",
                                                         "Access-Control-Request-Method": "POST"}))
    get, pre = run(go())
    assert get.status_code == 200 and get.headers["access-control-allow-origin"] == "*"
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"


def test_keys_apply_to_streams_over_http(slice_index, engine):
    with live_server(_app(slice_index, engine, api_keys=KEYS)) as base:
        r, events = chat_stream(base, {"message": E11_22}, headers={"X-CasePilot-Key": "k1",
                                                                   "Origin": "https://a.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://a.example"
        assert events[-1][0] == "done"
        r, _ = chat_stream(base, {"message": E11_22}, headers={"X-CasePilot-Key": "k1",
                                                              "Origin": "https://evil.example"})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


def test_rate_limit_429_with_retry_after_not_bypassed_by_forwarded_for(slice_index, engine):
    app = _app(slice_index, engine, rate_limit_per_minute=3)

    async def go():
        async with asgi_client(app) as c:
            out = []
            for i in range(5):
                out.append(await c.get("/v1/codes/E11.22", headers={"X-Forwarded-For": f"10.0.0.{i}"}))
            out.append(await c.get("/healthz"))
            return out

    rs = run(go())
    assert [r.status_code for r in rs[:3]] == [200, 200, 200]
    for r in rs[3:5]:
        _error(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
    assert rs[5].status_code == 200  # health checks are not limited


# The limiter itself (moving window, quotas, a flood of addresses, the store down): tests/api/test_ratelimit.py.


# -- the trusted-proxies setting -------------------------------------------------------------------


def test_trusted_proxies_setting_validates_each_entry(monkeypatch):
    from pydantic import ValidationError

    from casepilot.settings import Settings

    assert Settings().trusted_proxy_list == []  # default: trust no proxy
    monkeypatch.setenv("CASEPILOT_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")
    s = Settings()
    assert s.trusted_proxy_list == ["10.0.0.0/8", "127.0.0.1"]
    assert Settings(trusted_proxies=" 10.0.0.0/8 , ::1,").trusted_proxy_list == ["10.0.0.0/8", "::1"]
    for bad, named in (("not-an-ip", "not-an-ip"), ("127.0.0.1,not-an-ip", "not-an-ip"), ("*", "'*'"),
                       ("10.0.0.1/8", "host bits")):
        monkeypatch.setenv("CASEPILOT_TRUSTED_PROXIES", bad)
        with pytest.raises(ValidationError) as exc:
            Settings()
        assert "CASEPILOT_TRUSTED_PROXIES" in str(exc.value) and named in str(exc.value), str(exc.value)


# -- logs ---------------------------------------------------------------------------------------


PII = ("Marguerite Okonkwo-Lindqvist", "MRN 55501234", "078-05-1120", "02/29/1952")


def test_patient_details_never_reach_the_logs(slice_index, engine, caplog):
    from tests.api.conftest import ScriptedChatModel, engine_with, words

    question = (f"Patient {PII[0]}, {PII[1]}, SSN {PII[2]}, DOB {PII[3]}: what is ICD-10-CM E11.22 "
                "and what else should I code?")
    caplog.set_level(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "sse_starlette", "casepilot", "api"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    for client_side in ("httpx", "httpcore"):  # the test's own client logs its URLs; the server is under test
        logging.getLogger(client_side).setLevel(logging.WARNING)
    with live_server(_app(slice_index, engine)) as base:
        chat_stream(base, {"message": question})
        httpx.post(f"{base}/v1/chat", json={"message": question, "stream": False}, timeout=60)
        httpx.post(f"{base}/v1/chat", json={"message": question * 200}, timeout=60)  # 422
        httpx.get(f"{base}/v1/search", params={"q": question}, timeout=60)
        httpx.get(f"{base}/v1/codes/E11.22", params={"key": "secret-key-123"}, timeout=60)
    from api.app import create_app

    settings = api_settings(slice_index, llm_fallback=False)
    failing = ScriptedChatModel(tokens=words("E11.22 is diabetes [1] and more."), fail_after=2)
    with live_server(create_app(settings, engine=engine_with(engine, settings, failing))) as base:
        _, events = chat_stream(base, {"message": question})
        assert events[-1][0] == "error"
    text = caplog.text
    assert "POST /v1/chat" in text or "/v1/chat" in text  # access logs were captured
    for secret in (*PII, "Okonkwo", "55501234", "secret-key-123"):
        assert secret not in text, secret


def test_unexpected_exception_is_a_generic_500_logged_by_type_only(slice_index, engine, caplog):
    app = _app(slice_index, engine)

    async def boom():
        raise ValueError(f"could not parse {PII[0]}")

    app.add_api_route("/v1/boom", boom)
    caplog.set_level(logging.DEBUG)

    async def go():
        async with asgi_client(app) as c:
            return await c.get("/v1/boom")

    err = _error(run(go()), 500, "internal_error")
    assert PII[0] not in err["message"]
    assert "ValueError" in caplog.text and PII[0] not in caplog.text
