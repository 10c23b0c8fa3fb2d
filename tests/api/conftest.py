"""Fixtures for the HTTP API tests.

One service per test session: the sample knowledge base is ingested into tenant ``nova``
once (slow on a shared CPU), then the app runs in a real uvicorn server on a free loopback
port in a background thread. Tests talk to it over real HTTP (httpx, the ``openai`` SDK,
LangChain), and reach into ``service.app.state`` only to inject faults.

Why not a TestClient per test: the app's lifespan opens the embedded Qdrant engine on the
session's index folder; two apps in one process would fight over that folder, and a real
socket is needed anyway for the SDK and SSE tests.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from assist.config import Settings
from assist.db import Database, KeyRepository
from assist.llm.fake import FakeChatModel
from assist.types import ChatMessage, GenSettings
from serving.app import create_app
from tests.conftest import MODELS_DIR, REPO

TENANT_A = "nova"
TENANT_B = "acme"
CORS_ORIGIN = "https://crm.example.com"
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_FILE_BYTES = 300_000

SUMMARY_JSON = {"issue": "refund not received", "steps_taken": ["checked the order"], "promises": [],
                "next_action": "follow up", "deadline": None}


def reply_fn(messages: list[ChatMessage], settings: GenSettings) -> str:
    """Scripted model: JSON for structured calls, a cited sentence for drafts."""
    schema = settings.json_schema
    if schema is not None:
        props = schema.get("properties", {})
        if "issue" in props:
            return json.dumps(SUMMARY_JSON)
        if "category" in props:
            cats = props["category"].get("enum") or ["other"]
            return json.dumps({"category": cats[0], "sentiment": "neutral", "urgency": "normal", "reason": "test"})
        return "{}"
    last = messages[-1].content if messages else ""
    english = "English" in last or any("a" <= ch <= "z" for ch in last[-200:])
    q = re.findall(r"^(?:问题：|Question: ?)(.*)$", last, re.M)
    if not re.search(r"退款|refund", q[-1] if q else last[-200:], re.I):
        # Any other question: restate passage [1]'s first sentence, so the claim check keeps it.
        if m := re.search(r"^\[1\] [^:：\n]*[:：] ?(.+)$", last, re.M):
            text = re.split(r"答：|\bA: ", m.group(1), maxsplit=1)[-1].strip()  # an FAQ: its answer
            first = re.split(r"(?<=[。！？!?])|(?<=\.)\s", text, maxsplit=1)[0].strip()
            zh = re.search(r"[\u4e00-\u9fff]", first)
            end = first[-1] if first[-1:] in ("。", "！", "？", ".", "!", "?") else ("。" if zh else ".")
            return first.rstrip("。！？.!?") + " [1]" + end
    if english:
        return "Refunds reach the original payment method within 3-7 business days [1]."
    return "退款会在3-7个工作日内原路退回[1]。"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """The running service and the keys the tests use."""

    app: FastAPI
    base_url: str
    settings: Settings
    llm: FakeChatModel
    keys: dict[str, str] = field(default_factory=dict)
    """``"<tenant>:<role>"`` → plaintext key."""

    def key(self, role: str = "agent", tenant: str = TENANT_A) -> str:
        return self.keys[f"{tenant}:{role}"]

    def headers(self, role: str = "agent", tenant: str = TENANT_A) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(role, tenant)}"}

    def client(self, role: str | None = "agent", tenant: str = TENANT_A, **kw: Any) -> httpx.Client:
        headers = self.headers(role, tenant) if role else {}
        kw.setdefault("timeout", 60)
        return httpx.Client(base_url=self.base_url, headers=headers, **kw)


def _ingest(settings: Settings) -> None:
    from kb_ingest.indexing import Indexer

    async def run() -> None:
        ix = Indexer.from_settings(settings)
        try:
            report = await ix.ingest_paths([REPO / "examples" / "kb"], tenant=TENANT_A, publish=True)
            assert report.articles > 10, report
        finally:
            await ix.close()
            ix.db.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("api-home")
    settings = Settings(
        _env_file=None,
        env="test",
        home=home,
        models_path=MODELS_DIR,
        tenants_dir=REPO / "examples" / "tenants",
        llm={"provider": "fake"},
        ingest={"max_file_bytes": MAX_FILE_BYTES},
        server={"rate_limit": "100000/minute", "cors_origins": [CORS_ORIGIN],
                "max_request_bytes": MAX_REQUEST_BYTES},
    )
    _ingest(settings)

    db = Database(settings.resolved_database_url)
    keys: dict[str, str] = {}
    repo = KeyRepository(db)
    for tenant in (TENANT_A, TENANT_B):
        for role in ("agent", "bot", "knowledge_manager", "evaluator", "admin"):
            keys[f"{tenant}:{role}"], _ = repo.create(f"test-{role}", role, tenant)  # type: ignore[arg-type]
    db.dispose()

    llm = FakeChatModel(reply_fn=reply_fn)
    app = create_app(settings, llm=llm)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", lifespan="on",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, name="api-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.1)
    svc = Service(app=app, base_url=f"http://127.0.0.1:{port}", settings=settings, llm=llm, keys=keys)
    # Tenant B gets its own (published) article, written through the API.
    with svc.client("knowledge_manager", TENANT_B) as c:
        r = c.post("/v1/articles", json={
            "id": "acme-secret-refund-en", "title": "Acme refund policy", "language": "en", "type": "policy",
            "body": "# Acme refunds\n\nAcme refunds go to the Acme wallet within 2 days. ACME-ONLY-MARKER.",
            "publish": True})
        assert r.status_code == 201, r.text
    try:
        yield svc
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def assert_envelope(r: httpx.Response, status: int) -> dict[str, Any]:
    """The response has ``status`` and the API's one error envelope."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"type", "message", "code"}, err
    assert all(isinstance(err[k], str) and err[k] for k in ("type", "message", "code")), err
    return err
