"""Ingest: parse → chunk → embed (only what is new) → upsert staged → publish atomically.

The database is the source of truth for articles and revisions; the vector store holds
chunks. A revision's new chunks are written *staged* (invisible to search); publishing
makes them visible in one step and only then deletes the chunks that the previous live
revision had and the new one does not. So revision N keeps serving until N+1 is fully
indexed, and a killed ingest leaves N serving: the next run finds N+1's revision row
(same content hash, not live), re-chunks it, embeds nothing already present and
finishes the switch.

Example:
    >>> indexer = Indexer.from_settings(settings)          # doctest: +SKIP
    >>> report = await indexer.ingest_paths([Path("examples/kb")], tenant="nova", publish=True)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from assist.config import Settings
from assist.db import ArticleRepository, Database
from assist.db.articles import INDEXED_STATES, RevisionRecord
from assist.db.lookup import latest_revisions, live_pointers
from assist.embedders import make_embedder
from assist.embedders.base import Embedder
from assist.errors import AssistError, InputError, NotFoundError
from assist.publish_gate import PublishGate
from assist.sparse import SparseEncoder
from assist.stores import make_vector_store
from assist.stores._payload import STAGED_FIELD, point_id
from assist.stores.base import VectorStore
from assist.types import (
    ArticleMeta,
    ArticleStatus,
    Chunk,
    EncodedChunk,
    IngestError,
    IngestReport,
    ParsedArticle,
    ReindexReport,
)
from kb_ingest.chunking import chunk_article, embedding_text
from kb_ingest.limits import check_document
from kb_ingest.parsers import SUPPORTED_EXTENSIONS, parse_file

if TYPE_CHECKING:
    from assist.coverage import CoverageCalibrator
    from assist.runtime import Runtime

log = logging.getLogger(__name__)

# Files in a knowledge-base folder that are documentation of the folder, not articles.
_SKIP_NAMES = {"readme.md", "readme.txt", "license", "license.md"}
_SIDECAR_SUFFIX = ".meta.yaml"

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; the CLI draws a progress bar from it."""


def discover_files(paths: Iterable[Path]) -> list[tuple[Path, Path | None]]:
    """Expand folders recursively into ``(file, root)`` pairs we can parse, in a stable
    order. ``root`` is the folder named on the command line: ids derived from file names
    and ``source_file`` are relative to it, so equal names in two folders do not clash."""
    out: list[tuple[Path, Path | None]] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and _wanted(f):
                    out.append((f, p))
        else:
            out.append((p, None))  # an explicitly named file is always tried, so a bad one is reported
    return out


def _wanted(f: Path) -> bool:
    name = f.name.lower()
    if name.startswith(".") or name in _SKIP_NAMES or name.endswith(_SIDECAR_SUFFIX):
        return False
    return f.suffix.lower() in SUPPORTED_EXTENSIONS


class KeyedLocks:
    """One ``asyncio.Lock`` per key, created on demand and dropped when nobody holds or
    waits for it; :meth:`hold` takes several keys in sorted order (no deadlock)."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, keys: Iterable[tuple[str, str]]) -> AsyncIterator[None]:
        wanted = sorted(set(keys))
        for k in wanted:
            lock, users = self._locks.get(k, (None, 0))
            self._locks[k] = (lock or asyncio.Lock(), users + 1)
        taken: list[asyncio.Lock] = []
        try:
            for k in wanted:
                lock = self._locks[k][0]
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()
            for k in wanted:
                lock, users = self._locks[k]
                if users <= 1:
                    del self._locks[k]
                else:
                    self._locks[k] = (lock, users - 1)


@dataclass
class _Pending:
    article: ParsedArticle
    revision: int
    chunks: list[Chunk]
    publish: bool


@dataclass
class Indexer:
    """Publishes articles into the database and the vector store."""

    settings: Settings
    db: Database
    store: VectorStore
    embedder: Embedder
    sparse: SparseEncoder
    batch_size: int = 256
    on_publish: list[Callable[[str], None]] = field(default_factory=list)
    """Observers called with the tenant whenever what its search serves changed (publish,
    archive, rollback, re-index). Caches of live knowledge register here once at assembly
    (the retriever's known entities: ``retriever.invalidate_entities``)."""
    coverage: CoverageCalibrator | None = None
    """Re-fits the tenant's covered thresholds after each change of what it serves
    (``assist/coverage.py``; ``coverage.on_publish``). A publish waits for it at most
    ``coverage.publish_wait_s``, then it finishes in the background; its failure is logged
    and never fails the publish. None: no calibration (tests, tools)."""
    _articles: ArticleRepository = field(init=False)
    _locks: KeyedLocks = field(init=False, default_factory=lambda: KeyedLocks())
    _latest: dict = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._articles = ArticleRepository(self.db)

    @classmethod
    def from_runtime(cls, rt: Runtime, *, batch_size: int | None = None) -> Indexer:
        """The indexer of an assembled runtime (``assist.runtime``): it shares the
        runtime's database, store, embedder and sparse encoder (an embedded Qdrant path
        can be opened only once); the runtime closes them."""
        return cls(settings=rt.settings, db=rt.db, store=rt.store, embedder=rt.embedder, sparse=rt.sparse,
                   batch_size=batch_size or max(256, rt.settings.embedder.batch_size),
                   on_publish=[rt.pipeline.retriever.invalidate_entities],
                   coverage=_coverage_calibrator(rt.settings, rt.db, rt.store, rt.embedder, rt.sparse,
                                                 calibrations=rt.pipeline.retriever.calibration, llm=rt.llm))

    @classmethod
    def from_settings(cls, settings: Settings, *, db: Database | None = None) -> Indexer:
        embedder = make_embedder(settings)
        embedder.warm_up()
        if db is None:
            db = Database(settings.resolved_database_url)
            db.migrate()
        store = make_vector_store(settings, dim=embedder.dim, model_id=embedder.model_id)
        sparse = SparseEncoder(settings.sparse)
        return cls(
            settings=settings,
            db=db,
            store=store,
            embedder=embedder,
            sparse=sparse,
            batch_size=max(256, settings.embedder.batch_size),
            coverage=_coverage_calibrator(settings, db, store, embedder, sparse),
        )

    # ------------------------------------------------------------------ ingest
    async def ingest_paths(
        self,
        paths: Sequence[Path],
        *,
        tenant: str,
        publish: bool = False,
        actor: str = "cli",
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Ingest files and folders. Bad files are reported in ``errors``; the rest go in."""
        files = discover_files(paths)
        report = IngestReport(files=len(files))
        parsed: list[tuple[Path, list[ParsedArticle]]] = []
        max_bytes = self.settings.ingest.max_file_bytes

        def parse(f: Path, root: Path | None) -> list[ParsedArticle]:
            check_document(f, name=f.name)
            return parse_file(f, max_bytes=max_bytes, root=root)

        for i, (f, root) in enumerate(files):
            try:
                # Parsing is CPU work (PDF, office XML): a worker thread, so the service's
                # event loop keeps answering other requests meanwhile.
                arts = await anyio.to_thread.run_sync(parse, f, root)
                parsed.append((f, arts))
            except InputError as e:
                report.errors.append(IngestError(file=str(f), error=e.message))
            except Exception as e:  # a parser bug must not stop the other files
                log.exception("parser failed on %s", f)
                report.errors.append(IngestError(file=str(f), error=f"could not parse: {e}"))
            if progress:
                progress("parse", i + 1, len(files))
        seen: dict[str, Path] = {}
        articles: list[ParsedArticle] = []
        for f, arts in parsed:
            for a in arts:
                if a.meta.id in seen:
                    report.errors.append(
                        IngestError(
                            file=str(f),
                            error=f"duplicate article id {a.meta.id!r}: already defined in {seen[a.meta.id]}",
                        )
                    )
                    continue
                seen[a.meta.id] = f
                articles.append(a)
        await self.ingest_articles(articles, tenant=tenant, publish=publish, actor=actor, report=report,
                                   progress=progress)
        return report

    async def ingest_articles(
        self,
        articles: Sequence[ParsedArticle],
        *,
        tenant: str,
        publish: bool = False,
        actor: str = "cli",
        report: IngestReport | None = None,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        report = report or IngestReport()
        await self.store.ensure_collection()
        pending: list[_Pending] = []
        articles = [_with_tenant(a, tenant) for a in articles]
        self._latest = latest_revisions(self.db, tenant, [a.meta.id for a in articles])
        # One transaction for all new revisions (a unit of work), not one per article; in a
        # worker thread, since chunking (tokenising every block) is CPU work.
        def plan_all() -> None:
            with self.db.session():
                for art in articles:
                    want_live = publish or art.meta.status == ArticleStatus.PUBLISHED
                    try:
                        p = self._plan(art, want_live=want_live, actor=actor, report=report)
                    except AssistError as e:
                        report.errors.append(IngestError(file=art.meta.source_file or art.meta.id,
                                                         error=e.message))
                        continue
                    if p is not None:
                        pending.append(p)
                    report.articles += 1

        await anyio.to_thread.run_sync(plan_all)

        # Embed only chunks the store does not hold yet, in large batches across articles.
        all_chunks = [c for p in pending for c in p.chunks]
        present = await self.store.existing_ids([c.id for c in all_chunks]) if all_chunks else set()
        todo: dict[str, Chunk] = {}
        for c in all_chunks:
            if c.id not in present and c.id not in todo:
                todo[c.id] = c
        report.chunks_skipped += len(all_chunks) - len(todo)
        await self._embed_and_stage(list(todo.values()), progress=progress)
        report.chunks_embedded += len(todo)

        # Brand-new articles: their staged chunks already carry the article's fields, so one
        # activation makes them all searchable, and one transaction records them all. Under
        # their publish locks, and only while nothing of theirs is live: an upload of the same
        # id that raced us and went live first makes ours an ordinary (locked) publish.
        fresh_candidates = [p for p in pending if p.publish and self._latest.get(p.article.meta.id) is None]
        gate_note = await PublishGate.of(self).check_new(  # the publish gate; blocked: all staged, then raised
            tenant, [(p.article.meta.id, p.revision, [c.id for c in p.chunks]) for p in fresh_candidates],
            staged=[(p.article.meta.id, p.revision, [c.id for c in p.chunks]) for p in pending], actor=actor)
        async with self._locks.hold([(tenant, p.article.meta.id) for p in fresh_candidates]):
            live_now = live_pointers(self.db, tenant, [p.article.meta.id for p in fresh_candidates])
            fresh = [p for p in fresh_candidates if live_now.get(p.article.meta.id) is None]
            if fresh:
                await self.store.activate([c.id for p in fresh for c in p.chunks])
            with self.db.session():
                for p in pending:
                    self._articles.mark_index_state(tenant, p.article.meta.id, p.revision, "staged",
                                                    chunk_ids=[c.id for c in p.chunks])
                for p in fresh:
                    self._articles.transition(tenant, p.article.meta.id, p.revision, "publish", actor=actor,
                                              note=gate_note)
        if fresh:
            self._published(tenant)
        fresh_ids = {id(p) for p in fresh}
        changed = bool(fresh)
        for p in pending:
            if p.publish and id(p) not in fresh_ids:
                report.chunks_deleted += await self.publish(tenant, p.article.meta.id, p.revision, actor=actor,
                                                            calibrate=False)
                changed = True
        if changed:
            await self._recalibrate(tenant)
        return report

    def _plan(self, art: ParsedArticle, *, want_live: bool, actor: str, report: IngestReport) -> _Pending | None:
        meta = art.meta
        latest = self._latest.get(meta.id)
        if latest is not None and latest.content_hash == art.content_hash and latest.index_state in (
            "staged",
            "live",
        ):
            # Unchanged: nothing to embed. Publish it if asked and not live yet.
            report.chunks_total += len(latest.chunk_ids)
            report.chunks_skipped += len(latest.chunk_ids)
            if want_live and latest.index_state != "live":
                return _Pending(art, latest.revision, self._chunk(art, latest.revision), True)
            return None
        if latest is not None and latest.content_hash == art.content_hash:
            revision = latest.revision  # an interrupted ingest of this content: finish it
        else:
            revision = self._articles.create_revision(meta.tenant, meta, art.blocks, art.content_hash, actor)
        chunks = self._chunk(art, revision)
        report.chunks_total += len(chunks)
        return _Pending(art, revision, chunks, want_live)

    def _chunk(self, art: ParsedArticle, revision: int) -> list[Chunk]:
        return chunk_article(
            art,
            count_tokens=self.embedder.count_tokens,
            max_tokens=self.settings.ingest.chunk_tokens,
            overlap_tokens=self.settings.ingest.chunk_overlap_tokens,
            revision=revision,
        )

    async def _embed_and_stage(self, chunks: list[Chunk], *, progress: ProgressFn | None) -> None:
        total = len(chunks)
        for start in range(0, total, self.batch_size):
            batch = chunks[start : start + self.batch_size]
            texts = [embedding_text(c) for c in batch]
            dense = await self.embedder.embed_documents(texts)
            sparse = await anyio.to_thread.run_sync(self.sparse.encode_documents, texts)  # tokenising: CPU
            await self.store.upsert(
                [EncodedChunk(chunk=c, dense=d, sparse=s) for c, d, s in zip(batch, dense, sparse, strict=True)],
                staged=True,
            )
            if progress:
                progress("embed", min(start + len(batch), total), total)

    # ------------------------------------------------------------------ publish
    # Publishing is serialised per article: an in-process lock (every coroutine of this
    # indexer) and, on PostgreSQL, an advisory lock (every process), held from the index
    # switch to the pointer change and the clean-up. Inside, the order is: mark the publish as
    # in flight (committed) -> activate the new revision's chunks -> move the live pointer
    # (row-locked, never backwards: an older revision loses to a newer live one) -> make the
    # index hold exactly the live revision's chunks (``_reconcile``). Killed anywhere, the
    # mark stays and :meth:`recover` repeats the last step from the database's state.

    @asynccontextmanager
    async def _publish_lock(self, tenant: str, article_id: str) -> AsyncIterator[None]:
        async with self._locks.hold([(tenant, article_id)]):
            cm = self._articles.publish_lock(tenant, article_id)
            # Shielded: a request cancelled while it waits must not leave the lock taken.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(cm.__enter__)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(cm.__exit__, None, None, None)

    async def _ensure_present(self, tenant: str, rev: RevisionRecord) -> list[str]:
        """The revision's chunk ids, re-embedding (staged) any the store lost since it was
        indexed: a concurrent publish of a sibling revision may have deleted a shared one."""
        art = _with_tenant(ParsedArticle(meta=rev.meta, blocks=rev.blocks, content_hash=rev.content_hash), tenant)
        ids = list(rev.chunk_ids)
        present = await self.store.existing_ids(ids) if ids else set()
        if len(present) < len(set(ids)):
            chunks = self._chunk(art, rev.revision)
            by_id = {c.id: c for c in chunks}
            await self._embed_and_stage([by_id[i] for i in ids if i not in present and i in by_id],
                                        progress=None)
        return ids

    async def _reconcile(self, tenant: str, article_id: str, *, drop: Iterable[str] = (),
                         refresh_live: bool = False) -> int:
        """Make the index serve exactly the database's live revision of the article.

        Every other point of the article is either deleted (if it is in ``drop``, the chunks of
        the revision just replaced, and no staged revision needs it) or staged again
        (invisible to search, kept for a revision waiting to be published). With
        ``refresh_live`` the live chunks are (re)activated too (crash recovery).
        Returns the number of points deleted.
        """
        article = self._articles.get_article(tenant, article_id)
        live_ids: set[str] = set()
        keep: set[str] = set()
        live_rev: RevisionRecord | None = None
        for r in self._articles.list_revisions(tenant, article_id):
            if article is not None and r.revision == article.live_revision:
                live_rev = r
                live_ids = {point_id(c) for c in r.chunk_ids}
            elif r.index_state == "staged":
                keep.update(point_id(c) for c in r.chunk_ids)
        if live_rev is not None and refresh_live:
            ids = await self._ensure_present(tenant, live_rev)
            await self.store.activate(ids, payload=_live_payload(live_rev.meta, live_rev.revision))
        extra = await self.store.ids_for_article(tenant, article_id) - live_ids
        deletable = ({point_id(c) for c in drop} & extra) - keep
        hide = extra - deletable
        if hide:
            await self.store.set_payload(sorted(hide), {STAGED_FIELD: True})
        deleted = await self.store.delete(sorted(deletable)) if deletable else 0
        if article is not None:
            self._articles.end_publish(tenant, article_id)
        return deleted

    async def _publish_locked(self, tenant: str, article_id: str, revision: int, *, actor: str,
                              note: str | None, rollback: bool) -> int:
        rev = self._articles.get_revision(tenant, article_id, revision)
        if rev is None:
            raise NotFoundError(f"article {article_id!r} has no revision {revision} in tenant {tenant!r}")
        if rev.index_state not in INDEXED_STATES:
            raise InputError(
                f"revision {revision} of {article_id!r} is not indexed yet (state {rev.index_state}); "
                "ingest it again to index it"
            )
        article = self._articles.get_article(tenant, article_id)
        live = article.live_revision if article is not None else None
        if not rollback and live is not None and revision < live and rev.state in ("draft", "approved"):
            # Lost a race to a newer revision: record it as superseded, serve the newer one.
            self._articles.transition(tenant, article_id, revision, "publish", actor=actor, note=note)
            return await self._reconcile(tenant, article_id)
        old_ids: list[str] = []
        if live is not None and live != revision:
            old = self._articles.get_revision(tenant, article_id, live)
            old_ids = list(old.chunk_ids) if old else []
        new_ids = await self._ensure_present(tenant, rev)
        self._articles.begin_publish(tenant, article_id, revision)
        await self.store.activate(new_ids, payload=_live_payload(rev.meta, revision))
        if rollback or rev.state in ("superseded", "archived"):
            self._articles.transition(tenant, article_id, revision, "rollback", actor=actor, note=note)
        elif rev.state in ("draft", "approved"):
            self._articles.transition(tenant, article_id, revision, "publish", actor=actor, note=note)
        else:
            self._articles.set_live(tenant, article_id, revision, actor=actor)
        now = self._articles.get_article(tenant, article_id)
        if now is not None and now.live_revision == revision:
            self._articles.mark_index_state(tenant, article_id, revision, "live")
        return await self._reconcile(tenant, article_id, drop=old_ids)

    async def publish(self, tenant: str, article_id: str, revision: int, *, actor: str = "cli",
                      note: str | None = None, calibrate: bool = True) -> int:
        """Make ``revision`` the live one, unless a newer revision is live already (then it is
        recorded as superseded and the newer one keeps serving). Serialised per article.

        Returns the number of chunks deleted from the index.

        Raises:
            PublishBlocked: The publish gate (``assist.publish_gate``) found golden items
                that this revision answers worse, and no override reason was given.
        """
        note = await PublishGate.of(self).check(tenant, article_id, revision, actor=actor, note=note)
        async with self._publish_lock(tenant, article_id):
            deleted = await self._publish_locked(tenant, article_id, revision, actor=actor, note=note,
                                                 rollback=False)
        self._published(tenant)
        if calibrate:  # ingest_articles calibrates once after all its publishes
            await self._recalibrate(tenant)
        return deleted

    async def archive(self, tenant: str, article_id: str, *, actor: str = "cli", note: str | None = None) -> int:
        """Take an article out of search; its revisions stay in the database for rollback."""
        async with self._publish_lock(tenant, article_id):
            article = self._articles.get_article(tenant, article_id)
            if article is None:
                raise NotFoundError(f"no article {article_id!r} in tenant {tenant!r}")
            # revision None archives the whole article (every draft, review and live revision).
            self._articles.transition(tenant, article_id, None, "archive", actor=actor, note=note)
            deleted = await self.store.delete_article(tenant, article_id)
        self._published(tenant)
        await self._recalibrate(tenant)
        return deleted

    async def rollback(self, tenant: str, article_id: str, to_revision: int, *, actor: str = "cli",
                       note: str | None = None) -> int:
        """Serve an earlier published revision again; re-embeds only chunks deleted since."""
        async with self._publish_lock(tenant, article_id):
            rev = self._articles.get_revision(tenant, article_id, to_revision)
            if rev is None:
                raise NotFoundError(f"article {article_id!r} has no revision {to_revision}")
            art = ParsedArticle(meta=rev.meta, blocks=rev.blocks, content_hash=rev.content_hash)
            chunks = self._chunk(_with_tenant(art, tenant), to_revision)
            present = await self.store.existing_ids([c.id for c in chunks])
            await self._embed_and_stage([c for c in chunks if c.id not in present], progress=None)
            self._articles.mark_index_state(tenant, article_id, to_revision, "staged",
                                            chunk_ids=[c.id for c in chunks])
            deleted = await self._publish_locked(tenant, article_id, to_revision, actor=actor, note=note,
                                                 rollback=True)
        self._published(tenant)
        await self._recalibrate(tenant)
        return deleted

    async def recover(self, tenant: str | None = None) -> int:
        """Finish the publishes a killed process left half done: each such article's index is
        made to serve exactly its live revision again. Returns how many were repaired."""
        todo = self._articles.unfinished_publishes(tenant)
        for t, article_id in todo:
            async with self._publish_lock(t, article_id):
                await self._reconcile(t, article_id, refresh_live=True)
            log.warning("recovered an interrupted publish of %s/%s", t, article_id)
            self._published(t)
        return len(todo)

    # ------------------------------------------------------------------ re-index
    async def reindex(self, tenant: str, *, prune: bool = False, progress: ProgressFn | None = None) -> ReindexReport:
        """Rebuild a tenant's vector index from the article store (the database).

        Every revision the index should hold (index state ``staged`` or ``live``) is
        chunked again with the current settings; the chunks the collection lacks are
        embedded and staged, and live revisions are activated. Needed whenever the
        collection is new or incomplete while the database is not: after switching the
        embedder (another model, or ``quantize=int8``, each its own collection), after
        moving from the embedded engine to a Qdrant server or cluster, or after losing the
        index. Re-ingesting the source files would not do it: unchanged articles are
        skipped by content hash.

        Idempotent (a second run embeds nothing) and resumable: an interrupted run keeps
        what it embedded. Revisions become searchable when they are activated at the end;
        until then search answers from what the collection already holds.

        ``prune=True`` then deletes the tenant's points that no staged or live revision
        references: the leftovers of a publish that was interrupted between embedding and
        recording its chunks, or of an index restored from an older snapshot. Do not prune
        while a publish of the same tenant is in flight on a shared Qdrant server (its new
        chunks are not recorded yet); the embedded engine admits one process, so there the
        question does not arise.
        """
        if not self._articles.tenant_exists(tenant):
            raise NotFoundError(f"unknown tenant {tenant!r}: publish an article for it first")
        await self.store.ensure_collection()
        report = ReindexReport(tenant=tenant)
        plans: list[tuple[RevisionRecord, list[Chunk]]] = []
        for rev in self._articles.indexed_revisions(tenant):
            art = ParsedArticle(meta=rev.meta, blocks=rev.blocks, content_hash=rev.content_hash)
            plans.append((rev, self._chunk(_with_tenant(art, tenant), rev.revision)))
        todo: dict[str, Chunk] = {}
        for _, chunks in plans:
            for c in chunks:
                todo.setdefault(c.id, c)
        present = await self.store.existing_ids(list(todo)) if todo else set()
        missing = [c for cid, c in todo.items() if cid not in present]
        await self._embed_and_stage(missing, progress=progress)
        for rev, chunks in plans:
            ids = [c.id for c in chunks]
            if ids != list(rev.chunk_ids):  # another embedder's tokenizer cuts other chunks
                self._articles.mark_index_state(tenant, rev.article_id, rev.revision, rev.index_state,
                                                chunk_ids=ids)
            if rev.index_state == "live":
                await self.store.activate(ids, payload=_live_payload(rev.meta, rev.revision))
                report.live += 1
            report.revisions += 1
        report.chunks_total = len(todo)  # distinct chunks (revisions share unchanged ones)
        report.chunks_embedded = len(missing)
        report.chunks_skipped = len(todo) - len(missing)
        if prune:
            orphans = await self.store.ids_for_tenant(tenant) - set(todo)
            report.chunks_pruned = await self.store.delete(sorted(orphans))
        self._published(tenant)
        await self._recalibrate(tenant)
        return report

    def _published(self, tenant: str) -> None:
        for observer in self.on_publish:
            try:
                observer(tenant)
            except Exception:  # an observer's failure must not undo or fail a publish
                log.exception("an on_publish observer failed for tenant %s", tenant)

    async def _recalibrate(self, tenant: str) -> None:
        """Re-fit the tenant's covered thresholds (``coverage``), waiting at most
        ``coverage.publish_wait_s``; never raises."""
        if self.coverage is None or not self.settings.coverage.on_publish:
            return
        try:
            task = self.coverage.schedule(tenant)
            wait = self.settings.coverage.publish_wait_s
            if wait > 0:
                await asyncio.wait({task}, timeout=wait)
        except Exception:  # the calibration must never fail a publish
            log.exception("coverage calibration of tenant %s could not start", tenant)

    async def settle(self, wait_s: float | None = None) -> bool:
        """Wait for the coverage calibrations still running in the background (the CLI
        before it exits, the evaluation before it asks); True when none is left."""
        return True if self.coverage is None else await self.coverage.settle(wait_s)

    async def close(self) -> None:
        await self.settle(60.0)  # a calibration still running would search a closed store
        await self.store.close()


def _coverage_calibrator(settings: Settings, db: Database, store: VectorStore, embedder: Embedder,
                         sparse: SparseEncoder, *, calibrations: object = None,
                         llm: object = None) -> CoverageCalibrator:
    """The publish-time coverage calibrator; the chat model only when it is a real one (a
    scripted fake's replies belong to the caller's drafts)."""
    from assist.calibration import CalibrationStore
    from assist.coverage import CoverageCalibrator
    from assist.llm.fake import FakeChatModel

    store_ = calibrations if isinstance(calibrations, CalibrationStore) else \
        CalibrationStore(settings.home / "calibration")
    model = None if llm is None or isinstance(llm, FakeChatModel) else llm
    return CoverageCalibrator(settings=settings, db=db, store=store, embedder=embedder, sparse=sparse,
                              calibrations=store_, llm=model)  # type: ignore[arg-type]


def _with_tenant(art: ParsedArticle, tenant: str) -> ParsedArticle:
    if art.meta.tenant == tenant:
        return art
    return art.model_copy(update={"meta": art.meta.model_copy(update={"tenant": tenant})})


def _live_payload(meta: ArticleMeta, revision: int) -> dict:
    """Article-level fields every live chunk carries (they may change between revisions
    while a chunk's text, hence its id, stays the same)."""
    keys = ("title", "type", "language", "product", "channel", "tags", "effective_from", "valid_until")
    data = meta.model_dump()
    payload = {k: data.get(k) for k in keys}
    payload["revision"] = revision
    return payload

