"""One error envelope for the whole API: ``{"error": {"type", "code", "message"}}``.

The same object is the body of a JSON error response, the data of the draft stream's
``event: error`` and the ``data:`` line of an OpenAI-compatible stream's error (OpenAI's
and vLLM's outer shape ``{"error": {...}}``, with our fields): ``type`` is the class of
error, one per HTTP status (in a stream, already 200, the status it would have had),
``code`` the specific error for programs, ``message`` the explanation for people
(:class:`serving.schemas.ErrorEnvelope`, documented on every route in the OpenAPI schema).

Status codes: 400 bad input, 401/403 access, 404 not found, 409 conflict, 413 too large,
422 validation, 429 rate limit, 503 a retryable backend failure (model server, vector
store, database), 502 a non-retryable one, 500 anything unexpected (logged, no details out).
"""

from __future__ import annotations

import json
import logging
from typing import Any

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
from serving.schemas import ErrorEnvelope, ErrorInfo

log = logging.getLogger("serving.errors")

_HTTP_TYPES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "validation_error", 429: "rate_limited", 500: "internal_error", 502: "bad_gateway",
               503: "unavailable"}


def error_body(status: int, message: str, code: str | None = None) -> ErrorEnvelope:
    """The envelope for an error of HTTP ``status``."""
    t = _HTTP_TYPES.get(status, "error")
    return ErrorEnvelope(error=ErrorInfo(type=t, code=code or t, message=message))


def envelope(status: int, message: str, code: str | None = None, *,
             headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response in the one envelope."""
    return JSONResponse(error_body(status, message, code).model_dump(), status_code=status, headers=headers)


def error_for(e: BaseException) -> tuple[int, ErrorEnvelope]:
    """Status and envelope for an exception raised while answering (or streaming): the
    product's errors say what they are; anything else is an internal error, logged here
    and never described to the client. A task group's single error counts as itself (work
    run in a task group reaches the handlers wrapped in an ``ExceptionGroup``)."""
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    if isinstance(e, AssistError):
        status = status_for(e)
        if status >= 500:
            log.warning("%s: %s", type(e).__name__, e.message)
        return status, error_body(status, e.message, e.code)
    log.error("unhandled error", exc_info=e)
    return 500, error_body(500, "internal error; see the server log", "internal_error")


def retry_headers(e: BaseException) -> dict[str, str] | None:
    """``Retry-After`` for an error that says when to retry (admission control's
    :class:`~assist.errors.OverloadedError`)."""
    retry = getattr(e, "retry_after_s", None)
    return {"Retry-After": str(int(retry))} if isinstance(retry, int | float) and retry > 0 else None


def stream_error(e: BaseException) -> dict[str, Any]:
    """The envelope of an error that ends a stream, as a JSON-ready dict."""
    return error_for(e)[1].model_dump()


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event (``event:`` line only when named)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _doc(status: int, what: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": f"{what} (`error.type` = `{_HTTP_TYPES[status]}`)"}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc(400, "Bad input"),
    401: _doc(401, "No or unknown API key"),
    403: _doc(403, "The key's role may not do this"),
    404: _doc(404, "Not found in the caller's tenant"),
    413: _doc(413, "Request body too large"),
    422: _doc(422, "The request does not match the schema"),
    429: _doc(429, "Rate limit exceeded; see Retry-After"),
    500: _doc(500, "Unexpected server error (logged)"),
    502: _doc(502, "A backend failed and retrying will not help"),
    503: _doc(503, "A backend (model server, vector store, database) is unavailable or the model server is "
                   "busy (`error.code` = `overloaded`); retry later, after `Retry-After` seconds when given"),
}
"""The error responses every route documents in the OpenAPI schema, all in the one envelope."""


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
        status, body = error_for(e)
        return JSONResponse(body.model_dump(), status_code=status, headers=retry_headers(e))

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
        status, body = error_for(e)
        return JSONResponse(body.model_dump(), status_code=status)

    @app.middleware("http")
    async def _contain(request: Request, call_next: Any) -> Any:
        # Starlette's server-error middleware answers an unexpected exception with the
        # handler above and then re-raises it, and the server then resets the connection
        # (clients see "connection reset" instead of the 500). Answer it here, logged once.
        try:
            return await call_next(request)
        except Exception as e:
            status, body = error_for(e)
            return JSONResponse(body.model_dump(), status_code=status)
