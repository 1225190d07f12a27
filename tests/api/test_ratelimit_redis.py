"""Limits and quotas shared by every worker through a real Redis (issue 13, finding 3; RELIABILITY row 13).

Each test runs Debian's ``redis-server`` on a free loopback port in a temporary folder, started and stopped
here. Without the binary the tests skip with the reason, except under CI (env ``CI`` set), where they fail:
``.ci/run`` installs it. Two app instances, each on its own uvicorn server and event loop, stand for two
workers (``casepilot serve --workers 2``): with ``CASEPILOT_RATELIMIT_STORAGE=redis://...`` they share one
count; with the in-memory default each would allow the full limit.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import redis

from api.ratelimit import key_id
from casepilot.settings import Settings
from tests.api.conftest import api_settings, engine_with, free_port, live_server, stop_process

pytestmark = pytest.mark.server

REDIS_SERVER = os.environ.get("CASEPILOT_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
SITE = "https://a.example"


@pytest.fixture(scope="module", autouse=True)
def _redis_available():
    if not Path(REDIS_SERVER).exists():
        reason = f"redis-server not found at {REDIS_SERVER}: apt-get install redis-server (or set CASEPILOT_REDIS_SERVER)"
        if os.environ.get("CI"):
            pytest.fail(f"the Redis tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)


@contextmanager
def redis_server(folder: Path, port: int | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """A throwaway redis-server (no persistence, loopback only); yields (process, redis:// URL)."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--logfile", str(folder / "redis.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                assert proc.poll() is None, (folder / "redis.log").read_text(errors="replace")
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()
        yield proc, url
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # in case a test left it stopped
            stop_process(proc, grace=10)


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as (_, url):
        yield url


@pytest.fixture
def redis_url(shared_redis) -> str:
    client = redis.Redis.from_url(shared_redis)
    client.flushdb()
    client.close()
    return shared_redis


def _app(tmp_path: Path, **settings):
    """The real app over an empty data directory (no index, no model), with a /v1 route that answers 200."""
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path, **settings))

    async def ping() -> dict:
        return {"ok": True}

    app.add_api_route("/v1/ping", ping)
    return app


@contextmanager
def two_workers(tmp_path: Path, **settings) -> Iterator[tuple[str, str]]:
    """Two app instances with the same settings, each on its own server: the base URLs."""
    with live_server(_app(tmp_path / "w1", **settings)) as one, live_server(_app(tmp_path / "w2", **settings)) as two:
        yield one, two


def _alternate(bases: tuple[str, ...], n: int, headers: dict | None = None) -> list[httpx.Response]:
    """n GET /v1/ping, sent to each base in turn."""
    return [httpx.get(f"{bases[i % len(bases)]}/v1/ping", headers=headers or {}, timeout=10) for i in range(n)]


def test_two_workers_share_one_rate_limit_through_redis(tmp_path, redis_url):
    with two_workers(tmp_path, rate_limit_per_minute=3, ratelimit_storage=redis_url) as bases:
        shared = _alternate(bases, 6)
    assert [r.status_code for r in shared] == [200, 200, 200, 429, 429, 429]
    for r in shared[3:]:
        assert r.json()["error"]["code"] == "rate_limited" and 1 <= int(r.headers["retry-after"]) <= 60
    with two_workers(tmp_path, rate_limit_per_minute=3) as bases:  # the in-memory default: each its own count
        apart = _alternate(bases, 6)
    assert [r.status_code for r in apart] == [200] * 6


def test_two_workers_share_a_keys_daily_quota_through_redis(tmp_path, redis_url):
    settings = {"api_keys": f"k1={SITE};quota=4,k2={SITE}", "ratelimit_storage": redis_url}
    k1 = {"X-CasePilot-Key": "k1", "Origin": SITE}
    with two_workers(tmp_path, **settings) as bases:
        used = _alternate(bases, 6, k1)
        other = _alternate(bases, 6, {**k1, "X-CasePilot-Key": "k2"})
    assert [r.status_code for r in used] == [200] * 4 + [429] * 2
    over = used[-1]
    assert over.json()["error"]["code"] == "quota_exceeded" and over.json()["error"]["limit"] == 4
    assert 1 <= int(over.headers["retry-after"]) <= 86_400 and over.headers["access-control-allow-origin"] == SITE
    assert [r.status_code for r in other] == [200] * 6  # k2 has no quota
    client = redis.Redis.from_url(redis_url)
    stored = [k.decode() for k in client.keys("*")]
    client.close()
    quota_keys = [k for k in stored if "casepilot-quota" in k]
    assert quota_keys and all(f"/{key_id('k1')}/" in k for k in quota_keys)  # the key's hash, never its text


def test_redis_lost_at_run_time_fails_open_to_per_process_limits_and_recovers(tmp_path, monkeypatch, caplog):
    """Redis killed: no 500, each worker limits on its own, one warning; Redis back: the count is shared again."""
    import api.ratelimit

    monkeypatch.setattr(api.ratelimit, "BREAKER_RESET_S", 0.5)
    caplog.set_level(logging.WARNING, logger="casepilot.api")
    port = free_port()
    with redis_server(tmp_path / "r1", port) as (proc, url):
        with two_workers(tmp_path, rate_limit_per_minute=3, ratelimit_storage=url) as bases:
            assert [r.status_code for r in _alternate(bases, 2)] == [200, 200]
            proc.kill()
            proc.wait(10)
            started = time.monotonic()
            down = _alternate(bases, 8)
            took = time.monotonic() - started
            # each worker now counts alone: three more each (its memory started empty), then 429
            assert sorted(r.status_code for r in down) == [200] * 6 + [429] * 2, [r.status_code for r in down]
            assert took < 5
            warnings = [r.getMessage() for r in caplog.records if "rate-limit storage unreachable" in r.getMessage()]
            assert len(warnings) == 2  # once per worker, not once per request
            with redis_server(tmp_path / "r2", port):  # Redis is back, empty
                time.sleep(0.6)  # the breakers let a probe through
                back = _alternate(bases, 6)
                assert [r.status_code for r in back] == [200, 200, 200, 429, 429, 429]
    assert any("answering again" in r.getMessage() for r in caplog.records)


def test_a_paused_redis_costs_at_most_its_timeout(tmp_path, monkeypatch):
    """SIGSTOP: connections open but nothing answers. Requests go on within the timeout, never a 500."""
    import api.ratelimit

    monkeypatch.setattr(api.ratelimit, "BREAKER_RESET_S", 0.5)
    with redis_server(tmp_path / "r") as (proc, url):
        with live_server(_app(tmp_path / "w", rate_limit_per_minute=100, ratelimit_storage=url,
                              ratelimit_storage_timeout_s=0.3)) as base:
            assert httpx.get(f"{base}/v1/ping", timeout=10).status_code == 200  # the pool holds a connection
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                took = []
                for _ in range(5):
                    started = time.monotonic()
                    assert httpx.get(f"{base}/v1/ping", timeout=10).status_code == 200
                    took.append(time.monotonic() - started)
            finally:
                os.kill(proc.pid, signal.SIGCONT)
            assert took[0] < 1.5 and max(took[1:]) < 1.0
            time.sleep(0.6)
            assert httpx.get(f"{base}/v1/ping", timeout=10).status_code == 200


# -- /readyz says where limits and quotas are counted right now --------------------------------------------------------


def _ratelimit_of(base: str) -> tuple[int, dict]:
    r = httpx.get(f"{base}/readyz", timeout=10)
    return r.status_code, r.json()


def test_readyz_reports_redis_storage_while_redis_answers(tmp_path, redis_url):
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    with live_server(_app(tmp_path / "w", rate_limit_per_minute=3, ratelimit_storage=redis_url)) as base:
        assert [r.status_code for r in _alternate((base,), 4)] == [200, 200, 200, 429]
        code, body = _ratelimit_of(base)
        text = httpx.get(f"{base}/readyz", timeout=10).text
    assert body["ratelimit"] == {"enabled": True, "storage": "redis", "fallback": False}
    assert code == 503 and "ratelimit" not in " ".join(body["problems"])  # unready for its empty index only
    assert "redis://" not in text and f":{port}" not in text  # no URL, no host
    client = redis.Redis.from_url(redis_url)
    assert any(b"casepilot-rate" in k for k in client.keys("*"))  # the count really is in Redis
    client.close()


@pytest.mark.slow
def test_readyz_reports_the_fallback_while_redis_is_down_and_stays_ready(tmp_path, monkeypatch, slice_index, engine):
    """Redis killed mid-test: /readyz stays 200 with fallback true after a request; Redis back: false again."""
    import api.ratelimit
    from api.app import create_app

    monkeypatch.setattr(api.ratelimit, "BREAKER_RESET_S", 0.5)
    port = free_port()
    with redis_server(tmp_path / "r1", port) as (proc, url):
        settings = api_settings(slice_index, rate_limit_per_minute=100, ratelimit_storage=url)
        app = create_app(settings, engine=engine_with(engine, settings))

        async def ping() -> dict:
            return {"ok": True}

        app.add_api_route("/v1/ping", ping)
        with live_server(app) as base:
            code, body = _ratelimit_of(base)
            assert code == 200 and body["ready"] is True, body
            assert body["ratelimit"] == {"enabled": True, "storage": "redis", "fallback": False}
            assert httpx.get(f"{base}/v1/ping", timeout=10).status_code == 200
            assert _ratelimit_of(base)[1]["ratelimit"]["fallback"] is False  # counted in Redis

            proc.kill()
            proc.wait(10)
            assert httpx.get(f"{base}/v1/ping", timeout=10).status_code == 200  # fails open, never a 500
            started = time.monotonic()
            code, down = _ratelimit_of(base)
            assert time.monotonic() - started < 2  # /readyz does not wait on the dead Redis
            assert down["ratelimit"] == {"enabled": True, "storage": "redis", "fallback": True}
            assert code == 200 and down["ready"] is True and down["problems"] == []  # reported, not fatal

            with redis_server(tmp_path / "r2", port):  # Redis is back
                time.sleep(0.6)  # past the breaker's reset
                # /readyz only reads what the last calls left: it never probes Redis itself
                assert _ratelimit_of(base)[1]["ratelimit"]["fallback"] is True
                assert httpx.get(f"{base}/v1/ping", timeout=10).status_code == 200  # this request probes, succeeds
                code, back = _ratelimit_of(base)
                assert code == 200 and back["ratelimit"] == {"enabled": True, "storage": "redis", "fallback": False}
