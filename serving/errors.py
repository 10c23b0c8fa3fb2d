"""One error envelope for the whole API: ``{"error": {"type", "message", "code"}}``.

Status codes: 400 bad input, 401/403 access, 404 not found, 409 conflict, 413 too large,
422 validation, 429 rate limit, 503 a retryable backend failure (model server, vector
store, database), 502 a non-retryable one, 500 anything unexpected (logged, no details out).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assist.errors import (
    AssistError,
    BackendError,
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)

log = logging.getLogger("serving.errors")

_HTTP_TYPES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "validation_error", 429: "rate_limited", 500: "internal_error", 502: "bad_gateway",
               503: "unavailable"}


def envelope(status: int, message: str, code: str | None = None, *, type_: str | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    t = type_ or _HTTP_TYPES.get(status, "error")
    return JSONResponse({"error": {"type": t, "message": message, "code": code or t}}, status_code=status,
                        headers=headers)


def status_for(e: AssistError) -> int:
    if isinstance(e, NotFoundError):
        return 404
    if isinstance(e, ConflictError):
        return 409
    if isinstance(e, PermissionDeniedError):
        return 403
    if isinstance(e, InputError):
        return 400
    if isinstance(e, BackendError):
        return 503 if e.retryable else 502
    if isinstance(e, ConfigError):
        return 500
    return 500


def install(app: FastAPI) -> None:
    @app.exception_handler(AssistError)
    async def _assist(_: Request, e: AssistError) -> JSONResponse:
        status = status_for(e)
        if status >= 500:
            log.warning("%s: %s", type(e).__name__, e.message)
        return envelope(status, e.message, e.code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        parts = []
        for err in e.errors()[:10]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return envelope(422, "; ".join(parts) or "invalid request", "validation_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return envelope(e.status_code, str(e.detail), headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return envelope(500, "internal error; see the server log", "internal_error")
