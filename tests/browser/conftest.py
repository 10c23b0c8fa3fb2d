"""The browser tier: the real app (uvicorn, real embedder and Qdrant, the sample KB of
tenant ``nova``) driven by a real Chromium through Playwright.

The chat model is a :class:`~assist.llm.fake.FakeChatModel` that writes a cited reply: this
tier tests the user interface; the real model path is covered by tests/integration (starting
vLLM on CPU here would cost minutes per session for no UI coverage). ``llm_mode["down"] = True``
makes it raise :class:`~assist.errors.LLMError`, as a dead model server does.

Chromium: Debian's ``/usr/bin/chromium`` (``apt-get install chromium``), or ``$ASSIST_TEST_CHROMIUM``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assist.config import Settings
from assist.errors import LLMError
from assist.llm.fake import FakeChatModel, example_for_schema
from assist.types import ChatMessage, GenSettings
from tests.conftest import MODELS_DIR, REPO

CHROMIUM = os.environ.get("ASSIST_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TENANT = "nova"


def cited_reply(messages: list[ChatMessage], settings: GenSettings) -> str:
    """What a well-behaved model writes: grounded, cited, PII placeholders kept as given."""
    if settings.json_schema is not None:
        return json.dumps(example_for_schema(settings.json_schema), ensure_ascii=False)
    if LLM_MODE["down"]:
        raise LLMError("connection refused by the model server at 127.0.0.1 (test: model down)", retryable=True)
    prompt = "\n".join(m.content for m in messages)
    phone = re.search(r"\[PHONE_\d+\]", prompt)
    if re.search(r"[\u4e00-\u9fff]", messages[-1].content):
        # Both claims restate the retrieved FAQ nearly word for word, so the claim check keeps them.
        return ("您好，非常抱歉物流延迟给您带来不便。按承诺时效延迟超过 3 天的订单，客服可为您发放一张 20 元无门槛优惠券 [1]。"
                "其他形式的补偿需主管审批" + (f"（{phone.group(0)}）" if phone else "") + " [1]。")
    return ("Sorry for the delay. For delays over 3 days we add a 5 USD coupon to your account [1]. "
            "Other compensation needs supervisor approval"
            + (f" (we will call you on {phone.group(0)})" if phone else "") + " [2].")


LLM_MODE: dict[str, bool] = {"down": False}


@dataclass
class LiveApp:
    url: str
    settings: Settings
    app: Any
    llm: FakeChatModel
    agent_key: str
    km_key: str

    @property
    def db(self):
        return self.app.state.db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("browser-home")
    # The widget's streamed-draft flow is under test here, so the curated-FAQ shortcut is off:
    # the demo conversation's last question ("物流延迟有补偿吗？") has an approved FAQ answer
    # that would otherwise be returned verbatim (that path: tests/unit/pipeline).
    return Settings(_env_file=None, env="test", home=home, models_path=MODELS_DIR, llm={"provider": "fake"},
                    server={"rate_limit": "100000/minute"}, retrieval={"curated_min_score": 1.01})


@pytest.fixture(scope="session")
def live_app(browser_settings: Settings) -> Iterator[LiveApp]:
    """Ingest examples/kb into tenant nova once, then serve the app on a free port."""
    import uvicorn

    from assist.db import KeyRepository
    from kb_ingest.indexing import Indexer
    from serving.app import create_app

    ix = Indexer.from_settings(browser_settings)
    report = asyncio.run(ix.ingest_paths([REPO / "examples" / "kb"], tenant=TENANT, publish=True))
    asyncio.run(ix.close())
    ix.db.dispose()
    assert report.articles > 10, report

    llm = FakeChatModel(reply_fn=cited_reply, chunk_chars=3)
    app = create_app(browser_settings, llm=llm)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start (see the log above)")
        time.sleep(0.1)
    keys = KeyRepository(app.state.db)
    agent_key, _ = keys.create("agent-li", "agent", TENANT)
    km_key, _ = keys.create("km-wang", "knowledge_manager", TENANT)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", browser_settings, app, llm, agent_key, km_key)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# Module scope, not session: Playwright's sync API runs an asyncio loop in the main thread
# while it is open, and every async test that runs after it in the same session would fail
# with "Runner.run() cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (or set ASSIST_TEST_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Any]:
    """New pages in fresh contexts: ``page_factory(width=1280, locale="zh-CN")``."""
    contexts = []

    def make(width: int = 1280, height: int = 900, locale: str = "zh-CN") -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for c in contexts:
        c.close()


@pytest.fixture
def llm_mode() -> Iterator[dict[str, bool]]:
    LLM_MODE["down"] = False
    yield LLM_MODE
    LLM_MODE["down"] = False


SCREENSHOTS = REPO / "docs" / "screenshots"
