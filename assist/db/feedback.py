"""Suggestions the assistant made, agents' feedback on them, and knowledge gaps.

Callers mask personal data before anything reaches these tables (``request`` of a
suggestion, ``question`` of a gap), with the tenant's masker. This module masks again, as a
last line, every text it stores (every string in a suggestion's request and response,
feedback's final text, diff and reason, a gap's question): with the ``redact`` it was given
(the tenant's masker) or the core masker (phones, e-mails, ID and card numbers, addresses,
in any Unicode digit form). Placeholders such as ``[PHONE_1]`` pass through unchanged.
"""

from __future__ import annotations

import builtins
import unicodedata
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from assist.errors import InputError, NotFoundError

from .engine import Database
from .models import Feedback, Gap, Suggestion, utcnow
from .tenants import check_tenant, ensure_tenant

Redact = Callable[[str], str]
_CORE_REDACT: Redact | None = None


def core_redact(text: str) -> str:
    """The core masker's irreversible redaction (no tenant patterns): the default last line."""
    global _CORE_REDACT
    if _CORE_REDACT is None:
        from assist.privacy import PiiMasker

        _CORE_REDACT = PiiMasker().redact
    return _CORE_REDACT(text)


def redact_json(value: Any, redact: Redact) -> Any:
    """Every string (keys of mappings included) in a JSON-like value, redacted."""
    if isinstance(value, str):
        return redact(value) if value else value
    if isinstance(value, dict):
        return {redact_json(k, redact) if isinstance(k, str) else k: redact_json(v, redact)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v, redact) for v in value]
    return value

SuggestionKind = Literal["draft", "escalation", "qa", "summary", "chat"]
Outcome = Literal["accepted", "edited", "rejected"]


class SuggestionRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    kind: SuggestionKind
    request: dict[str, Any]
    response: dict[str, Any]
    status: str
    created_at: datetime


class FeedbackRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    tenant: str
    suggestion_id: str | None
    outcome: Outcome
    final_text: str | None = None
    diff: str | None = None
    reason: str | None = None
    actor: str | None = None
    created_at: datetime


class GapRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    tenant: str
    question: str
    normalized: str
    language: str | None
    created_at: datetime


class GapGroup(BaseModel):
    """Unanswered questions that normalise to the same text, with how often they were asked."""

    model_config = ConfigDict(frozen=True)

    normalized: str
    count: int
    example: str
    """The most recent question of the group, as asked (masked)."""
    first_seen: datetime
    last_seen: datetime


def normalize_question(text: str) -> str:
    """Grouping key for a question: NFKC (full-width to half-width), case-folded, without
    whitespace or punctuation, so ``"怎么退款？"`` and ``"怎么 退款?"`` group together.

    Example:
        >>> normalize_question(" How do I get a REFUND? ")
        'howdoigetarefund'
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(
        ch for ch in folded if not (ch.isspace() or unicodedata.category(ch).startswith(("P", "S")))
    )
    return kept[:500]


class SuggestionRepository:
    """Stores what the assistant suggested, so feedback can refer to it.

    Example:
        >>> sid = SuggestionRepository(db).add("acme", "draft", {"q": "[PHONE] refund?"}, {"text": "..."}).id
    """

    def __init__(self, db: Database, *, redact: Redact | None = None) -> None:
        self.db = db
        self.redact: Redact = redact or core_redact

    def add(
        self,
        tenant: str,
        kind: SuggestionKind,
        request: dict[str, Any],
        response: dict[str, Any],
        status: str = "ok",
        *,
        id: str | None = None,  # noqa: A002 - the caller may have handed this id out already
    ) -> SuggestionRecord:
        if kind not in get_args(SuggestionKind):
            raise InputError(f"unknown suggestion kind {kind!r}: use one of {get_args(SuggestionKind)}")
        with self.db.session() as s:
            ensure_tenant(s, tenant)
            row = Suggestion(
                id=id or str(uuid.uuid4()),
                tenant=tenant,
                kind=kind,
                request=redact_json(request, self.redact),
                response=redact_json(response, self.redact),
                status=status,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return SuggestionRecord.model_validate(row, from_attributes=True)

    def get(self, tenant: str, suggestion_id: str) -> SuggestionRecord | None:
        with self.db.session(readonly=True) as s:
            row = s.get(Suggestion, suggestion_id)
            if row is None or row.tenant != check_tenant(tenant):
                return None
            return SuggestionRecord.model_validate(row, from_attributes=True)

    def list(
        self, tenant: str, *, kind: SuggestionKind | None = None, limit: int = 100
    ) -> builtins.list[SuggestionRecord]:
        """Newest first."""
        q = select(Suggestion).where(Suggestion.tenant == check_tenant(tenant))
        if kind is not None:
            q = q.where(Suggestion.kind == kind)
        q = q.order_by(Suggestion.created_at.desc(), Suggestion.id).limit(limit)
        with self.db.session(readonly=True) as s:
            return [SuggestionRecord.model_validate(r, from_attributes=True) for r in s.scalars(q)]


class FeedbackRepository:
    """Agents' verdicts on suggestions: accepted as is, edited, or rejected.

    Example:
        >>> FeedbackRepository(db).add("acme", "accepted", suggestion_id=sid, actor="agent-7")
    """

    def __init__(self, db: Database, *, redact: Redact | None = None) -> None:
        self.db = db
        self.redact: Redact = redact or core_redact

    def add(
        self,
        tenant: str,
        outcome: Outcome,
        *,
        suggestion_id: str | None = None,
        final_text: str | None = None,
        diff: str | None = None,
        reason: str | None = None,
        actor: str | None = None,
    ) -> FeedbackRecord:
        """Record feedback. ``suggestion_id`` must be a suggestion of the same tenant."""
        if outcome not in get_args(Outcome):
            raise InputError(f"unknown outcome {outcome!r}: use one of {get_args(Outcome)}")
        with self.db.session() as s:
            ensure_tenant(s, tenant)
            if suggestion_id is not None:
                sug = s.get(Suggestion, suggestion_id)
                if sug is None or sug.tenant != tenant:
                    raise NotFoundError(f"no suggestion {suggestion_id!r} in tenant {tenant!r}")
            row = Feedback(
                tenant=tenant,
                suggestion_id=suggestion_id,
                outcome=outcome,
                final_text=self._opt(final_text),
                diff=self._opt(diff),
                reason=self._opt(reason),
                actor=actor,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return FeedbackRecord.model_validate(row, from_attributes=True)

    def _opt(self, text: str | None) -> str | None:
        return self.redact(text) if text else text

    def list(
        self,
        tenant: str,
        *,
        suggestion_id: str | None = None,
        outcome: Outcome | None = None,
        limit: int = 100,
    ) -> builtins.list[FeedbackRecord]:
        """Newest first."""
        q = select(Feedback).where(Feedback.tenant == check_tenant(tenant))
        if suggestion_id is not None:
            q = q.where(Feedback.suggestion_id == suggestion_id)
        if outcome is not None:
            q = q.where(Feedback.outcome == outcome)
        q = q.order_by(Feedback.id.desc()).limit(limit)
        with self.db.session(readonly=True) as s:
            return [FeedbackRecord.model_validate(r, from_attributes=True) for r in s.scalars(q)]

    def outcome_counts(self, tenant: str) -> dict[str, int]:
        """``{"accepted": n, "edited": n, "rejected": n}`` for the tenant (acceptance rate)."""
        q = (
            select(Feedback.outcome, func.count())
            .where(Feedback.tenant == check_tenant(tenant))
            .group_by(Feedback.outcome)
        )
        with self.db.session(readonly=True) as s:
            counts = dict(s.execute(q).all())
        return {o: counts.get(o, 0) for o in get_args(Outcome)}


class GapRepository:
    """Questions the knowledge base could not answer, grouped to show what to write next.

    Example:
        >>> gaps = GapRepository(db)
        >>> gaps.add("acme", "How do I change my [PHONE] plan?", language="en")
        >>> gaps.grouped("acme")[0].count
        1
    """

    def __init__(self, db: Database, *, redact: Redact | None = None) -> None:
        self.db = db
        self.redact: Redact = redact or core_redact

    def add(
        self, tenant: str, question: str, *, normalized: str | None = None, language: str | None = None
    ) -> GapRecord:
        """Record a gap; ``normalized`` defaults to :func:`normalize_question` of the question."""
        if not question.strip():
            raise InputError("a knowledge gap needs the (masked) question text")
        question = self.redact(question)
        key = self.redact(normalized) if normalized is not None else normalize_question(question)
        with self.db.session() as s:
            ensure_tenant(s, tenant)
            row = Gap(
                tenant=tenant,
                question=question,
                normalized=key or question.strip()[:500],
                language=language,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return GapRecord.model_validate(row, from_attributes=True)

    def list(self, tenant: str, *, limit: int = 100) -> builtins.list[GapRecord]:
        """Newest first."""
        q = select(Gap).where(Gap.tenant == check_tenant(tenant)).order_by(Gap.id.desc()).limit(limit)
        with self.db.session(readonly=True) as s:
            return [GapRecord.model_validate(r, from_attributes=True) for r in s.scalars(q)]

    def grouped(
        self, tenant: str, *, limit: int = 50, since: datetime | None = None
    ) -> builtins.list[GapGroup]:
        """Gaps grouped by ``normalized``, most frequent first (ties: most recent first)."""
        cond = [Gap.tenant == check_tenant(tenant)]
        if since is not None:
            cond.append(Gap.created_at >= since)
        q = (
            select(
                Gap.normalized,
                func.count().label("n"),
                func.min(Gap.created_at).label("first_seen"),
                func.max(Gap.created_at).label("last_seen"),
                func.max(Gap.id).label("last_id"),
            )
            .where(*cond)
            .group_by(Gap.normalized)
            .order_by(func.count().desc(), func.max(Gap.id).desc())
            .limit(limit)
        )
        with self.db.session(readonly=True) as s:
            rows = s.execute(q).all()
            examples = dict(
                s.execute(select(Gap.id, Gap.question).where(Gap.id.in_([r.last_id for r in rows]))).all()
            )
            return [
                GapGroup(
                    normalized=r.normalized,
                    count=r.n,
                    example=examples[r.last_id],
                    first_seen=r.first_seen,
                    last_seen=r.last_seen,
                )
                for r in rows
            ]
