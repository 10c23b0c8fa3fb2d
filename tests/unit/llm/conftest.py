"""A tiny scripted OpenAI-compatible HTTP server, so the real openai/httpx stack is exercised."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Scripted:
    """One scripted answer: a JSON body, or SSE events when ``events`` is set."""

    status: int = 200
    body: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


def chat_body(text: str, *, model: str = "stub-model", finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def chunk_event(delta: str | None, *, finish: str | None = None) -> dict[str, Any]:
    d = {} if delta is None else {"content": delta}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "stub-model",
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
    }


def error_body(message: str, status: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": "BadRequestError", "code": status}}


class StubServer:
    def __init__(self) -> None:
        self.script: list[Scripted] = []
        self.received: list[Received] = []
        self.models = ["stub-model"]
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _record(self, body: dict[str, Any] | None) -> None:
                stub.received.append(Received(self.command, self.path, dict(self.headers), body))

            def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._record(None)
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in stub.models]
                self._send_json(200, {"object": "list", "data": data}, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._record(json.loads(self.rfile.read(length) or b"{}"))
                item = stub.script.pop(0) if stub.script else Scripted(body=chat_body("default"))
                if item.delay_s:
                    time.sleep(item.delay_s)
                if item.events is None:
                    self._send_json(item.status, item.body or {}, item.headers)
                    return
                self.send_response(item.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for ev in item.events:
                    self.wfile.write(f"data: {json.dumps(ev)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # A client that timed out closes the socket before the delayed reply: not an error.
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def posts(self) -> list[Received]:
        return [r for r in self.received if r.method == "POST"]


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    server = StubServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    # Cassettes never keep credentials; match on method + URL + body so a changed request
    # (another model, other messages, a different response_format) fails loudly.
    return {
        "filter_headers": ["authorization", "x-api-key"],
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
        "decode_compressed_response": True,
    }
