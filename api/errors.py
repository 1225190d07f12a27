"""The one error shape, ``{"error": {"code", "message", ...}}``, for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

log = logging.getLogger("casepilot.api")

STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
                422: "invalid_request", 429: "rate_limited", 500: "internal_error", 503: "unavailable"}
BODY_PARSE_DETAIL = "There was an error parsing the body"  # fastapi.routing, for a body that is not UTF-8


class ApiError(Exception):
    """Raised by handlers; rendered as the error shape with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra


def error_body(code: str, message: str, **extra: Any) -> dict:
    return {"error": {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


def _clean_details(errors: list[dict]) -> list[dict]:
    """Validation details without ``input`` (it may hold the question or patient data)."""
    out = []
    for e in errors:
        d = {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        ctx = e.get("ctx")
        if ctx:
            d["ctx"] = {k: v for k, v in ctx.items() if isinstance(v, (int, float, str)) and k != "input"}
        out.append(d)
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_PARSE_DETAIL:
            # FastAPI's 400 for a body it cannot decode (not UTF-8): invalid input, like JSON that does not parse
            return error_response(422, "invalid_request", "body: not JSON text in UTF-8")
        code = STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _clean_details(exc.errors())
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return error_response(422, "invalid_request", f"{where}: {first['msg']}", details=details)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The exception's text may quote the input: log its type only.
        from api.logs import redact_path

        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, redact_path(request.url.path))
        return error_response(500, "internal_error", "Something went wrong on the server.")
