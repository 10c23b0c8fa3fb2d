"""Both sample tenants on one real stack (e5, the Qdrant engine, SQLite), ingested once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from assist.config import Settings
from assist.db import Database
from assist.sparse import SparseEncoder
from assist.stores import make_vector_store
from kb_ingest.indexing import Indexer
from tests.conftest import MODELS_DIR, REPO
from tests.unit.pipeline.conftest import e5  # noqa: F401  (the session's e5 model)

TENANTS_DIR = REPO / "examples" / "tenants"
# The sample retailer's phrasebook, FAQ and standards (enough to be found by a search that
# ignored the tenant), and the whole bank knowledge base.
NOVA_KB = [REPO / "examples" / "kb" / "policies", REPO / "examples" / "kb" / "faq" / "faq-zh.csv",
           REPO / "examples" / "kb" / "faq" / "faq-en.csv"]
BANK_KB = [REPO / "examples" / "kb-bank"]


def tenant_settings(home: Path) -> Settings:
    return Settings(_env_file=None, env="test", home=home, models_path=MODELS_DIR, tenants_dir=TENANTS_DIR,
                    llm={"provider": "fake"})


@pytest.fixture(scope="module")
def two_tenants(tmp_path_factory: pytest.TempPathFactory, e5) -> Iterator[tuple[Settings, Database, object, Indexer]]:  # noqa: F811
    settings = tenant_settings(tmp_path_factory.mktemp("two-tenants"))
    db = Database(settings.resolved_database_url)
    db.migrate()
    store = make_vector_store(settings, dim=e5.dim, model_id=e5.model_id)
    ix = Indexer(settings=settings, db=db, store=store, embedder=e5, sparse=SparseEncoder(settings.sparse))

    async def ingest() -> None:
        for paths, tenant in ((NOVA_KB, "nova"), (BANK_KB, "bank")):
            report = await ix.ingest_paths(paths, tenant=tenant, publish=True)
            assert not report.errors, report.errors
            assert report.articles >= 4, report

    asyncio.run(ingest())
    yield settings, db, store, ix
    asyncio.run(store.close())
    db.dispose()
