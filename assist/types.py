"""Typed values that cross the seams of the product.

Every module speaks these types; vendor types (Qdrant, OpenAI, SQLAlchemy) never
leave the adapter that uses them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["zh", "en"]
SUPPORTED_LANGUAGES: tuple[str, ...] = ("zh", "en")


class ArticleType(str, enum.Enum):
    SOP = "sop"
    FAQ = "faq"
    MANUAL = "manual"
    POLICY = "policy"
    PHRASEBOOK = "phrasebook"


class ArticleStatus(str, enum.Enum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class BlockKind(str, enum.Enum):
    """What a parsed block is; the chunker never cuts a STEPS, TABLE or FAQ block in the middle."""

    TEXT = "text"
    STEPS = "steps"
    TABLE = "table"
    FAQ = "faq"


class Block(BaseModel):
    """A structural unit of a parsed document, with the headings above it.

    For ``kind == FAQ`` the ``question``, ``alt_questions`` and ``answer`` fields are set
    and ``text`` holds a rendering of all of them.
    """

    model_config = ConfigDict(frozen=True)

    kind: BlockKind = BlockKind.TEXT
    text: str
    heading_path: tuple[str, ...] = ()
    question: str | None = None
    alt_questions: tuple[str, ...] = ()
    answer: str | None = None


class ArticleMeta(BaseModel):
    """Article metadata, from front matter, a sidecar, CLI flags or the API.

    Example:
        >>> ArticleMeta(id="refund-sop", title="Refund SOP", type=ArticleType.SOP, language="en")
    """

    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
    tenant: str = "default"
    type: ArticleType = ArticleType.MANUAL
    title: str = ""
    language: Language = "zh"
    product: str | None = None
    channel: str | None = None
    tags: list[str] = Field(default_factory=list)
    owner: str | None = None
    status: ArticleStatus = ArticleStatus.DRAFT
    effective_from: date | None = None
    valid_until: date | None = None
    review_by: date | None = None
    source_file: str | None = None


class ParsedArticle(BaseModel):
    """One article as a parser produced it: metadata plus structural blocks."""

    meta: ArticleMeta
    blocks: list[Block]
    content_hash: str = ""


class SparseVector(BaseModel):
    """A sparse lexical vector: token ids and their weights."""

    indices: list[int]
    values: list[float]


class Chunk(BaseModel):
    """A retrievable unit of an article revision, with the payload needed to filter and cite.

    ``id`` is a UUIDv5 of the tenant, article id and the chunk's content, so the same text
    in the same article always gets the same id (idempotent re-ingest).
    """

    id: str
    tenant: str
    article_id: str
    revision: int
    chunk_index: int
    text: str
    title: str = ""
    heading_path: list[str] = Field(default_factory=list)
    kind: BlockKind = BlockKind.TEXT
    type: ArticleType = ArticleType.MANUAL
    language: Language = "zh"
    product: str | None = None
    channel: str | None = None
    tags: list[str] = Field(default_factory=list)
    effective_from: date | None = None
    valid_until: date | None = None
    question: str | None = None
    alt_questions: list[str] = Field(default_factory=list)
    answer: str | None = None

    @property
    def section(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def citation_key(self) -> str:
        return f"{self.article_id}@{self.revision}"


class EncodedChunk(BaseModel):
    """A chunk with its vectors, ready for the vector store."""

    chunk: Chunk
    dense: list[float]
    sparse: SparseVector


class SearchFilter(BaseModel):
    """Filters applied to every search. ``tenant`` is mandatory by construction."""

    tenant: str
    languages: list[str] | None = None
    products: list[str] | None = None
    channels: list[str] | None = None
    types: list[ArticleType] | None = None
    article_ids: list[str] | None = None
    on_date: date | None = None
    """Only articles in effect on this date (default: today)."""
    include_staged: bool = False
    """Staged chunks belong to a revision that is not live yet; only the indexer sees them."""


class RetrievedChunk(BaseModel):
    chunk: Chunk
    score: float
    dense_score: float | None = None
    sparse_score: float | None = None


class ChatMessage(BaseModel):
    """A message to or from a chat model (OpenAI roles)."""

    role: Literal["system", "user", "assistant"]
    content: str


class Turn(BaseModel):
    """A turn of a customer-service conversation."""

    role: Literal["customer", "agent", "bot", "system"] = "customer"
    text: str
    ts: datetime | None = None


class Conversation(BaseModel):
    """A customer-service conversation and what we know about the customer and channel."""

    tenant: str = "default"
    turns: list[Turn]
    channel: str | None = None
    language: Language | None = None
    customer: dict[str, Any] = Field(default_factory=dict)
    """E.g. ``{"vip": true, "contacts_last_7d": 3}``."""
    now: datetime | None = None
    """Clock for SLA rules; default: the time of the call."""

    @property
    def last_customer_text(self) -> str:
        for t in reversed(self.turns):
            if t.role == "customer":
                return t.text
        return self.turns[-1].text if self.turns else ""


class GenSettings(BaseModel):
    temperature: float = 0.2
    max_tokens: int = 512
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    json_schema: dict[str, Any] | None = None
    """When set, the model is asked for JSON matching this schema (``response_format``)."""
    timeout_s: float | None = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Completion(BaseModel):
    text: str
    model: str
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)


class Citation(BaseModel):
    number: int
    chunk_id: str
    article_id: str
    revision: int
    title: str
    section: str
    snippet: str


class RelatedArticle(BaseModel):
    """An article or FAQ entry related to the conversation that the customer could be
    sent, beside a draft and distinct from its citations (``assist/related.py``)."""

    article_id: str
    revision: int
    chunk_id: str
    title: str
    """The article's title."""
    kind: Literal["faq", "article"]
    question: str | None = None
    """The FAQ entry's question (``kind == "faq"`` entries of an FAQ article)."""
    section: str = ""
    snippet: str
    """A short extract to send: the FAQ answer, or the best passage of the article."""
    reference: str
    """``article_id@revision``: what the agent's tools open (``GET /v1/articles/{id}/revisions/{rev}``)."""
    url: str | None = None
    """The public link, when the tenant's profile has an ``article_url`` template."""
    score: float
    """Dense cosine of the best matching passage against the conversation."""
    matched: list[str] = Field(default_factory=list)
    """Why: words the customer used that the article holds too."""


DraftStatus = Literal["drafted", "curated", "not_covered", "no_draft"]


class Draft(BaseModel):
    """A suggested reply with its evidence.

    ``status``: ``drafted`` (generated and grounded), ``curated`` (an approved FAQ answer
    returned verbatim), ``not_covered`` (the knowledge base does not answer; a clarifying
    reply and a flag), ``no_draft`` (the model was unavailable; sources only).
    """

    id: str
    text: str
    status: DraftStatus
    language: Language
    citations: list[Citation] = Field(default_factory=list)
    sources: list[RetrievedChunk] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    invalid_citations: list[int] = Field(default_factory=list)
    detail: str | None = None
    related: list[RelatedArticle] = Field(default_factory=list)
    """Articles and FAQ entries related to the conversation, not among the citations."""
    masked: dict[str, str] = Field(default_factory=dict, exclude=True)
    """Placeholder -> original value; never serialised, used only to restore for display."""


class EscalationDecision(BaseModel):
    escalate: bool
    target: str | None = None
    deadline: datetime | None = None
    urgency: Literal["low", "normal", "high", "critical"] = "normal"
    category: str | None = None
    sentiment: Literal["negative", "neutral", "positive"] = "neutral"
    sentiment_trend: Literal["worsening", "stable", "improving"] = "stable"
    risk_flags: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    sop_citation: str | None = None
    rule_ids: list[str] = Field(default_factory=list)


class Finding(BaseModel):
    check: str
    severity: Literal["info", "minor", "major", "critical"]
    message: str
    span: tuple[int, int] | None = None


class QAReport(BaseModel):
    score: float
    passed: bool
    findings: list[Finding] = Field(default_factory=list)


class IngestError(BaseModel):
    file: str
    error: str


class IngestReport(BaseModel):
    files: int = 0
    articles: int = 0
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_skipped: int = 0
    chunks_deleted: int = 0
    errors: list[IngestError] = Field(default_factory=list)


class ReindexReport(BaseModel):
    """What ``Indexer.reindex`` did for one tenant."""

    tenant: str
    revisions: int = 0
    """Revisions rebuilt (index state staged or live)."""
    live: int = 0
    """Of them, the live revisions (searchable again)."""
    chunks_total: int = 0
    chunks_embedded: int = 0
    """Chunks the collection lacked, embedded now."""
    chunks_skipped: int = 0
    """Chunks the collection already held."""
    chunks_pruned: int = 0
    """Points no staged or live revision references, deleted (``prune=True`` only)."""
