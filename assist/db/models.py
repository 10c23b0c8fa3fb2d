"""SQLAlchemy ORM models: the SQL source of truth for articles, keys, feedback and eval runs.

These classes stay inside ``assist.db``: repositories return pydantic records, never ORM
objects, so nothing outlives its session. Every change here needs an Alembic migration in
``assist/db/migrations/versions``; ``tests/unit/db/test_migrations.py`` fails when the models
and the migrations disagree.

Enumerations are ``VARCHAR`` + ``CHECK`` rather than native PostgreSQL enums, because adding a
value to a native enum needs ``ALTER TYPE`` outside a transaction, and SQLite has none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names: Alembic needs names to drop or alter constraints later, and
# SQLite batch migrations recreate tables by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ARTICLE_STATUSES = ("draft", "in_review", "published", "archived")
REVISION_STATES = ("draft", "in_review", "approved", "published", "superseded", "archived")
INDEX_STATES = ("pending", "staged", "live", "failed")
WORKFLOW_ACTIONS = ("create", "update", "submit", "approve", "publish", "archive", "rollback", "index_failed")
KEY_ROLES = ("agent", "bot", "knowledge_manager", "evaluator", "admin", "supervisor")
SUGGESTION_KINDS = ("draft", "escalation", "qa", "summary", "chat")
FEEDBACK_OUTCOMES = ("accepted", "edited", "rejected")


def utcnow() -> datetime:
    """The current time, tz-aware UTC (the only kind of timestamp this schema stores)."""
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always tz-aware UTC in Python, whatever the backend stores.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and get their ``tzinfo`` back on load. Naive inputs are refused: guessing their zone
    is how off-by-eight-hours bugs start in a Beijing contact centre.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a tz-aware value (e.g. datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), date: Date(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Article(Base):
    """The current state of an article; its content lives in :class:`ArticleRevision`."""

    __tablename__ = "articles"
    __table_args__ = (
        CheckConstraint(_in("status", ARTICLE_STATUSES), name="status"),
        Index("ix_articles_tenant_status", "tenant", "status"),
    )

    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(16))
    product: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    owner: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    live_revision: Mapped[int | None] = mapped_column(Integer)
    """The revision search serves; None while nothing is published."""
    latest_revision: Mapped[int] = mapped_column(Integer, default=0)
    publishing_revision: Mapped[int | None] = mapped_column(Integer)
    """The revision a publish is switching the index to; non-None after a killed publish."""
    effective_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    review_by: Mapped[date | None]
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ArticleRevision(Base):
    """One immutable version of an article's content, with its workflow and index state."""

    __tablename__ = "article_revisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant", "article_id"],
            ["articles.tenant", "articles.article_id"],
            name="fk_article_revisions_article",
            ondelete="CASCADE",
        ),
        CheckConstraint(_in("state", REVISION_STATES), name="state"),
        CheckConstraint(_in("index_state", INDEX_STATES), name="index_state"),
        CheckConstraint("revision >= 1", name="revision_positive"),
    )

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(128))
    meta: Mapped[dict[str, Any]]
    blocks: Mapped[list[Any]]
    chunk_ids: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    index_state: Mapped[str] = mapped_column(String(16), default="pending")
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowEvent(Base):
    __tablename__ = "workflow_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant", "article_id"],
            ["articles.tenant", "articles.article_id"],
            name="fk_workflow_events_article",
            ondelete="CASCADE",
        ),
        CheckConstraint(_in("action", WORKFLOW_ACTIONS), name="action"),
        Index("ix_workflow_events_article", "tenant", "article_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    article_id: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """An API key. Only a SHA-256 of the key is stored (see ``assist.db.keys`` for why)."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", KEY_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(8), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    """The key is refused from this instant on; None never expires."""


class Suggestion(Base):
    """What the assistant suggested; ``request`` is masked by the caller before it gets here."""

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint(_in("kind", SUGGESTION_KINDS), name="kind"),
        Index("ix_suggestions_tenant_created_at", "tenant", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]]
    response: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(_in("outcome", FEEDBACK_OUTCOMES), name="outcome"),
        Index("ix_feedback_tenant_created_at", "tenant", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"))
    suggestion_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("suggestions.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    final_text: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Gap(Base):
    """A question the knowledge base did not answer (masked), grouped by ``normalized``."""

    __tablename__ = "gaps"
    __table_args__ = (Index("ix_gaps_tenant_normalized", "tenant", "normalized"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"))
    question: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvalRun(Base):
    """An evaluation run; not tenant-scoped (datasets are curated fixtures, not customer data)."""

    __tablename__ = "eval_runs"
    __table_args__ = (Index("ix_eval_runs_kind_dataset", "kind", "dataset"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]]
    model_ids: Mapped[dict[str, Any]]
    git_commit: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvalItem(Base):
    __tablename__ = "eval_items"

    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("eval_runs.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    metrics: Mapped[dict[str, Any]]
    detail: Mapped[dict[str, Any]]
