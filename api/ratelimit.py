"""Rate limits per client address and daily quotas per API key on ``/v1/``, counted by the ``limits`` library.

- The rate limit is a moving window: at most ``CASEPILOT_RATE_LIMIT_PER_MINUTE`` requests from one client
  address in any 60 s. The address is the one the server reports (``scope["client"]``), never a header read
  here: uvicorn rewrites it from X-Forwarded-For only for the proxies in ``CASEPILOT_TRUSTED_PROXIES`` (see
  ``casepilot serve``). Counters expire with their window, so a flood of new addresses costs memory for a
  minute and never resets a limited client.
- A key's quota (``;quota=N`` in ``CASEPILOT_API_KEYS``) counts its ``/v1/`` requests per UTC day; the key is
  identified in the store by a hash, never by its text.
- Both answer 429 in the error shape with ``Retry-After``: ``rate_limited`` (seconds until the oldest request
  leaves the window) or ``quota_exceeded`` (seconds until 00:00 UTC).

Counters live in this process (``memory://``, the default) or in Redis (``CASEPILOT_RATELIMIT_STORAGE=
redis://...``), where every worker and host shares them. If Redis stops answering, limits fail open to this
process's own memory counters (a warning is logged once, never a 500); a circuit breaker skips Redis for
``BREAKER_RESET_S`` before one request probes it again, so requests do not each wait for its timeout.

``/readyz`` reports where counting happens right now (``readiness``): ``storage`` ``memory`` or ``redis`` and
``fallback`` true while a configured Redis is not answering and counting is in this process. It reads the state
the calls to Redis leave behind (``Limiter.degraded``), never asks Redis itself, and shows no URL.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import datetime, timedelta, timezone

from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body
from casepilot.access import ApiKey
from casepilot.breaker import CircuitBreaker
from casepilot.settings import Settings

log = logging.getLogger("casepilot.api")

PROTECTED_PREFIX = "/v1/"
BREAKER_RESET_S = 5.0
# What AccessMiddleware leaves in scope["state"]: the ApiKey the request was let in with.
SCOPE_KEY = "api_key"
# What RateLimitMiddleware leaves in scope["state"] of every request: its Limiter (read by /readyz).
LIMITER_KEY = "ratelimit_limiter"


def storage_kind(storage_uri: str) -> str:
    """``memory`` or ``redis``: the kind of a CASEPILOT_RATELIMIT_STORAGE value, never its host or password.

    >>> storage_kind("memory://"), storage_kind("redis://:secret@10.0.0.5:6379/0"), storage_kind("redis+unix:///r.sock")
    ('memory', 'redis', 'redis')
    """
    return "memory" if storage_uri.startswith("memory://") else "redis"


def key_id(key: str) -> str:
    """How a key is named in the store: a short hash (the store may be a shared Redis).

    >>> key_id("pk_live_1")
    '95c5d7e327b9c7df'
    """
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def seconds_to_utc_midnight(now: float) -> int:
    """Whole seconds until the next 00:00 UTC, at least 1.

    >>> seconds_to_utc_midnight(datetime(2026, 3, 1, 23, 59, 30, tzinfo=timezone.utc).timestamp())
    30
    """
    today = datetime.fromtimestamp(now, timezone.utc).date()
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), timezone.utc)
    return max(1, math.ceil(midnight.timestamp() - now))


class _Counters:
    """The two strategies over one storage."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self.rate = MovingWindowRateLimiter(storage)
        self.quota = FixedWindowRateLimiter(storage)


class Limiter:
    """Rate limit and quotas over the configured storage, with this process's memory as the fallback."""

    def __init__(self, per_minute: int, storage_uri: str = "memory://", timeout_s: float = 0.5,
                 breaker_reset_s: float = BREAKER_RESET_S):
        self.rate = RateLimitItemPerMinute(per_minute, namespace="casepilot-rate") if per_minute > 0 else None
        self.memory = _Counters(MemoryStorage())
        self.storage = storage_kind(storage_uri)
        self.shared: _Counters | None = None
        self._pool: ConnectionPool | None = None
        if not storage_uri.startswith("memory://"):
            # Our own pool, to close at shutdown. One try per call (redis-py's default retries 3 times with up to
            # 10 s of backoff); past the timeout the breaker moves counting to memory.
            self._pool = ConnectionPool.from_url(storage_uri.replace("redis+unix://", "unix://", 1),
                                                 socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                                 retry=Retry(NoBackoff(), 0))
            self.shared = _Counters(RedisStorage("async+" + storage_uri, implementation="redispy",
                                                 wrap_exceptions=True, key_prefix="casepilot",
                                                 connection_pool=self._pool))
        self.breaker = CircuitBreaker(failures=1, reset_s=breaker_reset_s)
        self.degraded = False  # the shared store failed and counting is in memory (logged once per outage)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limiter":
        return cls(settings.rate_limit_per_minute, settings.ratelimit_storage, settings.ratelimit_storage_timeout_s,
                   breaker_reset_s=BREAKER_RESET_S)

    @staticmethod
    def needed(settings: Settings) -> bool:
        """True when a rate limit or any key's quota is configured."""
        return settings.rate_limit_per_minute > 0 or any(k.daily_quota for k in settings.api_key_list)

    def status(self) -> dict:
        """Where limits and quotas are counted now, for /readyz: no I/O, only the state the last calls left.

        ``fallback`` turns true when a call to Redis fails (and stays so while the breaker skips Redis) and false
        again when one answers; before any request has needed the store it is false.
        """
        return {"enabled": True, "storage": self.storage, "fallback": self.shared is not None and self.degraded}

    async def aclose(self) -> None:
        """Close the shared store's connections (at shutdown)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def _refused_for(self, counters: _Counters, kind: str, item, ids: tuple[str, ...]) -> float | None:
        """None when the hit is allowed, else seconds until it would be (rate) or 0.0 (quota: the caller knows)."""
        strategy = counters.rate if kind == "rate" else counters.quota
        if await strategy.hit(item, *ids):
            return None
        if kind == "quota":
            return 0.0
        stats = await strategy.get_window_stats(item, *ids)
        return max(0.0, stats.reset_time - time.time())

    async def _hit(self, kind: str, item, *ids: str) -> float | None:
        if self.shared is not None and self.breaker.allow():
            try:
                refused = await self._refused_for(self.shared, kind, item, ids)
            except Exception as exc:  # any failure of the shared store: count here instead, never a 500
                self.breaker.failure()
                if not self.degraded:
                    self.degraded = True
                    log.warning("rate-limit storage unreachable (%s): counting limits and quotas in this process "
                                "until it answers again", type(getattr(exc, "storage_error", exc)).__name__)
            except BaseException:  # cancelled (the client left): let another request probe
                self.breaker.release()
                raise
            else:
                self.breaker.success()
                if self.degraded:
                    self.degraded = False
                    log.warning("rate-limit storage is answering again: limits and quotas are shared again")
                return refused
        return await self._refused_for(self.memory, kind, item, ids)

    async def check(self, client: str, key: ApiKey | None) -> JSONResponse | None:
        """None when the request may go on; else the 429 to send."""
        if self.rate is not None:
            wait = await self._hit("rate", self.rate, client)
            if wait is not None:
                retry = max(1, math.ceil(wait))
                return JSONResponse(error_body("rate_limited", f"Too many requests; retry after {retry} s.",
                                               limit=self.rate.amount), 429, {"Retry-After": str(retry)})
        if key is not None and key.daily_quota:
            now = time.time()
            day = datetime.fromtimestamp(now, timezone.utc).date().isoformat()
            quota = RateLimitItemPerDay(key.daily_quota, namespace="casepilot-quota")
            if await self._hit("quota", quota, key_id(key.key), day) is not None:
                retry = seconds_to_utc_midnight(now)
                return JSONResponse(error_body(
                    "quota_exceeded", f"This API key has used its daily quota of {key.daily_quota} requests; it "
                    f"resets at 00:00 UTC, in {retry} s.", limit=key.daily_quota), 429, {"Retry-After": str(retry)})
        return None


class RateLimitMiddleware:
    """429 with Retry-After past the rate limit or a key's daily quota, on ``/v1/`` (not preflights)."""

    def __init__(self, app: ASGIApp, limiter: Limiter):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})[LIMITER_KEY] = self.limiter  # for /readyz (``readiness``)
        if scope["type"] != "http" or not scope.get("path", "").startswith(PROTECTED_PREFIX) \
                or scope["method"] == "OPTIONS":
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        refusal = await self.limiter.check(client, (scope.get("state") or {}).get(SCOPE_KEY))
        if refusal is not None:
            return await refusal(scope, receive, send)
        await self.app(scope, receive, send)


def readiness(scope: Scope, settings: Settings) -> dict:
    """The ``ratelimit`` field of /readyz: ``{"enabled", "storage", "fallback"}``.

    ``enabled`` is false when no rate limit or quota is configured (nothing is counted; ``storage`` then says what
    is configured). The Limiter is the one RateLimitMiddleware put in the request's scope.
    """
    limiter = (scope.get("state") or {}).get(LIMITER_KEY)
    if isinstance(limiter, Limiter):
        return limiter.status()
    return {"enabled": False, "storage": storage_kind(settings.ratelimit_storage), "fallback": False}
