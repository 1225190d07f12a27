"""Access (API keys with allowed origins, CORS), the body-size limit and the last-resort 500, as ASGI middleware
(rate limits and quotas: ``api/ratelimit.py``).

They are plain ASGI (not ``BaseHTTPMiddleware``) so event streams pass through unbuffered.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.ratelimit import SCOPE_KEY
from casepilot.access import ApiKey, norm_origin
from casepilot.settings import Settings

log = logging.getLogger("casepilot.api")

KEY_HEADER = "x-casepilot-key"
PROTECTED_PREFIX = "/v1/"
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Content-Type, X-CasePilot-Key, Last-Event-ID"
CORS_EXPOSE = "Retry-After, X-Request-ID"


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
    """Who may call: API keys each with its sites, or (no keys) the allowed origins for everyone.

    Both come parsed from the settings (``casepilot/access.py``), where a key that names no sites has taken
    the allowed origins.
    """

    keys: dict[str, ApiKey]
    open_origins: frozenset[str] | None  # None = any origin (used when no keys are configured)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AccessPolicy":
        return cls({k.key: k for k in settings.api_key_list}, settings.allowed_origin_set)

    def match_key(self, given: str | None) -> ApiKey | None:
        """The key given, if it is one; constant-time comparison against every key."""
        found = None
        for key, spec in self.keys.items():
            if given is not None and hmac.compare_digest(key.encode(), given.encode()):
                found = spec
        return found

    def any_key_allows(self, origin: str) -> bool:
        return any(k.allows(origin) for k in self.keys.values())


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
        norm = norm_origin(origin) if origin else None
        path = scope.get("path", "")
        protected = path.startswith(PROTECTED_PREFIX)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        key = headers.get(KEY_HEADER) or (query.get("key") or [None])[0]
        p = self.policy

        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            if p.keys:
                if key is not None:
                    spec = p.match_key(key)
                    ok = spec is not None and spec.allows(norm)
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
            spec = p.match_key(key)
            if spec is None:
                return await _send_json(send, 403, _error(
                    "invalid_api_key", "A valid API key is required (header X-CasePilot-Key or query key)."))
            if origin is not None and not spec.allows(norm):
                return await _send_json(send, 403, _error(
                    "origin_not_allowed", "This API key may not be used from this site."))
            scope.setdefault("state", {})[SCOPE_KEY] = spec  # for the key's quota (api/ratelimit.py)
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
