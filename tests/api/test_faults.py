"""Faults: the model server down (real OpenAI-compatible client path) and the database down."""

from __future__ import annotations

import asyncio
import json
from contextlib import contextmanager

import pytest

from assist.db import Database
from assist.llm.openai_compat import OpenAICompatibleChatModel
from tests.api.conftest import Service, assert_envelope, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "NovaBook 14 Pro 的电池保修多久？屏幕闪烁怎么办"


@contextmanager
def model_server_down(service: Service):
    """Point the pipeline at a real OpenAI-compatible client whose server is not running."""
    pipe = service.app.state.pipeline
    dead = OpenAICompatibleChatModel(f"http://127.0.0.1:{free_port()}/v1", "qwen", timeout_s=5,
                                     connect_timeout_s=1, max_retries=1, backoff_s=0.05)
    saved = pipe.llm, pipe._writer.llm, pipe.settings.retrieval.curated_min_score
    pipe.llm = pipe._writer.llm = dead
    pipe.settings.retrieval.curated_min_score = 1.01  # force the model path, not a curated FAQ answer
    try:
        yield
    finally:
        pipe.llm, pipe._writer.llm, pipe.settings.retrieval.curated_min_score = saved


def test_model_down_draft_is_retrieval_only(service: Service, allow_backend_requests: None) -> None:
    turns = [{"role": "customer", "text": QUESTION}]
    with model_server_down(service), service.client(timeout=30) as c:
        r = c.post("/v1/assist/draft", json={"turns": turns})
        with c.stream("POST", "/v1/assist/draft", json={"turns": turns, "stream": True}) as s:
            lines = [ln for ln in s.iter_lines() if ln.startswith("data: ")]
        chat = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]},
                      headers=service.headers("bot"))
        ready = c.get("/readyz")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "no_draft" and d["sources"] and "model_unavailable" in d["flags"]
    assert d["detail"] and "no draft" in d["detail"]
    done = json.loads(lines[-1][6:])
    assert done["status"] == "no_draft" and done["sources"]
    assert chat.status_code == 200 and chat.json()["assist"]["status"] == "no_draft"
    assert ready.status_code == 503 and ready.json()["checks"]["model_server"].startswith("error")
    # back to normal once the model is back
    with service.client() as c:
        assert c.post("/v1/assist/draft", json={"turns": turns}).json()["status"] in ("drafted", "curated")


def test_database_down_is_503_and_nothing_is_lost(service: Service) -> None:
    state = service.app.state
    with service.client("knowledge_manager") as c:
        before = {a["id"] for a in c.get("/v1/articles").json()}
    dead = Database(f"postgresql+psycopg://assist:pw@127.0.0.1:{free_port()}/assist")
    saved = state.db, state.pipeline.db, state.indexer.db
    state.db = state.pipeline.db = state.indexer.db = dead
    try:
        with service.client("knowledge_manager") as c:
            err = assert_envelope(c.get("/v1/articles"), 503)
            assert "database" in err["message"] and "pw" not in err["message"]
            assert_envelope(c.post("/v1/search", json={"query": "退款"}), 503)
            assert c.get("/readyz").status_code == 503
            assert c.get("/healthz").status_code == 200
    finally:
        state.db, state.pipeline.db, state.indexer.db = saved
        dead.dispose()
    with service.client("knowledge_manager") as c:
        after = {a["id"] for a in c.get("/v1/articles").json()}
    assert before <= after


def test_empty_index_beside_a_populated_database_is_not_ready(service: Service) -> None:
    """After an embedder switch (a new, empty collection) search would say "not covered" to
    everything; readiness says why and names the command that rebuilds the index."""
    from assist.stores import make_vector_store

    pipe = service.app.state.pipeline
    empty = make_vector_store(pipe.settings, dim=pipe.embedder.dim, model_id="switched-embedder")
    saved = pipe.store
    pipe.store = empty
    try:
        with service.client() as c:
            ready = c.get("/readyz")
    finally:
        pipe.store = saved
        asyncio.run(empty.close())
    assert ready.status_code == 503
    msg = ready.json()["checks"]["vector_store"]
    assert pipe.embedder.model_id in msg and "is empty" in msg and "assist kb reindex --all-tenants" in msg
    with service.client() as c:
        assert c.get("/readyz").json()["checks"]["vector_store"] == "ok"
