"""Articles, their revisions and the publishing workflow.

An article has numbered, immutable revisions. Each revision moves through

    draft --submit--> in_review --approve--> approved --publish--> published
    draft ------------------publish (knowledge manager, --publish)--> published
    any (but archived) --archive--> archived
    superseded|archived (published before) --rollback--> published

and exactly one revision at most is *live* (``articles.live_revision``): the one search
serves. Making a revision live supersedes the previous live one in the same transaction.

Publishing never moves the pointer backwards: a ``publish`` of a revision older than the live
one (the loser of two concurrent updates) leaves the newer one live and marks the older
``superseded``; only ``rollback`` serves an older revision again, and only on purpose.
The pointer changes under a row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` write lock), so the check and the change are one step. The index side is
serialised by :meth:`ArticleRepository.publish_lock` (see ``kb_ingest.indexing``).
Who may publish directly from draft is a role decision made by the caller (``serving``);
this module enforces the state machine only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from assist.errors import ConflictError, InputError, NotFoundError
from assist.types import ArticleMeta, ArticleStatus, ArticleType, Block

from .engine import Database
from .models import Article, ArticleRevision, Tenant, WorkflowEvent, utcnow
from .tenants import check_tenant, ensure_tenant

RevisionState = Literal["draft", "in_review", "approved", "published", "superseded", "archived"]
IndexState = Literal["pending", "staged", "live", "failed"]
INDEXED_STATES: tuple[IndexState, ...] = ("staged", "live")
"""Index states whose chunks the vector index holds (what a re-index rebuilds)."""
WorkflowAction = Literal[
    "create", "update", "submit", "approve", "publish", "archive", "rollback", "index_failed"
]

_ALL_STATES: frozenset[str] = frozenset(get_args(RevisionState))
# action -> (states it may start from, state it leads to; None = state unchanged)
_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "submit": (frozenset({"draft"}), "in_review"),
    "approve": (frozenset({"in_review"}), "approved"),
    "publish": (frozenset({"draft", "approved"}), "published"),
    "archive": (_ALL_STATES - {"archived"}, "archived"),
    "rollback": (frozenset({"superseded", "archived"}), "published"),
    "index_failed": (_ALL_STATES, None),
}
# set_live is the indexer's publish primitive (ingest --publish goes live from draft; rollback
# from superseded/archived). A revision under review must be approved first.
_LIVE_FROM: frozenset[str] = _ALL_STATES - {"in_review"}


class ArticleRecord(ArticleMeta):
    """An article as stored: its metadata plus which revisions exist and which one is live.

    The metadata is the live revision's, or the latest revision's while nothing is live.
    """

    model_config = ConfigDict(frozen=True)

    live_revision: int | None = None
    latest_revision: int
    created_at: datetime
    updated_at: datetime


class RevisionRecord(BaseModel):
    """One revision of an article: its content, workflow state and index state."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    article_id: str
    revision: int
    content_hash: str
    meta: ArticleMeta
    blocks: list[Block]
    chunk_ids: list[str]
    state: RevisionState
    index_state: IndexState
    created_by: str | None
    created_at: datetime


class WorkflowEventRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    tenant: str
    article_id: str
    revision: int | None
    action: WorkflowAction
    actor: str | None
    at: datetime
    note: str | None


class ArticleStats(BaseModel):
    """Counts for a tenant's knowledge-base dashboard."""

    tenant: str
    articles: int = 0
    live: int = 0
    by_status: dict[str, int] = {}
    revisions_by_state: dict[str, int] = {}
    revisions_by_index_state: dict[str, int] = {}
    expired: int = 0
    """Live articles whose ``valid_until`` is before today."""
    review_due: int = 0
    """Articles whose ``review_by`` is today or earlier."""


class ArticleRepository:
    """Reads and writes articles, revisions and workflow events for one tenant at a time.

    Every method takes the tenant explicitly and only ever touches that tenant's rows.
    Getters return ``None`` for a missing row; mutators raise ``NotFoundError``.

    Example:
        >>> repo = ArticleRepository(db)
        >>> rev = repo.create_revision("acme", meta, blocks, content_hash="sha256:...", actor="kb-cli")
        >>> repo.transition("acme", meta.id, rev, "publish", actor="alice")
        >>> repo.get_article("acme", meta.id).live_revision == rev
        True
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- reads

    def get_article(self, tenant: str, article_id: str) -> ArticleRecord | None:
        with self.db.session(readonly=True) as s:
            art = s.get(Article, (check_tenant(tenant), article_id))
            return _article_record(art) if art is not None else None

    def list_articles(
        self,
        tenant: str,
        *,
        status: ArticleStatus | str | None = None,
        type: ArticleType | str | None = None,  # noqa: A002 - mirrors ArticleMeta.type
        expiring_before: date | None = None,
        review_before: date | None = None,
    ) -> list[ArticleRecord]:
        """Articles of ``tenant`` ordered by id.

        Args:
            status: Only this article status.
            type: Only this article type.
            expiring_before: Only articles whose ``valid_until`` is on or before this date.
            review_before: Only articles whose ``review_by`` is on or before this date.
        """
        q = select(Article).where(Article.tenant == check_tenant(tenant))
        if status is not None:
            q = q.where(Article.status == ArticleStatus(status).value)
        if type is not None:
            q = q.where(Article.type == ArticleType(type).value)
        if expiring_before is not None:
            q = q.where(Article.valid_until.is_not(None), Article.valid_until <= expiring_before)
        if review_before is not None:
            q = q.where(Article.review_by.is_not(None), Article.review_by <= review_before)
        with self.db.session(readonly=True) as s:
            return [_article_record(a) for a in s.scalars(q.order_by(Article.article_id))]

    def get_revision(self, tenant: str, article_id: str, revision: int) -> RevisionRecord | None:
        with self.db.session(readonly=True) as s:
            row = s.get(ArticleRevision, (check_tenant(tenant), article_id, revision))
            return _revision_record(row) if row is not None else None

    def list_revisions(self, tenant: str, article_id: str) -> list[RevisionRecord]:
        """All revisions of an article, oldest first."""
        q = (
            select(ArticleRevision)
            .where(ArticleRevision.tenant == check_tenant(tenant), ArticleRevision.article_id == article_id)
            .order_by(ArticleRevision.revision)
        )
        with self.db.session(readonly=True) as s:
            return [_revision_record(r) for r in s.scalars(q)]

    def indexed_revisions(self, tenant: str) -> list[RevisionRecord]:
        """Every revision whose chunks the index holds (index state ``staged`` or
        ``live``), by article id then revision: what a re-index must rebuild."""
        q = (
            select(ArticleRevision)
            .where(
                ArticleRevision.tenant == check_tenant(tenant),
                ArticleRevision.index_state.in_(INDEXED_STATES),
            )
            .order_by(ArticleRevision.article_id, ArticleRevision.revision)
        )
        with self.db.session(readonly=True) as s:
            return [_revision_record(r) for r in s.scalars(q)]

    def indexed_revision_count(self, tenant: str | None = None) -> int:
        """How many revisions the index should hold (staged or live), in ``tenant`` or,
        with None, in every tenant (the service's startup and readiness check)."""
        q = select(func.count()).select_from(ArticleRevision).where(
            ArticleRevision.index_state.in_(INDEXED_STATES)
        )
        if tenant is not None:
            q = q.where(ArticleRevision.tenant == check_tenant(tenant))
        with self.db.session(readonly=True) as s:
            return int(s.scalar(q) or 0)

    def tenant_ids(self) -> list[str]:
        """Every tenant that has written anything, in id order."""
        with self.db.session(readonly=True) as s:
            return list(s.scalars(select(Tenant.id).order_by(Tenant.id)))

    def latest_revision_by_hash(
        self, tenant: str, article_id: str, content_hash: str | None = None
    ) -> RevisionRecord | None:
        """The newest revision, or the newest one with ``content_hash``: re-ingesting unchanged
        content can then reuse it instead of creating a revision.

        Example:
            >>> prev = repo.latest_revision_by_hash("acme", "refund-sop")
            >>> if prev and prev.content_hash == parsed.content_hash: ...  # unchanged, skip
        """
        q = select(ArticleRevision).where(
            ArticleRevision.tenant == check_tenant(tenant), ArticleRevision.article_id == article_id
        )
        if content_hash is not None:
            q = q.where(ArticleRevision.content_hash == content_hash)
        with self.db.session(readonly=True) as s:
            row = s.scalars(q.order_by(ArticleRevision.revision.desc()).limit(1)).first()
            return _revision_record(row) if row is not None else None

    def latest_revision(self, tenant: str, article_id: str) -> RevisionRecord | None:
        """The newest revision of the article, or None."""
        return self.latest_revision_by_hash(tenant, article_id)

    def tenant_exists(self, tenant: str) -> bool:
        """Whether the tenant has any row yet (it is created by its first write)."""
        with self.db.session(readonly=True) as s:
            return s.get(Tenant, check_tenant(tenant)) is not None

    def live_products(self, tenant: str) -> list[str]:
        """Distinct ``product`` values of the tenant's live articles, sorted (entity matching)."""
        q = (
            select(Article.product)
            .where(
                Article.tenant == check_tenant(tenant),
                Article.live_revision.is_not(None),
                Article.product.is_not(None),
            )
            .distinct()
            .order_by(Article.product)
        )
        with self.db.session(readonly=True) as s:
            return [p for p in s.scalars(q) if p]

    def events(self, tenant: str, article_id: str) -> list[WorkflowEventRecord]:
        """The article's workflow history, oldest first."""
        q = (
            select(WorkflowEvent)
            .where(WorkflowEvent.tenant == check_tenant(tenant), WorkflowEvent.article_id == article_id)
            .order_by(WorkflowEvent.id)
        )
        with self.db.session(readonly=True) as s:
            return [WorkflowEventRecord.model_validate(e, from_attributes=True) for e in s.scalars(q)]

    def stats(self, tenant: str, *, today: date | None = None) -> ArticleStats:
        check_tenant(tenant)
        today = today or datetime.now(UTC).date()
        with self.db.session(readonly=True) as s:
            def count_by(column: Any, tenant_column: Any) -> dict[str, int]:
                q = select(column, func.count()).where(tenant_column == tenant).group_by(column)
                return dict(s.execute(q).all())  # type: ignore[arg-type]

            by_status = count_by(Article.status, Article.tenant)
            by_state = count_by(ArticleRevision.state, ArticleRevision.tenant)
            by_index = count_by(ArticleRevision.index_state, ArticleRevision.tenant)
            live = s.scalar(
                select(func.count()).where(Article.tenant == tenant, Article.live_revision.is_not(None))
            )
            expired = s.scalar(
                select(func.count()).where(
                    Article.tenant == tenant, Article.live_revision.is_not(None), Article.valid_until < today
                )
            )
            review_due = s.scalar(
                select(func.count()).where(
                    Article.tenant == tenant, Article.status != "archived", Article.review_by <= today
                )
            )
        return ArticleStats(
            tenant=tenant,
            articles=sum(by_status.values()),
            live=live or 0,
            by_status=by_status,
            revisions_by_state=by_state,
            revisions_by_index_state=by_index,
            expired=expired or 0,
            review_due=review_due or 0,
        )

    # ---------------------------------------------------------------- writes

    def create_revision(
        self,
        tenant: str,
        meta: ArticleMeta,
        blocks: Sequence[Block | dict[str, Any]],
        content_hash: str,
        actor: str | None = None,
    ) -> int:
        """Store a new draft revision; creates the article (and tenant) rows on first use.

        ``tenant`` wins over ``meta.tenant``: it comes from the caller's credentials.

        Returns:
            The new revision number (1 for a new article).
        """
        check_tenant(tenant)
        meta = meta.model_copy(update={"tenant": tenant})
        with self.db.session() as s:
            ensure_tenant(s, tenant)
            art = _lock_article(s, tenant, meta.id)
            if art is None:
                # Two first revisions of one new article at once: INSERT ... ON CONFLICT DO
                # NOTHING, then lock the row, so the second waits for the first and numbers
                # its revision after it (a plain INSERT would fail with a duplicate key).
                now = utcnow()
                s.execute(
                    _insert(s)(Article)
                    .values(tenant=tenant, article_id=meta.id, latest_revision=0, status="draft",
                            created_at=now, updated_at=now, **_meta_columns(meta))
                    .on_conflict_do_nothing(index_elements=["tenant", "article_id"])
                )
                art = _lock_article(s, tenant, meta.id)
                assert art is not None
            is_new = art.latest_revision == 0
            revision = art.latest_revision + 1
            s.add(
                ArticleRevision(
                    tenant=tenant,
                    article_id=meta.id,
                    revision=revision,
                    content_hash=content_hash,
                    meta=meta.model_dump(mode="json"),
                    blocks=[Block.model_validate(b).model_dump(mode="json") for b in blocks],
                    chunk_ids=[],
                    state="draft",
                    index_state="pending",
                    created_by=actor,
                    created_at=utcnow(),
                )
            )
            art.latest_revision = revision
            if art.live_revision is None:
                # While nothing is live, the article row describes the newest draft; once
                # something is live it keeps describing what search serves.
                _apply_meta(art, meta)
            art.updated_at = utcnow()
            s.flush()
            art.status = _derive_status(s, art)
            _event(s, tenant, meta.id, revision, "create" if is_new else "update", actor, None)
            return revision

    def mark_index_state(
        self,
        tenant: str,
        article_id: str,
        revision: int,
        state: IndexState,
        chunk_ids: Sequence[str] | None = None,
        *,
        note: str | None = None,
    ) -> None:
        """Record how far indexing of a revision got (and its chunk ids once known).

        ``failed`` also records an ``index_failed`` workflow event, with ``note`` as the reason.
        """
        if state not in get_args(IndexState):
            raise InputError(f"unknown index state {state!r}: use one of {get_args(IndexState)}")
        with self.db.session() as s:
            row = _get_revision_or_404(s, tenant, article_id, revision)
            row.index_state = state
            if chunk_ids is not None:
                row.chunk_ids = list(chunk_ids)
            if state == "failed":
                _event(s, tenant, article_id, revision, "index_failed", None, note)

    def transition(
        self,
        tenant: str,
        article_id: str,
        revision: int | None,
        action: WorkflowAction,
        actor: str | None = None,
        note: str | None = None,
    ) -> RevisionRecord:
        """Apply a workflow action to a revision and record it as an event.

        ``publish`` and ``rollback`` make the revision live (see :meth:`set_live`);
        ``rollback`` is the publish of an older, previously published revision.
        ``revision=None`` means the latest revision, except for ``archive``, where it archives
        the whole article: the live revision and every draft/in-review/approved one
        (superseded revisions stay superseded, so they can be rolled back to).

        Raises:
            NotFoundError: No such article or revision for this tenant.
            ConflictError: The action is not allowed from the revision's current state.
        """
        if action not in _TRANSITIONS:
            raise InputError(
                f"unknown workflow action {action!r}: use one of {sorted(_TRANSITIONS)} "
                "('create'/'update' happen through create_revision)"
            )
        allowed_from, target = _TRANSITIONS[action]
        with self.db.session() as s:
            art = _lock_article(s, check_tenant(tenant), article_id)
            if art is None:
                raise NotFoundError(f"no article {article_id!r} in tenant {tenant!r}")
            if revision is None and action == "archive":
                return self._archive_article(s, art, actor, note)
            if revision is None:
                revision = art.latest_revision
            row = _get_revision_or_404(s, tenant, article_id, revision)
            if row.state not in allowed_from:
                raise ConflictError(
                    f"cannot {action} revision {revision} of {article_id!r}: it is {row.state}; "
                    f"{action} needs one of {sorted(allowed_from)}"
                )
            if action == "rollback":
                if art.live_revision == revision:
                    raise ConflictError(f"revision {revision} of {article_id!r} is already live")
                if not _was_published(s, tenant, article_id, revision):
                    raise ConflictError(
                        f"cannot roll back to revision {revision} of {article_id!r}: it was never "
                        "published; submit and publish it instead"
                    )
            if action == "publish" and art.live_revision is not None and revision < art.live_revision:
                # A newer revision went live first (concurrent updates): never serve the older.
                _supersede_unpublished(s, art, row, actor)
                s.flush()
                s.refresh(row)
                return _revision_record(row)
            if target == "published":
                _make_live(s, art, row)
            elif target == "archived":
                s.execute(_set_state(tenant, article_id, revision, "archived"))
                if art.live_revision == revision:
                    art.live_revision = None  # nothing is served until another revision goes live
            elif target is not None:
                s.execute(_set_state(tenant, article_id, revision, target))
            else:  # index_failed
                row.index_state = "failed"
            s.flush()
            art.status = _derive_status(s, art)
            art.updated_at = utcnow()
            _event(s, tenant, article_id, revision, action, actor, note)
            s.flush()
            s.refresh(row)
            return _revision_record(row)

    def _archive_article(
        self, s: Session, art: Article, actor: str | None, note: str | None
    ) -> RevisionRecord:
        if art.status == "archived" and art.live_revision is None:
            raise ConflictError(f"article {art.article_id!r} is already archived")
        target = art.live_revision or art.latest_revision
        s.execute(
            update(ArticleRevision)
            .where(
                ArticleRevision.tenant == art.tenant,
                ArticleRevision.article_id == art.article_id,
                ArticleRevision.state.in_(("draft", "in_review", "approved", "published")),
            )
            .values(state="archived")
        )
        art.live_revision = None
        art.status = "archived"
        art.updated_at = utcnow()
        _event(s, art.tenant, art.article_id, None, "archive", actor, note)
        s.flush()
        return _revision_record(_get_revision_or_404(s, art.tenant, art.article_id, target))

    def record_event(
        self,
        tenant: str,
        article_id: str,
        revision: int | None,
        action: WorkflowAction,
        actor: str | None = None,
        note: str | None = None,
    ) -> None:
        """Append a workflow event without changing any state (e.g. the indexer's ``rollback``
        after it re-staged chunks and called :meth:`set_live`)."""
        if action not in get_args(WorkflowAction):
            raise InputError(f"unknown workflow action {action!r}: use one of {get_args(WorkflowAction)}")
        with self.db.session() as s:
            if s.get(Article, (check_tenant(tenant), article_id)) is None:
                raise NotFoundError(f"no article {article_id!r} in tenant {tenant!r}")
            _event(s, tenant, article_id, revision, action, actor, note)

    def set_live(self, tenant: str, article_id: str, revision: int, actor: str | None = None) -> None:
        """Make ``revision`` the one search serves, superseding the previous live revision.

        One transaction: if anything fails, the previous live revision stays live and
        published. A revision in review cannot go live (approve it first). A ``staged`` index
        state becomes ``live``; the previous live revision's becomes ``pending``, because the
        indexer deletes its chunks that the new revision does not share.
        """
        with self.db.session() as s:
            art = _lock_article(s, check_tenant(tenant), article_id)
            if art is None:
                raise NotFoundError(f"no article {article_id!r} in tenant {tenant!r}")
            row = _get_revision_or_404(s, tenant, article_id, revision)
            if art.live_revision == revision and row.state == "published":
                return
            if art.live_revision is not None and revision < art.live_revision and row.state != "superseded":
                _supersede_unpublished(s, art, row, actor)
                return
            if row.state not in _LIVE_FROM:
                raise ConflictError(
                    f"cannot make revision {revision} of {article_id!r} live: it is {row.state}; "
                    "approve it first"
                )
            _make_live(s, art, row)
            art.status = "published"
            _event(s, tenant, article_id, revision, "publish", actor, "set_live")

    # ---------------------------------------------------------------- publish coordination

    @contextmanager
    def publish_lock(self, tenant: str, article_id: str) -> Iterator[None]:
        """Hold the article's publish lock across processes while the index switches.

        PostgreSQL: a session advisory lock on its own connection (a row lock would need a
        transaction held open across the index calls, blocking every other writer of the
        row, and a transaction of the caller's would then wait for itself). SQLite: nothing
        to do here; the embedded vector store admits one process, so the in-process lock of
        the indexer already covers every publisher. Blocking: call it from a worker thread.
        """
        if self.db.dialect != "postgresql":
            yield
            return
        key = f"assist-publish/{check_tenant(tenant)}/{article_id}"
        conn = self.db.engine.connect()
        try:
            conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})
                conn.commit()
        finally:
            conn.close()

    def begin_publish(self, tenant: str, article_id: str, revision: int) -> None:
        """Record, in its own committed transaction, that the index is being switched to
        ``revision``: if the process dies before the pointer moves, :meth:`unfinished_publishes`
        names the article and the indexer's recovery makes the index match the database."""
        with self.db.session() as s:
            s.execute(
                update(Article)
                .where(Article.tenant == check_tenant(tenant), Article.article_id == article_id)
                .values(publishing_revision=revision)
            )

    def end_publish(self, tenant: str, article_id: str) -> None:
        """Clear the in-flight mark: the index now matches the database (the indexer calls it
        last, after the clean-up, so a publish killed during the clean-up is still found)."""
        with self.db.session() as s:
            s.execute(
                update(Article)
                .where(Article.tenant == check_tenant(tenant), Article.article_id == article_id)
                .values(publishing_revision=None)
            )

    def unfinished_publishes(self, tenant: str | None = None) -> list[tuple[str, str]]:
        """``(tenant, article_id)`` of every article whose last publish did not finish."""
        q = select(Article.tenant, Article.article_id).where(Article.publishing_revision.is_not(None))
        if tenant is not None:
            q = q.where(Article.tenant == check_tenant(tenant))
        with self.db.session(readonly=True) as s:
            return [(t, a) for t, a in s.execute(q.order_by(Article.tenant, Article.article_id))]


# -------------------------------------------------------------------- helpers


def _lock_article(s: Session, tenant: str, article_id: str) -> Article | None:
    # FOR UPDATE serialises workflow changes per article on PostgreSQL (SQLite has one writer).
    return s.scalars(
        select(Article).where(Article.tenant == tenant, Article.article_id == article_id).with_for_update()
    ).first()


def _insert(s: Session) -> Any:
    """The dialect's ``insert`` (both have ``on_conflict_do_nothing``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert


def _get_revision_or_404(s: Session, tenant: str, article_id: str, revision: int) -> ArticleRevision:
    row = s.get(ArticleRevision, (check_tenant(tenant), article_id, revision))
    if row is None:
        raise NotFoundError(
            f"no revision {revision} of article {article_id!r} in tenant {tenant!r}: "
            "list them with list_revisions()"
        )
    return row


def _set_state(tenant: str, article_id: str, revision: int, state: str) -> Any:
    return (
        update(ArticleRevision)
        .where(
            ArticleRevision.tenant == tenant,
            ArticleRevision.article_id == article_id,
            ArticleRevision.revision == revision,
        )
        .values(state=state)
    )


def _set_index_state(tenant: str, article_id: str, revision: int, old: str, new: str) -> Any:
    return (
        update(ArticleRevision)
        .where(
            ArticleRevision.tenant == tenant,
            ArticleRevision.article_id == article_id,
            ArticleRevision.revision == revision,
            ArticleRevision.index_state == old,
        )
        .values(index_state=new)
    )


def _make_live(s: Session, art: Article, row: ArticleRevision) -> None:
    """Supersede the old live revision, publish the new one, move the pointer: in this order,
    in the caller's transaction, so a failure at any step leaves the old revision live."""
    tenant, article_id = art.tenant, art.article_id
    previous = art.live_revision
    if previous is not None and previous != row.revision:
        s.execute(_set_state(tenant, article_id, previous, "superseded"))
        s.execute(_set_index_state(tenant, article_id, previous, "live", "pending"))
    s.execute(_set_state(tenant, article_id, row.revision, "published"))
    s.execute(_set_index_state(tenant, article_id, row.revision, "staged", "live"))
    meta = ArticleMeta.model_validate(row.meta)
    s.execute(
        update(Article)
        .where(Article.tenant == tenant, Article.article_id == article_id)
        .values(live_revision=row.revision, status="published", updated_at=utcnow(), **_meta_columns(meta))
    )
    s.refresh(art)


def _supersede_unpublished(s: Session, art: Article, row: ArticleRevision, actor: str | None) -> None:
    """The older revision of a publish race: it never goes live; the newer live one stays."""
    if row.state in ("draft", "approved", "published"):
        s.execute(_set_state(art.tenant, art.article_id, row.revision, "superseded"))
    art.updated_at = utcnow()
    _event(s, art.tenant, art.article_id, row.revision, "update", actor,
           f"not published: revision {art.live_revision}, newer, went live first")


def _was_published(s: Session, tenant: str, article_id: str, revision: int) -> bool:
    q = select(WorkflowEvent.id).where(
        WorkflowEvent.tenant == tenant,
        WorkflowEvent.article_id == article_id,
        WorkflowEvent.revision == revision,
        WorkflowEvent.action.in_(("publish", "rollback")),
    )
    return s.execute(q.limit(1)).first() is not None


def _derive_status(s: Session, art: Article) -> str:
    """The article status shown in lists: published while something is live, otherwise the
    state of the newest revision still in the workflow, otherwise archived."""
    if art.live_revision is not None:
        return "published"
    state = s.scalar(
        select(ArticleRevision.state)
        .where(
            ArticleRevision.tenant == art.tenant,
            ArticleRevision.article_id == art.article_id,
            ArticleRevision.state.in_(("draft", "in_review", "approved")),
        )
        .order_by(ArticleRevision.revision.desc())
        .limit(1)
    )
    return {"draft": "draft", "in_review": "in_review", "approved": "in_review"}.get(state or "", "archived")


def _meta_columns(meta: ArticleMeta) -> dict[str, Any]:
    return {
        "type": meta.type.value,
        "title": meta.title,
        "language": meta.language,
        "product": meta.product,
        "channel": meta.channel,
        "tags": list(meta.tags),
        "owner": meta.owner,
        "effective_from": meta.effective_from,
        "valid_until": meta.valid_until,
        "review_by": meta.review_by,
        "source_file": meta.source_file,
    }


def _apply_meta(art: Article, meta: ArticleMeta) -> None:
    for key, value in _meta_columns(meta).items():
        setattr(art, key, value)


def _event(
    s: Session,
    tenant: str,
    article_id: str,
    revision: int | None,
    action: str,
    actor: str | None,
    note: str | None,
) -> None:
    s.add(
        WorkflowEvent(
            tenant=tenant,
            article_id=article_id,
            revision=revision,
            action=action,
            actor=actor,
            note=note,
            at=utcnow(),
        )
    )


def _article_record(a: Article) -> ArticleRecord:
    return ArticleRecord(
        id=a.article_id,
        tenant=a.tenant,
        type=ArticleType(a.type),
        title=a.title,
        language=a.language,  # type: ignore[arg-type]
        product=a.product,
        channel=a.channel,
        tags=list(a.tags or []),
        owner=a.owner,
        status=ArticleStatus(a.status),
        effective_from=a.effective_from,
        valid_until=a.valid_until,
        review_by=a.review_by,
        source_file=a.source_file,
        live_revision=a.live_revision,
        latest_revision=a.latest_revision,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def _revision_record(r: ArticleRevision) -> RevisionRecord:
    return RevisionRecord(
        tenant=r.tenant,
        article_id=r.article_id,
        revision=r.revision,
        content_hash=r.content_hash,
        meta=ArticleMeta.model_validate(r.meta),
        blocks=[Block.model_validate(b) for b in r.blocks],
        chunk_ids=list(r.chunk_ids or []),
        state=r.state,  # type: ignore[arg-type]
        index_state=r.index_state,  # type: ignore[arg-type]
        created_by=r.created_by,
        created_at=r.created_at,
    )
