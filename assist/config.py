"""One settings object for the whole product.

Read from the environment (``ASSIST_`` prefix, ``__`` for nesting) and an optional
``.env`` file. Never a module-level singleton: build one with ``Settings()`` and pass
it explicitly (``AssistPipeline.from_settings(s)``, ``create_app(s)``).

Example:
    >>> s = Settings(home="/tmp/assist-home")
    >>> s.embedder.model
    'e5-small'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assist.errors import ConfigError

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "placeholder"}


class EmbedderSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    model: str = "e5-small"
    """A model prepared by ``assist models prepare`` (``e5-small``, ``embeddinggemma``),
    a local sentence-transformers directory, or (only with ``allow_download``) a hub id."""
    allow_download: bool = False
    """Allow sentence-transformers to fetch a hub id. Off: a missing model is an error."""
    batch_size: int = 32
    """Texts per encode call."""
    max_seq_length: int = 512
    """Tokens per text the embedder reads; longer texts are truncated."""
    device: str = "cpu"
    threads: int | None = None
    """torch intra-op threads; None leaves torch's default."""
    query_prompt_name: str | None = None
    """A named prompt of the model for queries (e.g. EmbeddingGemma's ``Classification``);
    None: the model's ``query`` prompt."""
    backend: Literal["auto", "torch", "onnx"] = "auto"
    """``onnx``: run the model's ONNX export with onnxruntime (same vectors, 2-3x faster
    queries on CPU; ``assist models prepare`` exports the prepared models, ``assist models
    export-onnx DIR`` any local one). ``torch``: sentence-transformers on PyTorch.
    ``auto``: ``onnx`` when an up-to-date export exists, else ``torch``."""
    quantize: Literal["none", "int8"] = "none"
    """``int8``: run the ONNX export's int8 variant (dynamic quantisation): ~1.5x faster
    queries and ~2x faster ingest on CPU, vectors within cosine 0.98 of the float model's
    (retrieval quality in docs/models.md). It is its own index (model id ``NAME-int8``):
    re-ingest after switching. Needs the ONNX backend."""


class LLMSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    provider: Literal["embedded", "openai-compat", "fake"] = "embedded"
    """``embedded`` starts a local OpenAI-compatible server (vLLM CPU build) as a child
    process; ``openai-compat`` talks to ``base_url`` (vLLM on GPUs, or any compatible API)."""
    base_url: str | None = None
    """OpenAI-compatible endpoint, e.g. ``http://vllm:8000/v1`` (``openai-compat`` provider)."""
    model: str = "qwen2.5-0.5b-instruct"
    """Served model name (vLLM ``--served-model-name``)."""
    api_key: SecretStr = SecretStr("")
    timeout_s: float = 60.0
    """Per-request timeout to the model server."""
    connect_timeout_s: float = 5.0
    max_retries: int = 2
    """Retries with backoff on connection errors, timeouts, 429 and 5xx."""
    max_context_tokens: int = 2048
    max_concurrency: int | None = None
    """Model-bound requests (drafts, chat completions, summaries, escalations that ask the
    model) served at once by one service process; more wait in a queue; ``0``: no limit.
    None: 1 on the embedded CPU server (measured: with 4 at once vLLM's batching on one
    engine thread gave p95 7.4 s for 4 drafters, queueing in front of it 4.6 s at the same
    throughput; docs/benchmarks.md section 6), 16 on an ``openai-compat`` server (GPUs)."""
    max_queue: int = 8
    """Requests that may wait for a slot; beyond it the service answers 503 with
    ``Retry-After`` at once (load shedding) instead of queueing for minutes."""
    queue_timeout_s: float = 5.0
    """The longest a request waits in the queue before it is answered 503 with ``Retry-After``."""
    # embedded server
    engine: Literal["vllm"] = "vllm"
    engine_python: Path | None = None
    """Python of the virtualenv holding vLLM's CPU build (default ``HOME/vllm-venv/bin/python``)."""
    engine_port: int = 8011
    engine_threads: int = 1
    engine_start_timeout_s: float = 300.0
    judge_model: str | None = None
    """Model used as the ragas judge; default: ``model``."""

    @property
    def effective_max_concurrency(self) -> int:
        """``max_concurrency``, or its default for the provider when unset."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        return 1 if self.provider == "embedded" else 16


class QdrantSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    mode: Literal["edge", "remote", "local"] = "edge"
    """``edge``: the real Qdrant engine embedded in process (qdrant-edge-py), the default.
    ``remote``: a Qdrant server or cluster at ``url``. ``local``: qdrant-client's local mode
    (pure Python; for tests of the remote code path)."""
    url: str | None = None
    """Qdrant server or cluster URL (``remote`` mode)."""
    api_key: SecretStr | None = None
    path: Path | None = None
    """Storage for ``edge`` / ``local`` (default ``HOME/qdrant``)."""
    collection_prefix: str = "kb"
    timeout_s: float = 10.0
    replication_factor: int = 1
    shard_number: int = 1
    hnsw_m: int = 16
    hnsw_ef_construct: int = 100
    search_ef: int = 128


class SparseSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    tokenizer: Literal["jieba", "char-bigram"] = "jieba"
    """How Chinese text is split for the sparse (BM25-style) vectors. Each tokenizer has its
    own collection: after switching, ``assist kb reindex --all-tenants`` (jieba is best on
    written passages, character bigrams on short chat questions; docs/quality.md)."""
    k1: float = 1.2
    b: float = 0.75
    avg_doc_len: float = 64.0
    """BM25's k1, b and average document length, applied when documents are encoded (the
    IDF half is Qdrant's). Non-default values get their own collection (``index_id``)."""

    def index_id(self) -> str:
        """What the stored sparse vectors depend on, as a collection-name suffix: empty for
        the defaults (jieba, k1 1.2, b 0.75, length 64), else the tokenizer and any changed
        BM25 parameter, so that documents encoded one way are never scored with another.

        Example:
            >>> SparseSettings().index_id(), SparseSettings(tokenizer="char-bigram", avg_doc_len=32).index_id()
            ('', 'char-bigram_bm25-1.2-0.75-32')
        """
        # Fixed on purpose, not read from the field defaults: if a default changes one day,
        # indexes built with the old one must keep their names and the new one get its own.
        parts: list[str] = [] if self.tokenizer == "jieba" else [self.tokenizer]
        bm25 = (self.k1, self.b, self.avg_doc_len)
        if bm25 != (1.2, 0.75, 64.0):
            parts.append("bm25-" + "-".join(f"{v:g}" for v in bm25))
        return "_".join(parts)


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    top_k: int = 5
    """Passages returned by search and given to the drafting model."""
    candidates: int = 50
    """Candidates prefetched from each of the dense and sparse indexes before fusion."""
    fusion: Literal["rrf", "dbsf"] = "dbsf"
    """How the dense and the sparse list are fused, inside Qdrant: ``dbsf`` (each list's
    scores normalised by their mean and spread, then summed with ``fusion_weights``) or
    ``rrf`` (reciprocal ranks, ``rrf_k``, ``sparse_weight``). Measured in docs/quality.md."""
    fusion_weights: tuple[int, int] = (1, 1)
    """DBSF weights (dense, sparse), whole numbers 0..4 (a weight n enters that list n
    times): ``(2, 1)`` leans on meaning, ``(1, 2)`` on exact terms, ``(1, 0)`` is dense only.
    A tenant's calibration (``assist eval retrieval --fit-fusion``) overrides them."""
    rrf_k: int = 60
    sparse_weight: float = Field(default=1.0, gt=0.0, le=10.0)
    """Weight of the sparse (BM25) list in RRF, the dense list weighing 1.0 (Qdrant's
    weighted RRF: a weight w counts a rank r as r / w). 1.0: plain RRF; below 1 favours
    meaning, above 1 exact terms (product codes). Not used by DBSF. Measured in
    docs/quality.md."""
    min_dense_score: float = 0.89
    """Covered when the best dense cosine reaches this (calibrated with ``assist eval
    calibrate`` on the golden set; see docs/quality.md)."""
    min_sparse_score: float | None = 12.4
    """...or when the best sparse (BM25-style) score reaches this: a strong lexical match
    covers a question the dense score undersells. None: dense only. Corpus-dependent
    (IDF): re-calibrate per deployment."""
    curated_min_score: float = 0.92
    """Return a published FAQ answer verbatim when its question matches at least this well
    (cosine, both sides embedded as queries) and the key terms agree (``curated_key_terms``)."""
    curated_key_terms: bool = True
    """A curated answer also needs the same numbers, the same polarity (a negation on one
    side only is another question) and the same product/model terms in the customer's
    question and the FAQ question (``assist/curated.py``; measured in docs/quality.md)."""
    curated_min_margin: float = Field(default=0.0, ge=0.0, le=1.0)
    """...and a cosine this much above the best phrasing of any other FAQ entry among the
    results (0: no margin test)."""
    history_turns: int = 4
    """Conversation turns that form the search query (entity carry-over)."""
    entity_scope_size: int = 2
    """How many distinct entities the scoped search covers: the one named last plus
    earlier ones, ranked together (a place named in passing must not hide the entity the
    question is about). 1: only the last one named."""
    scoped_query_turns: int = 1
    """Once the conversation's entity is resolved, the search within that entity uses only
    the last this-many customer turns (the question; the entity is already the filter).
    0: the same query as the unscoped search."""
    draft_passages: int = 3
    """Passages given to the drafting model (the best of ``top_k``)."""
    passage_chars: int = 600
    """Each passage is cut to this many characters in the drafting prompt (context budget)."""
    reranker: Literal["none", "cross-encoder", "llm"] = "none"
    """Reorder the first ``rerank_candidates`` fused results before the ``top_k`` cut:
    ``cross-encoder`` (a local CrossEncoder at ``rerank_model``) or ``llm`` (the chat model
    ranks them; one extra model call per search). Off by default: no reranker weights
    ship offline."""
    rerank_model: str | None = None
    """A local sentence-transformers CrossEncoder directory; setting it alone selects
    the cross-encoder reranker."""
    rerank_candidates: int = 10
    """How many fused results the reranker reorders."""
    rewrite_query: bool = False
    """Ask the chat model to rewrite a multi-turn conversation as one standalone question
    before searching (one extra model call; the conversation's turns are used when the
    model fails)."""
    max_message_chars: int = 4000

    @field_validator("fusion_weights")
    @classmethod
    def _whole_weights(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not all(0 <= w <= 4 for w in v) or sum(v) == 0:
            raise ValueError("fusion_weights: two whole numbers in 0..4, not both 0 (dense, sparse)")
        return v


class CoverageSettings(BaseModel):
    """Per-tenant coverage calibration at publish time (``assist/coverage.py``)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    on_publish: bool = True
    """Re-fit the tenant's covered thresholds from its own content after every publish,
    archive, rollback and re-index (a failure is logged and the previous fit kept)."""
    publish_wait_s: float = Field(default=30.0, ge=0.0, le=600.0)
    """How long a publish waits for the fit before returning (a few seconds for a few
    hundred articles); a longer fit finishes in the background, the previous thresholds
    serving meanwhile."""
    probes_per_article: int = Field(default=6, ge=1, le=50)
    """Probe questions per article: FAQ phrasings, headings as questions, first sentences."""
    max_probes: int = Field(default=400, ge=10, le=5000)
    """Probe questions per tenant in all (articles beyond it are sampled round-robin)."""
    cross_lingual: bool = True
    """Ask the chat model (when one is running) to translate a sample of the probes into
    the other language (zh <-> en) for a threshold per query language."""
    cross_lingual_probes: int = Field(default=8, ge=0, le=64)
    """Probes translated per language direction (one structured model call each)."""
    model_timeout_s: float = Field(default=30.0, gt=0.0, le=600.0)
    """Time allowed to each translation call."""
    min_recall: float = Field(default=0.9, gt=0.0, le=1.0)
    """The fit keeps at least this share of the probes covered (positive recall)."""
    recall_weight: float = Field(default=0.5, gt=0.0, lt=1.0)
    """The fit maximises ``w * recall + (1 - w) * refusal`` (0.5: balanced accuracy; higher:
    a wrong refusal costs more than a reviewed draft of an uncovered question)."""
    dense_range: tuple[float, float] = (0.5, 0.97)
    """The fitted dense threshold is clamped into this range."""
    never_stricter: bool = True
    """The fitted thresholds only ever relax the configured ``retrieval.min_dense_score`` /
    ``min_sparse_score`` (a fit above them refused most answerable questions of a phone
    manual: probes copied from articles overstate a customer's score; docs/quality.md)."""
    reference_refusal: float = Field(default=0.95, ge=0.5, le=1.0)
    """The dense threshold never drops below what refuses this share of the neutral
    off-topic reference questions (``assist/resources/coverage_reference.yaml``)."""


class DraftSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    mode: Literal["extractive", "generative", "auto"] = "auto"
    """``extractive``: the reply is built from knowledge-base sentences chosen by the model
    (one short structured call) or the scorer (``selector``); the default for small models.
    ``generative``: free text
    from the drafting prompt (a production 7-8B model). ``auto``: extractive below
    ``generative_min_params_b``. Every mode runs the claim and policy checks."""
    model_params_b: float | None = None
    """The chat model's size in billions of parameters for ``auto``; None: read from the
    model name (``qwen2.5-0.5b-instruct`` -> 0.5; no size in the name counts as small)."""
    generative_min_params_b: float = 7.0
    """``auto`` drafts generatively from this model size up."""
    related_max: int = Field(default=3, ge=0, le=10)
    """Related content beside a draft (``assist/related.py``): at most this many articles
    and FAQ entries the customer could be sent, never ones the draft cites; 0: off."""
    related_margin: float = Field(default=0.05, ge=0.0, le=1.0)
    """A related suggestion must reach the tenant's coverage threshold and have a dense
    cosine within this of the conversation's best match: never padded with unrelated
    articles (no suggestion is a valid answer)."""
    related_search: bool = True
    """One extra hybrid search over the customer's recent turns (in the conversation's
    language, sendable types only, FAQ entries of one article counted separately); False:
    only the draft's own retrieval results (no extra work)."""
    related_customer_turns: int = Field(default=6, ge=1, le=50)
    """Customer turns the extra search reads (the conversation's customer side, not only
    the last question)."""
    related_types: list[Literal["faq", "manual", "policy", "sop"]] = ["faq", "manual", "policy"]
    """Article types a customer may be sent (internal SOPs and phrasebooks are not, by default)."""
    related_snippet_chars: int = Field(default=160, ge=20, le=2000)
    """A suggestion's snippet (an FAQ answer, or the best passage) is cut to about this size."""
    evidence_chunks: int = Field(default=4, ge=1, le=20)
    """Retrieved chunks whose sentences are candidate evidence."""
    extra_article_chunks: int = Field(default=2, ge=0, le=20)
    """More chunks of the best articles (a long document holds its answer in several)."""
    evidence_sentences: int = Field(default=6, ge=1, le=20)
    """Scored sentences the model chooses among."""
    max_selected: int = Field(default=2, ge=1, le=5)
    """Sentences the model may choose."""
    sentence_chars: int = Field(default=120, ge=20)
    """A longer sentence is cut at clauses into evidence pieces of about this size."""
    short_sentence_chars: int = 12
    """A chosen sentence shorter than this brings the sentence before it."""
    list_items: int = Field(default=4, ge=0)
    """Sentences after a chosen one that ends with a colon (the list it announces)."""
    embed_pool: int = Field(default=40, ge=1)
    """Sentences embedded per draft (pre-selected by lexical match and position)."""
    lexical_weight: float = 0.3
    """Weight of the question-token overlap beside the dense cosine in a sentence's score."""
    rank_penalty: float = 0.01
    """Score taken off per chunk rank (the retriever's order as a prior)."""
    history_chars: int = 150
    """Earlier turns shown to the selection call are cut to this many characters."""
    select_max_tokens: int = Field(default=24, ge=8)
    """Token budget of the selection reply (a JSON list of numbers)."""
    select_timeout_s: float | None = None
    """Timeout of the selection call; None: ``llm.timeout_s``."""
    min_support: float = Field(default=0.5, gt=0.0, le=1.0)
    """Claim check: share of a sentence's content tokens its cited evidence must hold."""
    selector: Literal["auto", "model", "scorer"] = "auto"
    """Who chooses an extractive draft's evidence: ``model`` (one structured call, the
    model may choose none), ``scorer`` (the best-scored sentence, no model call), ``auto``
    (the model from ``select_min_params_b`` up; measured in docs/quality.md)."""
    select_min_params_b: float = 3.0
    """``auto`` lets the model choose the evidence from this model size up."""
    min_evidence_lexical: float = Field(default=0.2, ge=0.0, le=1.0)
    """Not covered when the best evidence sentence (with its title) holds less than this
    share of the question's content tokens."""
    clarify: bool = True
    """Ask the customer which topic they mean (a clarifying question naming the candidate
    articles) when a vague question's best evidence comes from several articles or
    sections at nearly the same score and neither the question nor the conversation names
    one of them (``assist/evidence.py``); False: answer from the best one."""
    clarify_margin: float = Field(default=0.05, ge=0.0, le=1.0)
    """Articles whose best evidence sentence scores within this of the best one compete."""
    clarify_max_topics: int = Field(default=3, ge=2, le=6)
    """Topics a clarifying question offers."""
    clarify_short_tokens: int = Field(default=3, ge=0, le=20)
    """A question with at most this many content tokens counts as vague (as does one that
    refers to something it does not name: "this model", "the country", 这款)."""


class RoutingSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    embedder: EmbedderSettings | None = None
    """A separate embedder for ticket routing (e.g. ``{"model": "embeddinggemma",
    "query_prompt_name": "Classification"}``, see docs/quality.md); None: the main one."""
    label_names: bool = True
    """Add each category's names as one extra few-shot example."""
    max_in_scope_rejection: float = Field(default=0.02, ge=0.0, lt=0.5)
    """Out-of-scope threshold budget: the share of held-out in-scope examples the
    cross-validated threshold may reject. Real messages score lower than held-out examples,
    so the realised rejection is higher (CLINC150, EmbeddingGemma router: in-scope accuracy
    0.953 without rejection, 0.924 at 2%, 0.898 at 5%); see the operating curve in
    docs/quality.md."""


class IngestSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    max_file_bytes: int = 20 * 1024 * 1024
    """Largest file accepted for ingestion."""
    chunk_tokens: int = 350
    """Chunk budget in the embedder's own tokens."""
    chunk_overlap_tokens: int = 40


class OpsSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    retention_days: int | None = Field(default=None, ge=1)
    """Imported conversations older than this are deleted by ``assist ops purge``; a tenant's
    ``ops.yaml`` ``retention_days`` wins. None: kept until purged by hand."""
    webhook_url: str | None = None
    """Where red-line alerts and recoveries are POSTed (JSON); None: stored and counted only."""
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = Field(default=4, ge=1)
    """Tries per notice (exponential backoff); an undelivered notice is sent again later."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(default_factory=list)
    max_request_bytes: int = 25 * 1024 * 1024
    rate_limit: str = "120/minute"
    """Per API key, in the ``limits`` library's notation."""
    rate_limit_storage: str = "memory://"
    """``limits`` storage URI; ``redis://host:6379`` when several API replicas share limits."""
    request_timeout_s: float = 60.0
    require_auth: bool = True


class Settings(BaseSettings):
    """All configuration. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="ASSIST_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    env: Literal["dev", "test", "prod"] = "dev"
    """``prod`` refuses placeholder secrets and SQLite."""
    home: Path = Path(".assist")
    """Everything the embedded mode writes: database, vector index, prepared models."""
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///HOME/assist.db``. PostgreSQL in production."""
    models_path: Path | None = None
    """Where prepared models live (default ``HOME/models``)."""
    data_dir: Path | None = None
    """Public data sets for evaluations and benchmarks (``<dir>/<name>/corpus.jsonl``...): ``assist eval --dataset NAME`` and ``bench/`` look here; default ``../shared/data`` beside the repository."""
    default_tenant: str = "default"
    tenants_dir: Path = Path("examples/tenants")
    """Per-tenant files: ``<dir>/<tenant>/{profile,taxonomy,escalation,rubric}.yaml`` and
    ``routing_examples.jsonl``; a missing file means neutral defaults (``assist/resources/tenant_defaults``). The sample tenants ``nova`` and ``bank`` ship in ``examples/tenants``."""
    escalation_use_llm: bool = True
    """Ask the model for category/sentiment/urgency hints (hard rules always win)."""
    secret_key: SecretStr = SecretStr("dev-only-secret")
    log_level: str = "INFO"

    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    sparse: SparseSettings = Field(default_factory=SparseSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)
    draft: DraftSettings = Field(default_factory=DraftSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)

    @field_validator("home")
    @classmethod
    def _expand_home(cls, v: Path) -> Path:
        return v.expanduser()

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.env == "prod":
            if self.secret_key.get_secret_value() in _PLACEHOLDER_SECRETS | {"dev-only-secret"}:
                raise ConfigError("ASSIST_SECRET_KEY is a placeholder: set a real secret in production")
            if self.database_url is None or self.database_url.startswith("sqlite"):
                raise ConfigError("production needs ASSIST_DATABASE_URL pointing at PostgreSQL")
        return self

    # Derived paths -------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        return self.models_path or (self.home / "models")

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir or (Path(__file__).resolve().parents[2] / "shared" / "data")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'assist.db').resolve()}"

    @property
    def qdrant_path(self) -> Path:
        return self.qdrant.path or (self.home / "qdrant")

    @property
    def engine_python(self) -> Path:
        return self.llm.engine_python or (self.home / "vllm-venv" / "bin" / "python")
