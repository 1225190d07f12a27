"""Rate limits and daily quotas (api/ratelimit.py) over the in-memory store, and what happens when a configured
Redis does not answer: RELIABILITY row 13 and issue 13, finding 3. The real-Redis cases are in
tests/api/test_ratelimit_redis.py.

The middleware runs directly over ASGI around a recording app, as in test_security_more.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from datetime import datetime, timezone

import pytest

from api.ratelimit import Limiter, RateLimitMiddleware, key_id
from api.security import AccessMiddleware
from tests.api.conftest import run
from tests.api.test_security_more import Recorder, call, clock, policy  # noqa: F401 (clock is a fixture)

SITE = "https://a.example"


def _utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def _stack(keys: str, per_minute: int = 0, **limiter):
    """AccessMiddleware -> RateLimitMiddleware -> the recording app, as create_app orders them."""
    app = Recorder()
    lim = Limiter(per_minute, **limiter)
    return AccessMiddleware(RateLimitMiddleware(app, lim), policy(keys)), app, lim


def _with_key(mw, key: str, client=("192.0.2.1", 4000)):
    return call(mw, headers={"X-CasePilot-Key": key, "Origin": SITE}, client=client)


def test_a_key_over_its_daily_quota_gets_429_until_midnight_utc(clock):
    mw, app, _ = _stack(f"k1={SITE};quota=2,k2={SITE};quota=1,k3={SITE}")
    clock.now = _utc(2026, 3, 1, 23, 59, 0)
    assert [_with_key(mw, "k1").status for _ in range(2)] == [200, 200]
    over = _with_key(mw, "k1", client=("198.51.100.9", 4000))  # from another address: the quota is the key's
    assert over.status == 429 and over.headers["retry-after"] == "60"
    assert over.error() == {"code": "quota_exceeded", "limit": 2, "message": "This API key has used its daily "
                            "quota of 2 requests; it resets at 00:00 UTC, in 60 s."}
    assert over.headers["access-control-allow-origin"] == SITE  # the widget may read the 429 and its Retry-After
    assert _with_key(mw, "k2").status == 200 and _with_key(mw, "k2").status == 429  # each key its own quota
    assert all(_with_key(mw, "k3").status == 200 for _ in range(20))  # no quota: no limit
    assert _with_key(mw, "nope").status == 403  # refused before it could count against anything
    clock.now = _utc(2026, 3, 2, 0, 0, 1)  # a new UTC day
    assert [_with_key(mw, "k1").status for _ in range(3)] == [200, 200, 429]
    assert len(app.calls) == 2 + 1 + 20 + 2


def test_rate_limit_comes_before_the_quota_and_both_answer_429(clock):
    mw, app, _ = _stack(f"k1={SITE};quota=5", per_minute=2)
    statuses = [_with_key(mw, "k1") for _ in range(3)]
    assert [r.status for r in statuses] == [200, 200, 429]
    assert statuses[2].error()["code"] == "rate_limited" and statuses[2].headers["retry-after"] == "60"
    clock.now += 61
    assert [_with_key(mw, "k1").status for _ in range(3)] == [200, 200, 429]
    clock.now += 61
    last = _with_key(mw, "k1")  # 4 counted (rate-limited requests never reached the quota): this is the 5th
    assert last.status == 200
    clock.now += 61
    over = _with_key(mw, "k1")
    assert over.status == 429 and over.error()["code"] == "quota_exceeded"


def test_the_store_names_a_key_by_its_hash_never_its_text(clock):
    mw, _, lim = _stack(f"pk_live_secret_1={SITE};quota=3")
    _with_key(mw, "pk_live_secret_1")
    stored = list(lim.memory.storage.storage)
    assert stored and all("pk_live_secret_1" not in k for k in stored)
    assert any(key_id("pk_live_secret_1") in k for k in stored)


def test_rate_limit_keys_on_the_server_reported_client_not_headers(clock):
    lim = RateLimitMiddleware(Recorder(), Limiter(per_minute=1))
    statuses = []
    for i in range(3):
        spoof = f"203.0.113.{i}"
        statuses.append(call(lim, headers={"X-Forwarded-For": spoof, "X-Real-IP": spoof, "Forwarded": f"for={spoof}"},
                             client=("192.0.2.7", 5000 + i)).status)
    assert statuses == [200, 429, 429]


def test_a_flood_of_new_addresses_never_resets_a_limited_client_and_is_forgotten_after_a_minute(clock):
    """The old bucket store dropped every bucket past 10,000 clients; counters now leave with their window."""
    lim = Limiter(per_minute=3)
    victim = "198.51.100.1"

    async def flood() -> tuple[list[bool], list[bool], int, bool, int]:  # one event loop, as in a server
        first = [await lim.check(victim, None) is None for _ in range(4)]
        during = []
        for i in range(12_000):
            assert await lim.check(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", None) is None
            if i % 2000 == 0:
                during.append(await lim.check(victim, None) is None)
        held = len(lim.memory.storage.events)
        clock.now += 61  # a minute later every window is empty
        after = await lim.check(victim, None) is None
        for _ in range(600):  # that request started a sweep of the expired windows in the background
            if len(lim.memory.storage.events) <= 1:
                break
            await asyncio.sleep(0.05)
        return first, during, held, after, len(lim.memory.storage.events)

    first, during, held, after, left = run(flood())
    assert first == [True, True, True, False]
    assert during == [False] * 6  # still limited all through the flood
    assert held == 12_001 and after and left <= 1  # the flood's memory is given back after its minute


# -- a configured Redis that does not answer: limits fail open to this process's own counters -----------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_refusing_connections_falls_back_to_memory_limits_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger="casepilot.api")
    mw, app, lim = _stack(f"k1={SITE};quota=4", per_minute=3,
                          storage_uri=f"redis://:hunter2@127.0.0.1:{_closed_port()}/0")
    statuses = [_with_key(mw, "k1").status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]  # still limited, now per process; never a 500
    warnings = [r.getMessage() for r in caplog.records if "rate-limit storage" in r.getMessage()]
    assert warnings == ["rate-limit storage unreachable (ConnectionError): counting limits and quotas in this "
                        "process until it answers again"]
    assert "hunter2" not in caplog.text and lim.degraded


def test_a_silent_redis_costs_one_timeout_then_the_breaker_skips_it():
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        mw, app, lim = _stack("", per_minute=50, storage_uri=f"redis://127.0.0.1:{port}/0", timeout_s=0.3,
                              breaker_reset_s=30)
        took = []
        for _ in range(20):
            started = time.monotonic()
            assert call(mw).status == 200
            took.append(time.monotonic() - started)
    assert 0.25 < took[0] < 2.0  # the first waits for the timeout ...
    assert max(took[1:]) < 0.1  # ... the rest skip Redis while the breaker is open
    assert lim.degraded and len(app.calls) == 20


# -- /readyz says where limits and quotas are counted (reported, never a reason to be unready) -----------------------


def _readyz_app(tmp_path, **settings):
    """The real app over an empty data directory (so /readyz is 503: no index), with a /v1 route that answers."""
    from api.app import create_app
    from casepilot.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, **settings))

    async def ping() -> dict:
        return {"ok": True}

    app.add_api_route("/v1/ping", ping)
    return app


def _readyz_after_pings(app, pings: int) -> tuple[list[int], list[tuple[int, dict]]]:
    """/readyz, then ``pings`` GET /v1/ping, then /readyz again: the pings' statuses and both (status, body)."""
    from tests.api.conftest import asgi_client

    async def go():
        async with asgi_client(app) as c:
            before = await c.get("/readyz")
            statuses = [(await c.get("/v1/ping")).status_code for _ in range(pings)]
            after = await c.get("/readyz")
            return statuses, [(r.status_code, r.json()) for r in (before, after)], after.text

    return run(go())


def test_readyz_reports_memory_storage_by_default(tmp_path):
    # nothing configured: nothing is counted, and nothing but this process's memory would be
    _, [(code, body), _], _ = _readyz_after_pings(_readyz_app(tmp_path / "a"), 0)
    assert body["ratelimit"] == {"enabled": False, "storage": "memory", "fallback": False}
    # a rate limit over the default storage: counted in memory, never a fallback
    statuses, [(before, first), (after, second)], _ = _readyz_after_pings(
        _readyz_app(tmp_path / "b", rate_limit_per_minute=2), 3)
    assert statuses == [200, 200, 429]
    assert first["ratelimit"] == second["ratelimit"] == {"enabled": True, "storage": "memory", "fallback": False}
    assert before == after == code  # the same readiness (503 here: no index)


def test_readyz_reports_the_fallback_to_memory_without_the_url_and_stays_as_ready(tmp_path):
    """A configured Redis that refuses connections: /readyz says fallback true, shows no URL, keeps its status."""
    port = _closed_port()
    app = _readyz_app(tmp_path, rate_limit_per_minute=2, ratelimit_storage=f"redis://:hunter2@127.0.0.1:{port}/0")
    statuses, [(before, first), (after, second)], text = _readyz_after_pings(app, 3)
    assert statuses == [200, 200, 429]  # limits fail open to this process's counters
    assert first["ratelimit"] == {"enabled": True, "storage": "redis", "fallback": False}  # no request has asked yet
    assert second["ratelimit"] == {"enabled": True, "storage": "redis", "fallback": True}
    assert after == before and second["problems"] == first["problems"]  # reported, not a readiness problem
    assert "hunter2" not in text and f":{port}" not in text and "redis://" not in text
