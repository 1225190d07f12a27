"""Logging that never carries a question: query strings are cut from access logs, stream chunks muted."""

from __future__ import annotations

import logging


class RedactQuery(logging.Filter):
    """Drop the query string (``?q=...``, ``?key=...``) from uvicorn's access-log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?[redacted]", *args[3:])
        return True


def configure_logging(log_bodies: bool) -> None:
    """Idempotent: install the redaction filter and keep sse-starlette from logging event data."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())
    if not log_bodies:
        # sse-starlette logs every chunk at DEBUG: answers may repeat what the user typed.
        logging.getLogger("sse_starlette").setLevel(logging.INFO)
