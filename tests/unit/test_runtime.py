"""assist.runtime: one assembly for the API, the CLI and the evaluation harness (fakes only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import assist.llm.local_server as local_server
from assist.config import Settings
from assist.embedders.fake import FakeEmbedder
from assist.llm.fake import FakeChatModel
from assist.runtime import Runtime, open_runtime

pytestmark = pytest.mark.fast


def _settings(tmp_path: Path, **llm: Any) -> Settings:
    return Settings(_env_file=None, env="test", home=tmp_path / "home", models_path=tmp_path / "no-models",
                    embedder={"model": "fake"}, llm=llm or {"provider": "fake"})


class FakeServer:
    """Stands in for LocalModelServer: records start and stop, serves nothing."""

    instances: list[FakeServer] = []

    def __init__(self, settings: Settings) -> None:
        self.base_url = "http://127.0.0.1:1/v1"
        self.served_model_name = "tiny"
        self.started = self.stopped = False
        FakeServer.instances.append(self)

    def start(self) -> FakeServer:
        self.started = True
        return self

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> type[FakeServer]:
    FakeServer.instances = []
    monkeypatch.setattr(local_server, "LocalModelServer", FakeServer)
    return FakeServer


async def test_open_runtime_builds_one_graph_and_closes_it(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    async with open_runtime(s) as rt:
        assert isinstance(rt.embedder, FakeEmbedder) and rt.pipeline.embedder is rt.embedder
        assert rt.pipeline.db is rt.db and rt.pipeline.store is rt.store
        assert rt.sparse is rt.pipeline.retriever.sparse and rt.tenants is rt.pipeline.registry
        assert rt.articles.tenant_ids() == [] and rt.keys.list(None) == []  # migrated
        assert rt.server is None
    assert rt._closed
    await rt.close()  # idempotent


async def test_need_llm_false_never_starts_the_model_server(tmp_path: Path, fake_server: type[FakeServer]) -> None:
    async with open_runtime(_settings(tmp_path, provider="embedded"), need_llm=False) as rt:
        assert isinstance(rt.llm, FakeChatModel) and rt.server is None
    assert fake_server.instances == []


async def test_embedded_provider_starts_and_stops_the_server(tmp_path: Path, fake_server: type[FakeServer]) -> None:
    async with open_runtime(_settings(tmp_path, provider="embedded")) as rt:
        (server,) = fake_server.instances
        assert rt.server is server and server.started and not server.stopped
        assert rt.llm.model_id.endswith("tiny")
    assert server.stopped


def test_a_failed_build_stops_the_server_it_started(tmp_path: Path, fake_server: type[FakeServer],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from assist.pipeline import AssistPipeline

    def broken(*a: Any, **k: Any) -> AssistPipeline:
        raise RuntimeError("reranker misconfigured")

    monkeypatch.setattr(AssistPipeline, "from_settings", broken)
    with pytest.raises(RuntimeError, match="reranker"):
        Runtime.build(_settings(tmp_path, provider="embedded"))
    (server,) = fake_server.instances
    assert server.started and server.stopped


async def test_given_parts_are_shared_and_a_given_database_stays_open(tmp_path: Path) -> None:
    from assist.runtime import open_database

    s = _settings(tmp_path)
    db = open_database(s)
    llm = FakeChatModel(replies=["hi"])
    emb = FakeEmbedder(dim=16)
    async with open_runtime(s, llm=llm, db=db, embedder=emb) as rt:
        assert rt.llm is llm and rt.db is db and rt.embedder is emb and not rt.owns_db
    from assist.db import KeyRepository

    assert KeyRepository(db).list(None) == []  # still usable after the runtime closed
    db.dispose()


async def test_indexer_from_runtime_shares_its_parts(tmp_path: Path) -> None:
    from kb_ingest.indexing import Indexer

    async with open_runtime(_settings(tmp_path)) as rt:
        ix = Indexer.from_runtime(rt)
        assert (ix.db, ix.store, ix.embedder, ix.sparse) == (rt.db, rt.store, rt.embedder, rt.sparse)
        assert ix.batch_size >= 256
