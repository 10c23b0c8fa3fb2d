"""A tenant's golden set: questions whose right answer is known, the publish gate's yardstick.

Each item records the (masked) question, its language, the article (and the revision of it)
that answers it, and the reference reply whose key facts (numbers, durations, amounts) the
article must keep stating. Items come from knowledge managers (``manual``), from drafts agents
accepted (``accepted_draft``: one click in ``/km``), or from simulated customers
(``simulated``: paraphrases of other items that keep the expected article).

Example:
    >>> repo = GoldenRepository(db)
    >>> repo.add("acme", "How long do refunds take?", expected_article="faq-refunds", language="en",
    ...          reference="Refunds reach your account within 7 days.")
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from assist.errors import InputError, NotFoundError

from .engine import Database
from .models import Base, _in, utcnow
from .tenants import check_tenant, ensure_tenant

__all__ = ["GOLDEN_SOURCES", "GoldenItem", "GoldenRecord", "GoldenRepository", "GoldenSource"]

GoldenSource = Literal["manual", "accepted_draft", "simulated"]
GOLDEN_SOURCES: tuple[str, ...] = get_args(GoldenSource)


class GoldenItem(Base):
    __tablename__ = "golden_items"
    __table_args__ = (
        CheckConstraint(_in("source", GOLDEN_SOURCES), name="source"),
        Index("ix_golden_items_tenant_article", "tenant", "expected_article"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"))
    question: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    expected_article: Mapped[str | None] = mapped_column(String(200))
    expected_revision: Mapped[int | None] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(Text)
    """The reference reply (or its key facts)."""
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(200))
    """Where it came from: the golden file's item id, the feedback id, the parent item."""
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GoldenRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    tenant: str
    question: str
    language: str | None = None
    expected_article: str | None = None
    expected_revision: int | None = None
    reference: str | None = None
    source: GoldenSource
    external_id: str | None = None
    created_by: str | None = None
    created_at: datetime

    @property
    def expected(self) -> str | None:
        """``article@revision`` (or the article alone)."""
        if self.expected_article is None:
            return None
        return self.expected_article + (f"@{self.expected_revision}" if self.expected_revision else "")


MAX_QUESTION = 4000


class GoldenRepository:
    """Adds, lists and deletes golden items of one tenant at a time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        tenant: str,
        question: str,
        *,
        expected_article: str | None = None,
        expected_revision: int | None = None,
        language: str | None = None,
        reference: str | None = None,
        source: GoldenSource = "manual",
        external_id: str | None = None,
        created_by: str | None = None,
    ) -> GoldenRecord:
        """Add an item (``question`` must already be masked). An item with the same
        ``external_id`` and source is returned as is (importing twice adds nothing)."""
        question = (question or "").strip()
        if not question:
            raise InputError("a golden item needs a question")
        if len(question) > MAX_QUESTION:
            raise InputError(f"the question is longer than {MAX_QUESTION} characters")
        if source not in GOLDEN_SOURCES:
            raise InputError(f"unknown golden item source {source!r}: use one of {GOLDEN_SOURCES}")
        with self.db.session() as s:
            ensure_tenant(s, tenant)
            if external_id is not None:
                old = s.scalars(select(GoldenItem).where(
                    GoldenItem.tenant == tenant, GoldenItem.source == source,
                    GoldenItem.external_id == external_id)).first()
                if old is not None:
                    return GoldenRecord.model_validate(old, from_attributes=True)
            row = GoldenItem(tenant=tenant, question=question, language=language, expected_article=expected_article,
                             expected_revision=expected_revision, reference=(reference or None), source=source,
                             external_id=external_id, created_by=created_by, created_at=utcnow())
            s.add(row)
            s.flush()
            return GoldenRecord.model_validate(row, from_attributes=True)

    def list(self, tenant: str, *, source: GoldenSource | None = None, article: str | None = None,
             limit: int = 5000) -> builtins.list[GoldenRecord]:
        """Oldest first."""
        q = select(GoldenItem).where(GoldenItem.tenant == check_tenant(tenant))
        if source is not None:
            q = q.where(GoldenItem.source == source)
        if article is not None:
            q = q.where(GoldenItem.expected_article == article)
        q = q.order_by(GoldenItem.id).limit(limit)
        with self.db.session(readonly=True) as s:
            return [GoldenRecord.model_validate(r, from_attributes=True) for r in s.scalars(q)]

    def get(self, tenant: str, item_id: int) -> GoldenRecord | None:
        with self.db.session(readonly=True) as s:
            row = s.get(GoldenItem, item_id)
            if row is None or row.tenant != check_tenant(tenant):
                return None
            return GoldenRecord.model_validate(row, from_attributes=True)

    def delete(self, tenant: str, item_id: int) -> None:
        with self.db.session() as s:
            row = s.get(GoldenItem, item_id)
            if row is None or row.tenant != check_tenant(tenant):
                raise NotFoundError(f"no golden item {item_id} in tenant {tenant!r}")
            s.delete(row)

    def count(self, tenant: str) -> int:
        return len(self.list(tenant))
