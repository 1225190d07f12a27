"""Access (API keys with allowed origins, CORS), rate limits and the body-size limit, as ASGI middleware.

They are plain ASGI (not ``BaseHTTPMiddleware``) so event streams pass through unbuffered.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casepilot.settings import Settings

log = logging.getLogger("casepilot.api")

KEY_HEADER = "x-casepilot-key"
PROTECTED_PREFIX = "/v1/"
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Content-Type, X-CasePilot-Key, Last-Event-ID"
CORS_EXPOSE = "Retry-After, X-Request-ID"


def _norm_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def parse_api_keys(spec: str | None) -> dict[str, frozenset[str] | None]:
    """``key=https://a.example|https://b.example,key2=...`` -> {key: origins}; ``None`` origins = any.

    >>> keys = parse_api_keys("k1=https://a.example|https://B.example/,k2=*")
    >>> sorted(keys["k1"]), keys["k2"]  # sorted: a frozenset's order depends on the hash seed
    (['https://a.example', 'https://b.example'], None)
    """
    out: dict[str, frozenset[str] | None] = {}
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, origins = item.partition("=")
        key = key.strip()
        if not key:
            raise ValueError("CASEPILOT_API_KEYS has an entry without a key")
        allowed = [_norm_origin(o) for o in origins.split("|") if o.strip()]
        out[key] = None if not allowed or "*" in allowed else frozenset(allowed)
    return out


def _parse_origins(spec: str) -> frozenset[str] | None:
    items = [_norm_origin(o) for o in spec.replace("|", ",").split(",") if o.strip()]
    return None if not items or "*" in items else frozenset(items)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def _send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


def _error(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


@dataclass
class AccessPolicy:
    """Who may call: API keys each with its origins, or (no keys) the allowed origins for everyone."""

    keys: dict[str, frozenset[str] | None]
    open_origins: frozenset[str] | None  # None = any origin (used when no keys are configured)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AccessPolicy":
        return cls(parse_api_keys(settings.api_keys), _parse_origins(settings.allowed_origins))

    def match_key(self, given: str | None) -> tuple[bool, frozenset[str] | None]:
        """(known, its origins); constant-time comparison against every key."""
        found, origins = False, None
        for key, allowed in self.keys.items():
            if given is not None and hmac.compare_digest(key.encode(), given.encode()):
                found, origins = True, allowed
        return found, origins

    def any_key_allows(self, origin: str) -> bool:
        return any(o is None or origin in o for o in self.keys.values())


class AccessMiddleware:
    """API keys and origins on ``/v1/``; CORS grants only to what is allowed (403 and no grant otherwise).

    A widget key is public: it sits in the page's HTML for anyone to read. It ties calls from browsers to
    the key's sites (a browser always sends Origin on these requests) and names a bucket for the rate
    limit; it is not a secret, and a client outside a browser can send it without an Origin header.
    """

    def __init__(self, app: ASGIApp, policy: AccessPolicy):
        self.app = app
        self.policy = policy

    def _grant(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if not origin:
            return []
        allow = "*" if not self.policy.keys and self.policy.open_origins is None else origin
        out = [(b"access-control-allow-origin", allow.encode("latin-1")),
               (b"access-control-expose-headers", CORS_EXPOSE.encode())]
        if allow != "*":
            out.append((b"vary", b"Origin"))
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        origin = headers.get("origin")
        norm = _norm_origin(origin) if origin else None
        path = scope.get("path", "")
        protected = path.startswith(PROTECTED_PREFIX)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        key = headers.get(KEY_HEADER) or (query.get("key") or [None])[0]
        p = self.policy

        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            if p.keys:
                if key is not None:
                    known, allowed = p.match_key(key)
                    ok = known and (allowed is None or norm in allowed)
                else:
                    ok = p.any_key_allows(norm)
            else:
                ok = p.open_origins is None or norm in p.open_origins
            if not ok:
                return await _send_json(send, 403, _error("origin_not_allowed", "This origin may not call the API."))
            grant = self._grant(origin) + [
                (b"access-control-allow-methods", CORS_METHODS.encode()),
                (b"access-control-allow-headers", CORS_HEADERS.encode()),
                (b"access-control-max-age", b"600"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": grant})
            return await send({"type": "http.response.body", "body": b""})

        if protected and p.keys:
            known, allowed = p.match_key(key)
            if not known:
                return await _send_json(send, 403, _error(
                    "invalid_api_key", "A valid API key is required (header X-CasePilot-Key or query key)."))
            if origin is not None and allowed is not None and norm not in allowed:
                return await _send_json(send, 403, _error(
                    "origin_not_allowed", "This API key may not be used from this site."))
        elif protected and origin is not None and p.open_origins is not None and norm not in p.open_origins:
            return await _send_json(send, 403, _error("origin_not_allowed", "This origin may not call the API."))

        if not origin:
            grant = []
        elif protected:
            grant = self._grant(origin)  # the key and origin checks above let it through
        elif p.keys:
            grant = []  # pages and /readyz: no CORS grant when access is by key
        else:
            # No keys: only the allowed origins (any, by default) may read pages and /readyz cross-site;
            # a restricted list never echoes another Origin.
            grant = self._grant(origin) if p.open_origins is None or norm in p.open_origins else []
        if not grant:
            return await self.app(scope, receive, send)

        async def send_with_grant(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *grant]}
            await send(message)

        await self.app(scope, receive, send_with_grant)


class RateLimitMiddleware:
    """A token bucket per client address on ``/v1/``.

    The address is the one the server reports (``scope["client"]``), never a header read here: uvicorn
    rewrites it from X-Forwarded-For only for the proxies in ``CASEPILOT_TRUSTED_PROXIES`` (see
    ``casepilot serve``). At most ``max_clients`` buckets are kept; past that the least recently seen
    client's bucket is dropped (the one with the most time to refill), so a flood of new addresses never
    resets the buckets of clients that are active and being limited.
    """

    def __init__(self, app: ASGIApp, per_minute: int, max_clients: int = 10_000):
        self.app = app
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # oldest activity first
        self._lock = threading.Lock()

    def _take(self, client: str) -> float:
        """0 when allowed, else seconds until a token is free."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if client in self._buckets:
                self._buckets.move_to_end(client)
            else:
                while self._buckets and len(self._buckets) >= self.max_clients:
                    self._buckets.popitem(last=False)  # bounded memory: forget the idle-longest client
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(PROTECTED_PREFIX) \
                or scope["method"] == "OPTIONS":
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self._take(client)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            return await _send_json(send, 429, _error("rate_limited", f"Too many requests; retry after {retry} s."),
                                    [(b"retry-after", retry.encode())])
        await self.app(scope, receive, send)


class GuardMiddleware:
    """Innermost: an unexpected exception becomes a generic 500 in the error shape, logged by type only.

    Starlette's own handler re-raises to the server, which would log the message (it may quote the input).
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            from api.logs import redact_path

            log.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method"),
                      redact_path(str(scope.get("path", ""))))
            if not started:
                await _send_json(send, 500, _error("internal_error", "Something went wrong on the server."))


class BodyLimitMiddleware:
    """413 before parsing: by Content-Length, or while reading a chunked body, past ``max_bytes``.

    The body is read here (bounded) and replayed to the app; later ``receive`` calls go to the server,
    so disconnects still reach the event stream.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, send: Send) -> None:
        await _send_json(send, 413, _error("body_too_large", f"The request body is larger than the limit of "
                                                           f"{self.max_bytes} bytes.", limit=self.max_bytes),
                         [(b"connection", b"close")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        length = _headers(scope).get("content-length")
        if length is not None:
            try:
                if int(length) > self.max_bytes:
                    return await self._too_large(send)
            except ValueError:
                return await _send_json(send, 400, _error("bad_request", "Invalid Content-Length."))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return await self._too_large(send)
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
