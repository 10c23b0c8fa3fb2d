"""The one assembly of the product's objects: ``Settings`` → database (migrated),
embedder, vector store, chat model (and, on embedded defaults, the local model server
it talks to), pipeline and tenant rules.

The API lifespan, the ``assist`` command line and the evaluation harness all build their
objects here, so a setting means the same thing everywhere and the model server is
started and stopped in one place. The indexer (``kb_ingest``) is built from a runtime
with ``Indexer.from_runtime(rt)``: ``assist`` never imports ``kb_ingest``.

What the runtime builds it also closes; what a caller passes in (a test's fake chat
model, a shared database) stays the caller's, except that the store is closed with the
pipeline.

Example:
    >>> async with open_runtime(Settings()) as rt:                        # doctest: +SKIP
    ...     result = await rt.pipeline.search("退款多久到账？", tenant="default")
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from assist.config import Settings
from assist.db import ArticleRepository, Database, KeyRepository

if TYPE_CHECKING:
    from assist.embedders.base import Embedder
    from assist.llm.base import ChatModel
    from assist.llm.local_server import LocalModelServer
    from assist.pipeline import AssistPipeline
    from assist.sparse import SparseEncoder
    from assist.stores.base import VectorStore
    from assist.tenants import TenantRegistry

log = logging.getLogger(__name__)

__all__ = ["Runtime", "open_database", "open_runtime"]


def open_database(settings: Settings) -> Database:
    """The configured database, migrated to the latest schema."""
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db


@dataclass
class Runtime:
    """The assembled objects of one process (or one command)."""

    settings: Settings
    db: Database
    pipeline: AssistPipeline
    server: LocalModelServer | None = None
    """The embedded model server this runtime started (``llm.provider=embedded``)."""
    owns_db: bool = True
    _closed: bool = False

    # ------------------------------------------------------------------ parts
    @property
    def embedder(self) -> Embedder:
        return self.pipeline.embedder

    @property
    def store(self) -> VectorStore:
        return self.pipeline.store

    @property
    def llm(self) -> ChatModel:
        return self.pipeline.llm

    @property
    def sparse(self) -> SparseEncoder:
        return self.pipeline.retriever.sparse

    @property
    def tenants(self) -> TenantRegistry:
        return self.pipeline.registry

    @property
    def articles(self) -> ArticleRepository:
        return ArticleRepository(self.db)

    @property
    def keys(self) -> KeyRepository:
        return KeyRepository(self.db)

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        llm: ChatModel | None = None,
        db: Database | None = None,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        pipeline: AssistPipeline | None = None,
        need_llm: bool = True,
        tenant: str | None = None,
    ) -> Runtime:
        """Build everything (blocking: loads the embedder, may start the model server).

        Args:
            llm: A chat model to use instead of the configured one (tests, evaluations).
            db, embedder, store: Parts to share instead of building them.
            pipeline: A ready pipeline (tests); the runtime then only adds the database.
            need_llm: ``False`` for commands that never call the model (search, ingest,
                QA): a scripted fake with no replies stands in and no server starts.
            tenant: Build for this tenant alone: its active adapted embedder (``assist
                models adapt``, :func:`assist.embedders.versions.tenant_settings`) and that
                model's own collection replace the configured ones.
        """
        if tenant is not None and embedder is None and store is None and pipeline is None:
            from assist.embedders.versions import tenant_settings

            settings = tenant_settings(settings, tenant)
        owns_db = db is None
        if pipeline is not None:
            db = db or pipeline.db or open_database(settings)
            return cls(settings=settings, db=db, pipeline=pipeline, owns_db=owns_db)
        db = db or open_database(settings)
        server = None
        try:
            if llm is None:
                llm, server = _chat_model(settings, need_llm=need_llm)
            from assist.pipeline import AssistPipeline

            pipe = AssistPipeline.from_settings(settings, llm=llm, db=db, embedder=embedder, store=store)
        except BaseException:
            if server is not None:
                server.stop()
            if owns_db:
                db.dispose()
            raise
        return cls(settings=settings, db=db, pipeline=pipe, server=server, owns_db=owns_db)

    def for_tenant(self, tenant: str) -> Runtime | None:
        """A runtime for ``tenant`` when it has an active adapted embedder (``assist models
        adapt``): that model and its own collection, sharing this runtime's database, chat
        model, sparse encoder, tenant rules and metrics hook (closing it closes only its
        store). None when the tenant uses this runtime's embedder. Blocking (loads the model).
        """
        from assist.embedders.versions import tenant_settings

        ts = tenant_settings(self.settings, tenant)
        if ts is self.settings:
            return None
        rt = Runtime.build(ts, llm=self.llm, db=self.db)
        pipe = rt.pipeline
        pipe.tenants = self.tenants
        pipe.retriever.sparse = self.sparse
        pipe.on_event = self.pipeline.on_event
        return rt

    async def close(self) -> None:
        """Close the store, stop the model server this runtime started, dispose the
        database it opened. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.pipeline.close()
        finally:
            if self.server is not None:
                await anyio.to_thread.run_sync(self.server.stop)
            if self.owns_db:
                self.db.dispose()


def _chat_model(settings: Settings, *, need_llm: bool) -> tuple[ChatModel, LocalModelServer | None]:
    """The configured chat model, starting the embedded server when the provider needs it."""
    if not need_llm:
        from assist.llm.fake import FakeChatModel

        return FakeChatModel(replies=[]), None
    from assist.llm import make_chat_model

    if settings.llm.provider != "embedded":
        return make_chat_model(settings), None
    from assist.llm.local_server import LocalModelServer

    server = LocalModelServer(settings)
    server.start()
    try:
        return make_chat_model(settings, server=server), server
    except BaseException:
        server.stop()
        raise


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    llm: ChatModel | None = None,
    db: Database | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    pipeline: AssistPipeline | None = None,
    need_llm: bool = True,
    tenant: str | None = None,
) -> AsyncIterator[Runtime]:
    """Build a :class:`Runtime` (in a worker thread: loading models blocks) and close it
    on exit. Arguments as in :meth:`Runtime.build`."""
    rt = await anyio.to_thread.run_sync(
        lambda: Runtime.build(settings, llm=llm, db=db, embedder=embedder, store=store, pipeline=pipeline,
                              need_llm=need_llm, tenant=tenant))
    try:
        yield rt
    finally:
        await rt.close()

