"""A small real publishing stack for concurrency tests: the real Qdrant edge engine, a real
database (SQLite, and PostgreSQL under the ``postgres`` marker), and the fake embedder (the
property under test is the publishing protocol, not the embedding)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assist.config import Settings
from assist.db import ArticleRepository, Database
from assist.embedders.fake import FakeEmbedder
from assist.sparse import SparseEncoder
from assist.stores import make_vector_store
from assist.stores.base import VectorStore
from assist.types import ArticleMeta, ArticleType, Block, ParsedArticle, SearchFilter
from kb_ingest.indexing import Indexer
from kb_ingest.parsers import content_hash
from tests.db_fixtures import BACKENDS, make_database

TENANT = "acme"


@dataclass
class Stack:
    settings: Settings
    db: Database
    store: VectorStore
    embedder: FakeEmbedder
    indexer: Indexer

    def another_indexer(self) -> Indexer:
        """A second indexer on the same database and store: stands in for another process
        (its in-process locks are its own; only the database lock is shared)."""
        return Indexer(settings=self.settings, db=self.db, store=self.store, embedder=self.embedder,
                       sparse=SparseEncoder(self.settings.sparse))


@pytest.fixture(params=BACKENDS)
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = Settings(_env_file=None, env="test", home=tmp_path / "home", models_path=tmp_path / "no-models",
                        llm={"provider": "fake"})
    gen = make_database(request.param, tmp_path)
    db = next(gen)
    embedder = FakeEmbedder()
    store = make_vector_store(settings, dim=embedder.dim, model_id=embedder.model_id)
    await store.ensure_collection()
    indexer = Indexer(settings=settings, db=db, store=store, embedder=embedder, sparse=SparseEncoder(settings.sparse))
    try:
        yield Stack(settings, db, store, embedder, indexer)
    finally:
        await store.close()
        for _ in gen:
            pass


def article(article_id: str, variant: int, *, paragraphs: int = 3) -> ParsedArticle:
    """An article whose text differs by ``variant`` (one paragraph shared by all variants, so
    revisions share a chunk as real edits do)."""
    meta = ArticleMeta(id=article_id, tenant=TENANT, type=ArticleType.SOP, title=f"Refunds v{variant}",
                       language="en")
    blocks = [Block(text="Refunds are paid back to the original payment method.", heading_path=["Shared"])]
    blocks += [Block(text=f"Variant {variant} paragraph {i}: step {i} of the refund procedure, edition {variant}.",
                     heading_path=[f"Part {i}"]) for i in range(paragraphs)]
    return ParsedArticle(meta=meta, blocks=blocks, content_hash=content_hash(meta, blocks))


async def served_chunks(stack: Stack, article_id: str) -> list:
    """What search returns for the article (live chunks only, as agents see them)."""
    q = (await stack.embedder.embed_queries(["refund procedure"]))[0]
    hits = await stack.store.search(dense=q, sparse=None, filters=SearchFilter(tenant=TENANT, article_ids=[article_id]),
                                    top_k=200, candidates=200)
    return [h.chunk for h in hits]


async def assert_one_live_revision_served(stack: Stack, article_id: str) -> int:
    """Exactly one revision is live in the database, and search returns exactly its chunks.
    Returns the live revision."""
    repo = ArticleRepository(stack.db)
    art = repo.get_article(TENANT, article_id)
    assert art is not None and art.live_revision is not None, "nothing is live"
    revs = repo.list_revisions(TENANT, article_id)
    published = [r.revision for r in revs if r.state == "published"]
    assert published == [art.live_revision], f"published revisions {published}, live {art.live_revision}"
    live_index = [r.revision for r in revs if r.index_state == "live"]
    assert live_index == [art.live_revision], f"index-live revisions {live_index}, live {art.live_revision}"
    live = next(r for r in revs if r.revision == art.live_revision)
    served = await served_chunks(stack, article_id)
    served_ids = {c.id for c in served}
    assert served_ids == set(live.chunk_ids), (
        f"search serves {len(served_ids)} chunks, live revision {live.revision} has {len(live.chunk_ids)}; "
        f"stray: {sorted({c.revision for c in served if c.id not in set(live.chunk_ids)})}"
    )
    assert all(c.revision == live.revision for c in served), sorted({c.revision for c in served})
    assert art.publishing_revision is None if hasattr(art, "publishing_revision") else True
    assert repo.unfinished_publishes(TENANT) == []
    return live.revision
