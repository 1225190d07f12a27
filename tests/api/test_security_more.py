"""The cases of api/security.py that tests/api/test_security.py and test_origins.py leave out: restricted
origins without keys on /v1 (preflight, spelling, server-side callers), a preflight that carries a key, a
bad Content-Length, a disconnect while the body is read, and the refill of the rate limit.

The middleware is driven directly over ASGI around a small recording app (no index, no model), so each
case says exactly what reached the app and what went back to the client.
"""

from __future__ import annotations

import json

import pytest

from api.ratelimit import Limiter, RateLimitMiddleware
from api.security import AccessMiddleware, AccessPolicy, BodyLimitMiddleware
from casepilot.access import parse_api_keys
from casepilot.settings import Settings
from tests.api.conftest import run

GOOD, OTHER, EVIL = "https://a.example", "https://b.example", "https://evil.example"


class Recorder:
    """The app behind the middleware: records each call and the body it read, answers 200."""

    def __init__(self):
        self.calls: list[dict] = []

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.calls.append({"path": scope["path"], "body": body})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


class Response:
    def __init__(self, messages: list[dict]):
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        self.sent = bool(messages)
        self.status = start["status"] if start else None
        self.headers = {k.decode().lower(): v.decode() for k, v in (start or {}).get("headers", [])}
        self.body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")

    def error(self) -> dict:
        return json.loads(self.body)["error"]


def call(middleware, method="GET", path="/v1/codes/E11.22", headers=None, query=b"", body_messages=None,
         client=("192.0.2.1", 4000)):
    """One request through ``middleware``; ``body_messages`` are what ``receive`` returns, in order."""
    incoming = list(body_messages if body_messages is not None else [{"type": "http.request", "body": b""}])
    received: list[dict] = []
    sent: list[dict] = []

    async def receive():
        message = incoming.pop(0) if incoming else {"type": "http.disconnect"}
        received.append(message)
        return message

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "client": client,
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]}
    run(middleware(scope, receive, send))
    response = Response(sent)
    response.received = received
    return response


# -- restricted origins, no keys ---------------------------------------------------------------------


def _restricted(app):
    """The policy `casepilot serve` builds from CASEPILOT_ALLOWED_ORIGINS with two sites and no keys."""
    policy = AccessPolicy.from_settings(Settings(allowed_origins=f"{GOOD}|{OTHER}/", api_keys=None))
    assert policy.keys == {} and policy.open_origins == frozenset({GOOD, OTHER})
    return AccessMiddleware(app, policy)


def test_restricted_origins_preflight_on_v1_grants_only_the_listed_sites():
    app = Recorder()
    mw = _restricted(app)
    ok = call(mw, "OPTIONS", "/v1/chat", {"Origin": OTHER, "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "content-type"})
    assert ok.status == 204
    assert ok.headers["access-control-allow-origin"] == OTHER  # the site itself, never "*"
    assert ok.headers["vary"] == "Origin" and "POST" in ok.headers["access-control-allow-methods"]
    bad = call(mw, "OPTIONS", "/v1/chat", {"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert bad.status == 403 and bad.error()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in bad.headers
    assert app.calls == []  # preflights are answered by the middleware


def test_restricted_origins_compare_spelling_blind_and_let_server_callers_through():
    app = Recorder()
    mw = _restricted(app)
    spelled = call(mw, headers={"Origin": "HTTPS://A.Example/"})
    assert spelled.status == 200 and spelled.headers["access-control-allow-origin"] == "HTTPS://A.Example/"
    server = call(mw)  # no Origin: curl or a backend, which CORS does not concern
    assert server.status == 200 and "access-control-allow-origin" not in server.headers
    evil = call(mw, "POST", "/v1/chat", {"Origin": EVIL, "Content-Type": "application/json"},
                body_messages=[{"type": "http.request", "body": b'{"message": "hi"}'}])
    assert evil.status == 403 and evil.error()["code"] == "origin_not_allowed"
    assert [c["path"] for c in app.calls] == ["/v1/codes/E11.22", "/v1/codes/E11.22"]


# -- a preflight that carries a key -----------------------------------------------------------------


KEYS = f"k1={GOOD}|{OTHER},k2=https://c.example,k3=*"


def policy(keys: str) -> AccessPolicy:
    """The policy of CASEPILOT_API_KEYS=keys (parsed as the settings parse it)."""
    return AccessPolicy({k.key: k for k in parse_api_keys(keys)}, None)


@pytest.mark.parametrize("where", ["query", "header"])
@pytest.mark.parametrize("key, origin, status", [
    ("k2", "https://c.example", 204),  # the key's own site
    ("k3", EVIL, 204),  # a key for any site
    ("k1", "https://c.example", 403),  # another key allows c.example, but this key is tied to a and b
    ("nope", GOOD, 403),  # an unknown key, even from a site some key allows
])
def test_preflight_with_a_key_is_judged_by_that_key(where, key, origin, status):
    app = Recorder()
    mw = AccessMiddleware(app, policy(KEYS))
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    query = b""
    if where == "query":
        query = f"key={key}".encode()
    else:
        headers["X-CasePilot-Key"] = key
    r = call(mw, "OPTIONS", "/v1/chat", headers, query=query)
    assert r.status == status
    if status == 204:
        assert r.headers["access-control-allow-origin"] == origin
        assert "x-casepilot-key" in r.headers["access-control-allow-headers"].lower()
    else:
        assert r.error()["code"] == "origin_not_allowed" and "access-control-allow-origin" not in r.headers
    assert app.calls == []


def test_preflight_without_a_key_passes_if_any_key_allows_the_site():
    mw = AccessMiddleware(Recorder(), policy(f"k1={GOOD},k2=https://c.example"))
    pre = {"Access-Control-Request-Method": "POST"}
    assert call(mw, "OPTIONS", "/v1/chat", {"Origin": "https://c.example", **pre}).status == 204
    assert call(mw, "OPTIONS", "/v1/chat", {"Origin": EVIL, **pre}).status == 403


# -- the body limit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("length", ["abc", "12 bytes", "1e3", ""])
def test_a_bad_content_length_is_400_before_the_body_is_read(length):
    app = Recorder()
    r = call(BodyLimitMiddleware(app, max_bytes=100), "POST", "/v1/chat", {"Content-Length": length},
             body_messages=[{"type": "http.request", "body": b"{}"}])
    assert r.status == 400 and r.error() == {"code": "bad_request", "message": "Invalid Content-Length."}
    assert r.received == [] and app.calls == []


def test_a_declared_length_over_the_limit_is_413_without_reading_the_body():
    app = Recorder()
    r = call(BodyLimitMiddleware(app, max_bytes=100), "POST", "/v1/chat", {"Content-Length": "101"},
             body_messages=[{"type": "http.request", "body": b"x" * 101}])
    assert r.status == 413 and r.error()["limit"] == 100 and r.headers["connection"] == "close"
    assert r.received == [] and app.calls == []


def test_a_disconnect_while_the_body_is_read_ends_the_request_quietly():
    app = Recorder()
    r = call(BodyLimitMiddleware(app, max_bytes=1000), "POST", "/v1/chat", {"Content-Type": "application/json"},
             body_messages=[{"type": "http.request", "body": b'{"message": ', "more_body": True},
                            {"type": "http.disconnect"}])
    assert not r.sent  # nobody is left to answer
    assert app.calls == []  # the app never sees half a body
    assert [m["type"] for m in r.received] == ["http.request", "http.disconnect"]


def test_a_chunked_body_is_replayed_whole_and_later_receives_reach_the_server():
    app = Recorder()
    r = call(BodyLimitMiddleware(app, max_bytes=1000), "POST", "/v1/chat", {},
             body_messages=[{"type": "http.request", "body": b"ab", "more_body": True},
                            {"type": "http.request", "body": b"cd", "more_body": False}])
    assert r.status == 200 and app.calls == [{"path": "/v1/chat", "body": b"abcd"}]


# -- the rate limit's refill ----------------------------------------------------------------------------
# A moving window (the `limits` library): at most N requests in any 60 s; a request is let in again as soon
# as the oldest one in the window is 60 s old, and Retry-After says when that is.


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """One fake wall clock for the limiter and the `limits` library's in-memory storage."""
    import limits.aio.storage.memory

    import api.ratelimit

    c = Clock()
    monkeypatch.setattr(limits.aio.storage.memory, "time", c)
    monkeypatch.setattr(api.ratelimit, "time", c)
    return c


def test_rate_limit_refills_as_requests_leave_the_window(clock):
    app = Recorder()
    lim = RateLimitMiddleware(app, Limiter(per_minute=3))
    for step in (0, 10, 20):  # three requests, ten seconds apart
        clock.now = 1_000_000.0 + step
        assert call(lim).status == 200
    clock.now = 1_000_025.0
    limited = call(lim)
    assert limited.status == 429 and limited.headers["retry-after"] == "35"  # the first leaves at +60
    assert limited.error() == {"code": "rate_limited", "message": "Too many requests; retry after 35 s.", "limit": 3}
    clock.now = 1_000_060.5
    assert call(lim).status == 200  # the first left: one request
    limited = call(lim)
    assert limited.status == 429 and limited.headers["retry-after"] == "10"  # the second leaves at +70
    assert call(lim, client=("192.0.2.2", 4000)).status == 200  # each client has its own window
    assert len(app.calls) == 5


def test_rate_limit_refill_stops_at_the_limit(clock):
    lim = RateLimitMiddleware(Recorder(), Limiter(per_minute=5))
    assert [call(lim).status for _ in range(5)] == [200] * 5
    clock.now += 24 * 3600  # a day idle allows five requests again, not thousands
    assert [call(lim).status for _ in range(6)] == [200] * 5 + [429]
