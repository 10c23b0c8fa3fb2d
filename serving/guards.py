"""Request guards that run before any route: body size and text validity.

:class:`BodyGuard` is a plain ASGI middleware (it must see the body as it streams):

- A declared ``Content-Length`` over the limit is refused at once (413).
- A body without one (chunked transfer) is counted while it is read; the read that crosses
  the limit fails with 413, so an endless stream is never read in full.
- JSON bodies are read (within the limit) and checked for *lone surrogates*: ``"\\ud800"``
  is legal JSON but not Unicode text; Python accepts it and it then fails deep inside a
  tokenizer or a database driver as a 5xx. Here it is a 422 that names the field.

Both answers use the one error envelope. :func:`redact_query` strips query values from
access-log lines (a key sent as ``?api_key=`` must not reach a log file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote

from serving import errors

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,31}$")  # a parameter name, not a secret


def lone_surrogate_path(value: Any, path: str = "") -> str | None:
    """The path (``turns[0].text``) of the first string holding a lone surrogate, or None."""
    if isinstance(value, str):
        return (path or "(body)") if _LONE_SURROGATE.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            if _LONE_SURROGATE.search(key):
                return f"{path}.{key!a}" if path else f"{key!a}"
            found = lone_surrogate_path(v, f"{path}.{key}" if path else key)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = lone_surrogate_path(v, f"{path}[{i}]")
            if found:
                return found
    return None


def redact_query(target: str) -> str:
    """``/v1/x?api_key=ak_123&q=hi`` -> ``/v1/x?api_key=[REDACTED]&q=[REDACTED]``: names kept
    (useful to read a log), values dropped (keys, search text, anything personal)."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    names = [quote(k, safe="") if _PLAIN_NAME.match(k) and not k.startswith("ak_") else "[REDACTED]"
             for k, _ in parse_qsl(query, keep_blank_values=True)]
    return f"{path}?" + "&".join(f"{n}=[REDACTED]" for n in names) if names else f"{path}?[REDACTED]"


class BodyGuard:
    """ASGI middleware: body limit (declared or streamed) and lone-surrogate check on JSON."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > self.max_bytes:
            await self._reply(scope, receive, send, 413, self._too_large())
            return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json" or ctype.endswith("+json"):
            body = bytearray()
            more = True
            while more:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    return
                body += msg.get("body", b"")
                more = msg.get("more_body", False)
                if len(body) > self.max_bytes:
                    await self._reply(scope, receive, send, 413, self._too_large())
                    return
            problem = self._text_problem(bytes(body))
            if problem:
                await self._reply(scope, receive, send, 422, problem, "invalid_unicode")
                return
            await self.app(scope, _replay(bytes(body), receive), send)
            return
        await self._counted(scope, receive, send)

    def _too_large(self) -> str:
        return f"request body over {self.max_bytes} bytes: send less (or split the upload)"

    def _text_problem(self, body: bytes) -> str | None:
        if not _SURROGATE_ESCAPE.search(body):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None  # the route's own parsing reports malformed JSON (422)
        where = lone_surrogate_path(data)
        if where is None:
            return None
        return (f"field {where} contains a lone surrogate (e.g. \\ud800): not valid Unicode text. "
                "Send the text as UTF-8; escape characters outside the BMP as a surrogate pair")

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app on a body that is counted as it is read. The read that crosses the
        limit looks like a client disconnect to the app (whatever middleware sits inside
        sees no exception of ours), whatever it answers is dropped, and the client gets 413."""
        seen = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    return {"type": "http.disconnect"}
            return msg

        async def guarded(msg: Message) -> None:
            nonlocal started
            if over:
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over and not started:
            await errors.envelope(413, self._too_large())(scope, receive, send)

    @staticmethod
    async def _reply(scope: Scope, receive: Receive, send: Send, status: int, message: str,
                     code: str | None = None) -> None:
        await errors.envelope(status, message, code)(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
