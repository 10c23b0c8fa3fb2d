"""Protocol schemas of the HTTP API (requests ``*Request``, responses ``*Public``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assist.types import (
    ArticleStatus,
    ArticleType,
    Citation,
    EscalationDecision,
    Finding,
    RelatedArticle,
    Turn,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors
class ErrorInfo(BaseModel):
    """What went wrong; the same fields in a JSON error response and in a stream's error
    event (draft SSE ``event: error``, OpenAI-compatible ``data: {"error": ...}``)."""

    type: str = Field(description="The class of error, one per HTTP status: invalid_request (400), "
                                  "unauthorized (401), forbidden (403), not_found (404), conflict (409), "
                                  "payload_too_large (413), validation_error (422), rate_limited (429), "
                                  "internal_error (500), bad_gateway (502), unavailable (503, retry later). "
                                  "In a stream, whose HTTP status is already 200, it names the status the "
                                  "error would have had.")
    code: str = Field(description="The specific error, stable for programs: e.g. invalid_input, not_found, "
                                  "llm_error, validation_error, internal_error.")
    message: str = Field(description="What happened and how to fix it, for people.")


class ErrorEnvelope(BaseModel):
    """The one error envelope of the API (also OpenAI's outer shape, ``{"error": {...}}``)."""

    error: ErrorInfo


# ---------------------------------------------------------------- search
class SearchRequest(_Strict):
    query: str = Field(min_length=1, max_length=20_000)
    top_k: int = Field(5, ge=1, le=50)
    language: Literal["zh", "en"] | None = None
    product: str | None = Field(None, max_length=200)
    channel: str | None = Field(None, max_length=100)
    type: ArticleType | None = None
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"


class SourcePublic(BaseModel):
    chunk_id: str
    article_id: str
    revision: int
    title: str
    section: str
    text: str
    score: float
    type: str
    language: str


class SearchPublic(BaseModel):
    query: str
    covered: bool
    top_dense: float | None = None
    entity: str | None = None
    results: list[SourcePublic]


# ---------------------------------------------------------------- assist
class ConversationIn(_Strict):
    turns: list[Turn] = Field(min_length=1, max_length=5000)
    channel: str | None = Field(None, max_length=100)
    language: Literal["zh", "en"] | None = None
    customer: dict[str, Any] = Field(default_factory=dict)
    now: datetime | None = None


class DraftRequest(ConversationIn):
    stream: bool = False


class DraftPublic(BaseModel):
    id: str
    status: Literal["drafted", "curated", "not_covered", "no_draft"]
    language: str
    text: str
    display_text: str
    """``text`` with masked personal data restored: for the agent's screen only."""
    citations: list[Citation]
    sources: list[SourcePublic]
    flags: list[str]
    invalid_citations: list[int] = []
    detail: str | None = None
    related: list[RelatedArticle] = Field(default_factory=list, description=(
        "Articles and FAQ entries related to the conversation that the customer could be sent, "
        "best first; never the draft's citations, never padded (may be empty)."))


class EscalationRequest(ConversationIn):
    category: str | None = None


class EscalationPublic(EscalationDecision):
    id: str


class QARequest(_Strict):
    reply: str = Field(min_length=1, max_length=20_000)
    conversation: ConversationIn | None = None
    cited_texts: dict[int, str] | None = None
    language: Literal["zh", "en"] | None = None


class QAPublic(BaseModel):
    id: str
    score: float
    passed: bool
    findings: list[Finding]


class SummaryPublic(BaseModel):
    id: str
    language: str
    issue: str
    steps_taken: list[str]
    promises: list[str]
    next_action: str
    deadline: str | None = None


# ---------------------------------------------------------------- feedback and gaps
class FeedbackRequest(_Strict):
    suggestion_id: str = Field(min_length=1, max_length=100)
    outcome: Literal["accepted", "edited", "rejected"]
    final_text: str | None = Field(None, max_length=20_000)
    reason: str | None = Field(None, max_length=2000)


class FeedbackPublic(BaseModel):
    id: int
    suggestion_id: str
    outcome: str
    diff: str | None = None
    created_at: datetime


class GapGroupPublic(BaseModel):
    question: str
    count: int
    language: str | None = None
    last_seen: datetime | None = None


# ---------------------------------------------------------------- articles
class ArticleIn(_Strict):
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
    title: str = Field(min_length=1, max_length=500)
    type: ArticleType = ArticleType.FAQ
    language: Literal["zh", "en"] = "zh"
    body: str = Field(min_length=1, max_length=2_000_000, description="Markdown")
    product: str | None = None
    channel: str | None = None
    tags: list[str] = []
    effective_from: date | None = None
    valid_until: date | None = None
    review_by: date | None = None
    publish: bool = False
    override_reason: str | None = Field(None, max_length=2000, description=(
        "Publish although the publish gate blocks it (knowledge manager); recorded in the workflow history."))


class ArticleUpdate(_Strict):
    title: str | None = Field(None, min_length=1, max_length=500)
    body: str | None = Field(None, min_length=1, max_length=2_000_000)
    type: ArticleType | None = None
    language: Literal["zh", "en"] | None = None
    product: str | None = None
    channel: str | None = None
    tags: list[str] | None = None
    effective_from: date | None = None
    valid_until: date | None = None
    review_by: date | None = None
    publish: bool = False
    override_reason: str | None = Field(None, max_length=2000, description=(
        "Publish although the publish gate blocks it (knowledge manager); recorded in the workflow history."))


class ArticlePublic(BaseModel):
    id: str
    tenant: str
    title: str
    type: str
    language: str
    status: ArticleStatus | str
    product: str | None = None
    channel: str | None = None
    tags: list[str] = []
    live_revision: int | None = None
    latest_revision: int
    effective_from: date | None = None
    valid_until: date | None = None
    review_by: date | None = None
    updated_at: datetime | None = None


class RevisionPublic(BaseModel):
    revision: int
    state: str
    index_state: str
    content_hash: str
    created_by: str | None = None
    created_at: datetime
    chunks: int


class ChunkPreview(BaseModel):
    index: int
    kind: str
    section: str
    text: str
    tokens: int


class PreviewPublic(BaseModel):
    articles: list[dict[str, Any]]


class WorkflowRequest(_Strict):
    revision: int | None = Field(None, ge=1, le=2**31 - 1)
    note: str | None = Field(None, max_length=2000)
    override_reason: str | None = Field(None, max_length=2000, description=(
        "Publish although the publish gate blocks it (knowledge manager); recorded in the workflow history."))


class RollbackRequest(_Strict):
    to_revision: int = Field(ge=1, le=2**31 - 1)
    note: str | None = Field(None, max_length=2000)


class EventPublic(BaseModel):
    action: str
    revision: int | None
    actor: str | None
    at: datetime
    note: str | None


class IngestPublic(BaseModel):
    files: int
    articles: int
    chunks_total: int
    chunks_embedded: int
    chunks_skipped: int
    chunks_deleted: int
    errors: list[dict[str, str]]
