"""Logging that never carries a question or a code someone typed.

- Access-log lines show the route's template, not the path: ``GET /v1/codes/{code}`` for
  ``/v1/codes/JOHN%20DOE`` (on a 200, a 404 and a 422 alike), and no query string at all (``?q=...``,
  ``?key=...`` become ``?[redacted]``). A path that matches no route is not echoed either.
- sse-starlette's per-chunk DEBUG lines are muted; the HTTP client and model loggers stay at WARNING
  (``casepilot.egress``); both unless ``CASEPILOT_LOG_BODIES=true``.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import unquote

from casepilot.egress import quiet_body_loggers

REDACTED = "[redacted]"

# Route templates of every app built in this process (filled by ``install_route_redaction``). The
# defaults cover the code endpoints even before an app registers its routes.
_lock = threading.Lock()
_param_routes: dict[str, re.Pattern] = {
    "/v1/codes/{code}": re.compile(r"^/v1/codes/[^/]*$"),
    "/v1/ncci/mue/{code}": re.compile(r"^/v1/ncci/mue/[^/]*$"),
}
_static_paths: set[str] = {"/", "/healthz", "/readyz", "/docs", "/openapi.json", "/widget.js", "/widget-config",
                           "/widget/config.js", "/widget/dom.js", "/widget/main.js", "/widget/markdown.js",
                           "/widget/sse.js", "/widget/state.js", "/widget/styles.js", "/widget/view.js"}
_mounts: set[str] = set()


def _walk(routes, prefix: str = ""):
    """(full path, is a mount) of every route, through FastAPI's included routers (which newer FastAPI keeps
    as objects of their own, each with the original router and the prefix it was included with)."""
    from starlette.routing import Mount

    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
            continue
        path = getattr(route, "path", None)
        if path:
            yield prefix + path, isinstance(route, Mount)


def install_route_redaction(app) -> None:
    """Learn ``app``'s routes: paths with parameters are logged as their template, static ones as they are."""
    from starlette.routing import compile_path

    with _lock:
        for path, mount in _walk(getattr(app, "routes", [])):
            if mount:
                _mounts.add(path.rstrip("/") + "/")
            elif "{" in path:
                _param_routes.setdefault(path, compile_path(path)[0])
            else:
                _static_paths.add(path)


def redact_path(raw: str) -> str:
    """``raw`` (a path, maybe with a query string) as it may be logged."""
    path, sep, _query = raw.partition("?")
    tail = f"?{REDACTED}" if sep else ""
    plain = unquote(path)
    if plain in _static_paths or any(plain.startswith(m) for m in _mounts):
        return path + tail
    for template, rx in list(_param_routes.items()):
        if rx.match(plain):
            return template + tail
    if plain.startswith("/v1/"):
        head = plain.split("/")[2]
        known = bool(head) and any(p.startswith(f"/v1/{head}") for p in (*_static_paths, *_param_routes))
        return (f"/v1/{head}/{REDACTED}" if known else f"/v1/{REDACTED}") + tail
    return f"/{REDACTED}" + tail


class RedactQuery(logging.Filter):
    """Uvicorn's access-log lines with the path redacted (``redact_path``): templates, no query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def configure_logging(log_bodies: bool) -> None:
    """Idempotent: install the redaction filter, keep sse-starlette and the HTTP client loggers quiet."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())
    if not log_bodies:
        # sse-starlette logs every chunk at DEBUG: answers may repeat what the user typed.
        logging.getLogger("sse_starlette").setLevel(logging.INFO)
    quiet_body_loggers(log_bodies)
