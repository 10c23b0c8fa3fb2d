"""Storage for the supervisors' side: finished conversations, their messages, QA findings
and red-line alerts (``assist ops``).

Writes go through SQLAlchemy Core ``executemany`` (one round trip per batch and table, no
ORM unit of work), so a bulk import into PostgreSQL stores thousands of conversations a
second. The aggregate queries of the dashboard read only ``ops_conversations``, whose
per-conversation KPI columns (first response, SLA met, FCR, complaint, QA score...) are
filled in once at import and inspection time, with indexes on ``(tenant, day)``,
``(tenant, agent, day)`` and ``(tenant, queue, day)``.

Texts are stored masked: the importer masks personal data before it gets here.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from assist.db.models import Base, UTCDateTime, utcnow

__all__ = ["OpsAlert", "OpsConversation", "OpsFinding", "OpsMessage", "OpsStore"]

BATCH = 500


class OpsConversation(Base):
    """One finished conversation and its per-conversation KPI facts (0/1 flags, NULL = unknown)."""

    __tablename__ = "ops_conversations"
    __table_args__ = (
        Index("ix_ops_conversations_tenant_day", "tenant", "day"),
        Index("ix_ops_conversations_tenant_agent_day", "tenant", "agent", "day"),
        Index("ix_ops_conversations_tenant_queue_day", "tenant", "queue", "day"),
        Index("ix_ops_conversations_tenant_customer", "tenant", "customer"),
    )

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(100), default="")
    agent: Mapped[str] = mapped_column(String(100), default="")
    customer: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    day: Mapped[date] = mapped_column(Date)
    week: Mapped[date] = mapped_column(Date)
    """Monday of the ISO week of ``day``."""
    month: Mapped[str] = mapped_column(String(7))
    """``YYYY-MM``."""
    messages: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(32))
    resolved: Mapped[int | None] = mapped_column(SmallInteger)
    reopened: Mapped[int] = mapped_column(SmallInteger, default=0)
    escalated_to: Mapped[str | None] = mapped_column(String(64))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    satisfaction: Mapped[float | None] = mapped_column(Float)
    """The customer's rating, normalised to 1..5."""
    first_response_s: Mapped[float | None] = mapped_column(Float)
    handle_s: Mapped[float | None] = mapped_column(Float)
    content_hash: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # -- filled in by inspection ------------------------------------------------
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_met: Mapped[int | None] = mapped_column(SmallInteger)
    timeout: Mapped[int | None] = mapped_column(SmallInteger)
    closed_24h: Mapped[int | None] = mapped_column(SmallInteger)
    repeat_contact: Mapped[int | None] = mapped_column(SmallInteger)
    fcr: Mapped[int | None] = mapped_column(SmallInteger)
    complaint: Mapped[int | None] = mapped_column(SmallInteger)
    negative: Mapped[int | None] = mapped_column(SmallInteger)
    sentiment_min: Mapped[float | None] = mapped_column(Float)
    qa_score: Mapped[float | None] = mapped_column(Float)
    qa_passed: Mapped[int | None] = mapped_column(SmallInteger)
    findings_count: Mapped[int | None] = mapped_column(Integer)
    predicted_satisfaction: Mapped[float | None] = mapped_column(Float)
    satisfaction_reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    topic: Mapped[int | None] = mapped_column(Integer)


class OpsMessage(Base):
    """One turn of a conversation (masked text)."""

    __tablename__ = "ops_messages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant", "conversation_id"],
            ["ops_conversations.tenant", "ops_conversations.id"],
            name="fk_ops_messages_conversation",
            ondelete="CASCADE",
        ),
    )

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OpsFinding(Base):
    """An itemised QA finding: on a message (``seq``, ``span`` into its masked text) or on the
    whole conversation (``seq`` NULL)."""

    __tablename__ = "ops_findings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant", "conversation_id"],
            ["ops_conversations.tenant", "ops_conversations.id"],
            name="fk_ops_findings_conversation",
            ondelete="CASCADE",
        ),
        Index("ix_ops_findings_tenant_conversation", "tenant", "conversation_id"),
        Index("ix_ops_findings_tenant_check", "tenant", "check"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int | None] = mapped_column(Integer)
    check: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    span_start: Mapped[int | None] = mapped_column(Integer)
    span_end: Mapped[int | None] = mapped_column(Integer)


class OpsAlert(Base):
    """A red-line alert; one row per (tenant, metric, scope, window): the de-duplication key."""

    __tablename__ = "ops_alerts"
    __table_args__ = (
        UniqueConstraint("tenant", "metric", "scope", "window", name="uq_ops_alerts_key"),
        Index("ix_ops_alerts_tenant_raised_at", "tenant", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(200))
    window: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    """``firing`` or ``resolved``."""
    value: Mapped[float] = mapped_column(Float)
    """The worst value seen while the alert was firing."""
    threshold: Mapped[float] = mapped_column(Float)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified: Mapped[int] = mapped_column(SmallInteger, default=0)
    """1 once the webhook accepted the latest state change."""


# Declarative tables typed as Table (mypy sees ``__table__`` as a FromClause).
_C = cast(Table, OpsConversation.__table__)
_M = cast(Table, OpsMessage.__table__)
_F = cast(Table, OpsFinding.__table__)
_A = cast(Table, OpsAlert.__table__)


def _chunks(rows: Sequence[Any], n: int = BATCH) -> Iterable[Sequence[Any]]:
    for i in range(0, len(rows), n):
        yield rows[i : i + n]


def _copy(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """``COPY table FROM STDIN`` through psycopg 3, in the connection's transaction."""
    if not rows:
        return
    from psycopg.types.json import Json

    cols = [c.name for c in table.columns if c.name in rows[0]]
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    names = ", ".join(f'"{c}"' for c in cols)
    cur = conn.connection.dbapi_connection.cursor()
    try:
        with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as cp:
            for r in rows:
                cp.write_row([Json(r[c]) if c in json_cols and r[c] is not None else r[c] for c in cols])
    finally:
        cur.close()


class OpsStore:
    """Bulk reads and writes of the ops tables (Core, executemany)."""

    conversations = _C
    messages = _M
    findings = _F
    alerts = _A

    def __init__(self, db: Any) -> None:
        self.db = db

    # -- conversations ----------------------------------------------------------------
    def existing_hashes(self, tenant: str, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self.db.connection(readonly=True) as conn:
            for part in _chunks(list(ids)):
                rows = conn.execute(
                    select(_C.c.id, _C.c.content_hash).where(_C.c.tenant == tenant, _C.c.id.in_(part))
                )
                out.update({r.id: r.content_hash for r in rows})
        return out

    def write(self, tenant: str, conversations: Sequence[dict[str, Any]], messages: Sequence[dict[str, Any]],
              replace: Sequence[str] = ()) -> None:
        """Insert conversations and their messages in one transaction; ``replace`` ids are
        deleted first (a changed redelivery)."""
        with self.db.connection() as conn:
            for part in _chunks(list(replace)):
                conn.execute(delete(_F).where(_F.c.tenant == tenant, _F.c.conversation_id.in_(part)))
                conn.execute(delete(_M).where(_M.c.tenant == tenant, _M.c.conversation_id.in_(part)))
                conn.execute(delete(_C).where(_C.c.tenant == tenant, _C.c.id.in_(part)))
            if conn.dialect.name == "postgresql" and conversations:
                # COPY: several times faster than executemany INSERT for bulk rows.
                _copy(conn, _C, conversations)
                if len(conversations) >= 200:
                    # Fresh statistics before the messages' foreign-key checks: a check planned
                    # while the table was small stays a sequential scan (import goes quadratic).
                    conn.exec_driver_sql(f'ANALYZE "{_C.name}"')
                _copy(conn, _M, messages)
                return
            for part in _chunks(list(conversations)):
                conn.execute(_C.insert(), list(part))
            for part in _chunks(list(messages), BATCH * 10):
                conn.execute(_M.insert(), list(part))

    def load(self, tenant: str, ids: Sequence[str]) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """Conversations (as dicts) and their messages by conversation id, ordered by seq."""
        convs: list[dict[str, Any]] = []
        msgs: dict[str, list[dict[str, Any]]] = {}
        with self.db.connection(readonly=True) as conn:
            for part in _chunks(list(ids)):
                convs += [dict(r._mapping) for r in conn.execute(
                    select(_C).where(_C.c.tenant == tenant, _C.c.id.in_(part)))]
                for r in conn.execute(select(_M).where(_M.c.tenant == tenant, _M.c.conversation_id.in_(part))
                                      .order_by(_M.c.conversation_id, _M.c.seq)):
                    msgs.setdefault(r.conversation_id, []).append(dict(r._mapping))
        return convs, msgs

    def pending_inspection(self, tenant: str, *, limit: int | None = None) -> builtins.list[str]:
        q = select(_C.c.id).where(_C.c.tenant == tenant, _C.c.inspected_at.is_(None)).order_by(_C.c.started_at)
        if limit:
            q = q.limit(limit)
        with self.db.connection(readonly=True) as conn:
            return [r.id for r in conn.execute(q)]

    def ids(self, tenant: str) -> builtins.list[str]:
        with self.db.connection(readonly=True) as conn:
            return [r.id for r in conn.execute(select(_C.c.id).where(_C.c.tenant == tenant).order_by(_C.c.started_at))]

    def customer_starts(self, tenant: str, customers: Sequence[str]) -> dict[str, list[tuple[datetime, str]]]:
        """(started_at, id) of every conversation of these customers, sorted."""
        out: dict[str, list[tuple[datetime, str]]] = {}
        with self.db.connection(readonly=True) as conn:
            for part in _chunks([c for c in set(customers) if c]):
                for r in conn.execute(select(_C.c.customer, _C.c.started_at, _C.c.id)
                                      .where(_C.c.tenant == tenant, _C.c.customer.in_(part))):
                    out.setdefault(r.customer, []).append((r.started_at, r.id))
        for v in out.values():
            v.sort()
        return out

    def save_inspections(self, tenant: str, updates: Sequence[dict[str, Any]],
                         findings: Sequence[dict[str, Any]]) -> None:
        """``updates``: dicts with ``id`` and the inspection columns; ``findings`` replace the
        conversations' earlier findings."""
        if not updates:
            return
        cols = [k for k in updates[0] if k != "id"]
        stmt = (update(_C).where(_C.c.tenant == bindparam("_tenant"), _C.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in cols}))
        with self.db.connection() as conn:
            ids = [u["id"] for u in updates]
            for part in _chunks(ids):
                conn.execute(delete(_F).where(_F.c.tenant == tenant, _F.c.conversation_id.in_(part)))
            for part in _chunks(list(updates)):
                conn.execute(stmt, [{"_tenant": tenant, "_id": u["id"], **{c: u[c] for c in cols}} for u in part])
            if conn.dialect.name == "postgresql" and len(findings) >= 200:
                conn.exec_driver_sql(f'ANALYZE "{_C.name}"')  # see write(): the foreign-key checks' plans
                _copy(conn, _F, findings)
                return
            for part in _chunks(list(findings), BATCH * 4):
                conn.execute(_F.insert(), list(part))

    def update_repeat_flags(self, tenant: str, flags: Sequence[dict[str, Any]]) -> None:
        """``flags``: ``{"id", "repeat_contact", "fcr"}``."""
        if not flags:
            return
        stmt = (update(_C).where(_C.c.tenant == bindparam("_tenant"), _C.c.id == bindparam("_id"))
                .values(repeat_contact=bindparam("repeat_contact"), fcr=bindparam("fcr")))
        with self.db.connection() as conn:
            for part in _chunks(list(flags)):
                conn.execute(stmt, [{"_tenant": tenant, "_id": f["id"], "repeat_contact": f["repeat_contact"],
                                     "fcr": f["fcr"]} for f in part])

    def set_topics(self, tenant: str, topics: dict[str, int]) -> None:
        stmt = (update(_C).where(_C.c.tenant == bindparam("_tenant"), _C.c.id == bindparam("_id"))
                .values(topic=bindparam("topic")))
        rows = [{"_tenant": tenant, "_id": k, "topic": v} for k, v in topics.items()]
        with self.db.connection() as conn:
            for part in _chunks(rows):
                conn.execute(stmt, list(part))

    def findings_for(self, tenant: str, conversation_id: str) -> builtins.list[dict[str, Any]]:
        with self.db.connection(readonly=True) as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(_F).where(_F.c.tenant == tenant, _F.c.conversation_id == conversation_id)
                .order_by(_F.c.seq, _F.c.id))]

    def purge_before(self, tenant: str, cutoff: datetime) -> int:
        """Delete conversations (with messages and findings) that ended before ``cutoff``."""
        with self.db.connection() as conn:
            ids = [r.id for r in conn.execute(select(_C.c.id).where(
                _C.c.tenant == tenant, func.coalesce(_C.c.ended_at, _C.c.started_at) < cutoff))]
            for part in _chunks(ids):
                conn.execute(delete(_F).where(_F.c.tenant == tenant, _F.c.conversation_id.in_(part)))
                conn.execute(delete(_M).where(_M.c.tenant == tenant, _M.c.conversation_id.in_(part)))
                conn.execute(delete(_C).where(_C.c.tenant == tenant, _C.c.id.in_(part)))
        return len(ids)
