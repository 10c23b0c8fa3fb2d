"""AssistPipeline: the one object the CLI, the API and the evaluation harness use.

    conversation ─► validate ─► mask PII ─► retrieve ─► covered? ─┬─► curated FAQ answer
                                                                   ├─► LLM draft ─► check each sentence
                                                                   └─► not covered ─► gap log

Drafts come out as typed events (``assist/events.py``): sources, checked deltas, related
content (``assist/related.py``), done (or error), the same for the JSON, SSE and
OpenAI-compatible transports.

Construction is explicit (``AssistPipeline.from_settings(settings)``); the API, the CLI and
the evaluation harness get theirs from :func:`assist.runtime.open_runtime`, which also owns
the embedded model server's lifecycle.

Example:
    >>> pipe = AssistPipeline.from_settings(Settings())                  # doctest: +SKIP
    >>> draft = await pipe.draft(Conversation(tenant="nova", turns=[Turn(text="退款多久到账？")]))
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from assist.calibration import CalibrationStore
from assist.config import Settings
from assist.conversation import truncate_conversation
from assist.curated import CuratedMatcher
from assist.db import Database
from assist.drafting import (
    DraftWriter,
    Passage,
    citations_for,
    make_passages,
    prompt_history,
)
from assist.embedders import make_embedder
from assist.embedders.base import Embedder
from assist.errors import AssistError, InputError, LLMError, NotFoundError
from assist.events import DeltaEvent, DoneEvent, DraftEvent, ErrorEvent, RelatedEvent, SourcesEvent
from assist.evidence import (
    CLARIFY,
    NO_SUPPORTED_CLAIM,
    ClaimFilter,
    EvidenceDraft,
    EvidenceDrafter,
    draft_mode,
    selection_mode,
)
from assist.llm import make_chat_model
from assist.llm.base import ChatModel
from assist.privacy import PiiMasker
from assist.prompts import PromptLibrary
from assist.related import RelatedFinder
from assist.rerank import make_reranker, make_rewriter
from assist.retrieval import RetrievalResult, Retriever
from assist.sparse import SparseEncoder
from assist.stores import make_vector_store
from assist.stores.base import VectorStore
from assist.streaming import CheckedStream
from assist.tenants import TenantRegistry
from assist.text import check_supported
from assist.types import (
    ArticleType,
    ChatMessage,
    Conversation,
    Draft,
    EscalationDecision,
    GenSettings,
    Language,
    QAReport,
    RelatedArticle,
    RetrievedChunk,
    SearchFilter,
    Turn,
)

log = logging.getLogger(__name__)

NOT_COVERED_FLAG = "escalate_or_ask_knowledge_management"


@dataclass
class AssistPipeline:
    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever
    llm: ChatModel
    prompts: PromptLibrary
    masker: PiiMasker
    db: Database | None = None
    tenants: TenantRegistry | None = None
    company: str | None = None
    """A company name for every tenant's prompts (an override, e.g. for an evaluation run);
    None: each tenant's profile display name (:meth:`company_for`)."""
    _writer: DraftWriter = field(init=False)
    _evidence: EvidenceDrafter = field(init=False)
    _related: RelatedFinder = field(init=False)
    _routing_embedder: Embedder | None = None
    on_event: Callable[[str, dict[str, Any]], None] | None = None
    """Metrics hook: ``on_event(name, fields)`` (the service feeds Prometheus with it)."""

    def __post_init__(self) -> None:
        self._writer = DraftWriter(llm=self.llm, prompts=self.prompts, company=self.company)
        self._evidence = EvidenceDrafter(llm=self.llm, prompts=self.prompts, embedder=self.embedder,
                                         settings=self.settings.draft, on_llm=self._on_select,
                                         use_model=selection_mode(self.settings) == "model")
        if self.tenants is None:
            self.tenants = TenantRegistry(self.settings.tenants_dir)
        self._related = RelatedFinder(self.retriever, self.settings.draft)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        llm: ChatModel | None = None,
        db: Database | None = None,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
    ) -> AssistPipeline:
        embedder = embedder or make_embedder(settings)
        embedder.warm_up()
        store = store or make_vector_store(settings, dim=embedder.dim, model_id=embedder.model_id)
        if db is None:
            db = Database(settings.resolved_database_url)
            db.migrate()
        llm = llm or make_chat_model(settings)
        prompts = PromptLibrary()
        reranker = make_reranker(settings.retrieval, llm=llm, prompts=prompts)
        warm_up = getattr(reranker, "warm_up", None)
        if warm_up is not None:  # a misconfigured reranker fails at start, not on a search
            warm_up()
        from assist.db.lookup import live_products

        retriever = Retriever(
            embedder=embedder,
            sparse=SparseEncoder(settings.sparse),
            store=store,
            settings=settings.retrieval,
            reranker=reranker,
            rewriter=make_rewriter(settings.retrieval, llm=llm, prompts=prompts),
            # Entity carry-over knows the products of the tenant's live articles; the
            # retriever caches them until the indexer's publish event (Indexer.on_publish).
            entity_names=lambda tenant: live_products(db, tenant),
            calibration=CalibrationStore(settings.home / "calibration"),  # per-tenant fusion/coverage
        )
        return cls(
            settings=settings,
            embedder=embedder,
            store=store,
            retriever=retriever,
            llm=llm,
            prompts=prompts,
            masker=PiiMasker(),
            db=db,
        )

    # ------------------------------------------------------------------ helpers
    @property
    def registry(self) -> TenantRegistry:
        """The tenants' rule files (set in ``__post_init__`` when not given)."""
        assert self.tenants is not None
        return self.tenants

    def masker_for(self, tenant: str | None) -> PiiMasker:
        """The tenant's masker (generic detectors + its profile's patterns); the generic one without a tenant."""
        return self.registry.masker(tenant) if tenant else self.masker

    def company_for(self, tenant: str, language: str) -> str:
        """The name the drafting prompt uses: the override, else the tenant profile's display name."""
        return self.company or self.registry.profile(tenant).company(language)

    @property
    def routing_embedder(self) -> Embedder:
        """The embedder ticket routing uses: ``settings.routing.embedder`` or the main one."""
        cfg = self.settings.routing.embedder
        if cfg is None:
            return self.embedder
        if self._routing_embedder is None:
            self._routing_embedder = make_embedder(self.settings, cfg)
            self._routing_embedder.warm_up()
        return self._routing_embedder

    def invalidate_entities(self, tenant: str | None = None) -> None:
        """Forget the tenant's known entities (kept for callers outside the service, such
        as the evaluation harness; the service wires ``Indexer.on_publish`` instead)."""
        self.retriever.invalidate_entities(tenant)

    def check_tenant(self, tenant: str) -> None:
        if self.db is not None:
            from assist.db.lookup import tenant_exists

            if not tenant_exists(self.db, tenant):
                raise NotFoundError(f"unknown tenant {tenant!r}: publish an article for it first")

    def _validate(self, conversation: Conversation) -> str:
        if not conversation.turns or not conversation.last_customer_text.strip():
            raise InputError("the conversation is empty: send at least one customer message")
        limit = self.settings.retrieval.max_message_chars
        for t in conversation.turns:
            if len(t.text) > limit:
                raise InputError(
                    f"a message is {len(t.text)} characters long; the limit is {limit} "
                    "(ASSIST_RETRIEVAL__MAX_MESSAGE_CHARS)"
                )
        lang = check_supported(conversation.last_customer_text)
        self.check_tenant(conversation.tenant)
        return conversation.language or lang

    def _emit(self, name: str, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(name, fields)

    # ------------------------------------------------------------------ search
    async def search(
        self,
        query: str,
        *,
        tenant: str,
        top_k: int | None = None,
        languages: list[str] | None = None,
        products: list[str] | None = None,
        channels: list[str] | None = None,
        types: list[ArticleType] | None = None,
        turns: list[Turn] | None = None,
        mode: str = "hybrid",
    ) -> RetrievalResult:
        if not query.strip() and not turns:
            raise InputError("the query is empty")
        if len(query) > self.settings.retrieval.max_message_chars:
            raise InputError(f"the query is longer than {self.settings.retrieval.max_message_chars} characters")
        self.check_tenant(tenant)
        masked = self.masker_for(tenant).mask(query).text
        filters = SearchFilter(tenant=tenant, languages=languages, products=products, channels=channels, types=types)
        started = time.perf_counter()
        result = await self.retriever.retrieve(masked, filters, turns=turns, top_k=top_k, mode=mode)  # type: ignore[arg-type]
        self._emit("retrieval", seconds=time.perf_counter() - started, covered=result.covered)
        return result

    # ------------------------------------------------------------------ drafts
    async def _prepare(self, conversation: Conversation) -> tuple[str, list[Turn], dict[str, str], RetrievalResult]:
        language = self._validate(conversation)
        # Masking a long conversation is CPU work: a worker thread keeps the event loop free.
        masked_conv, mapping = await anyio.to_thread.run_sync(self._mask_conversation, conversation)
        turns = masked_conv.turns
        filters = SearchFilter(tenant=conversation.tenant, channels=None)
        started = time.perf_counter()
        result = await self.retriever.retrieve(turns[-1].text, filters, turns=turns)
        self._emit("retrieval", seconds=time.perf_counter() - started, covered=result.covered)
        return language, turns, mapping, result

    async def _curated(self, query: str, result: RetrievalResult) -> RetrievedChunk | None:
        """A published FAQ entry whose question (or an alternative phrasing) matches the
        customer's question closely enough to answer with the approved text verbatim
        (a true paraphrase: meaning, key terms and margin, ``assist/curated.py``)."""
        return await CuratedMatcher.from_settings(self.embedder, self.settings.retrieval).match(query, result.chunks)

    async def _style(self, tenant: str, language: str) -> list[str]:
        """House-style phrases from the tenant's phrasebook articles."""
        filters = SearchFilter(tenant=tenant, languages=[language], types=[ArticleType.PHRASEBOOK])
        hits = await self.retriever.lexical("greeting apology soothing closing 问候 致歉 安抚 结束语", filters, top_k=3)
        lines: list[str] = []
        for h in hits:
            for line in h.chunk.text.splitlines():
                line = line.strip().lstrip("-*• ").strip()
                if 4 <= len(line) <= 160 and not line.startswith("#") and "|" not in line:
                    lines.append(line)
        return lines[:12]

    def _not_covered(self, draft_id: str, language: str, turns: list[Turn], result: RetrievalResult,
                     mapping: dict[str, str], tenant: str) -> Draft:
        wording = self.registry.profile(tenant).not_covered_for(language)
        text = self.prompts.render("not_covered", language, apology=wording.apology, topic=None,
                                   clarifying=wording.clarifying).strip()
        self._record_gap(tenant, turns[-1].text, language)
        self._emit("draft", status="not_covered")
        return Draft(id=draft_id, text=text, status="not_covered", language=language,  # type: ignore[arg-type]
                     sources=result.chunks, flags=[NOT_COVERED_FLAG], masked=mapping,
                     detail="the knowledge base does not cover this question")

    def _record_gap(self, tenant: str, question: str, language: str) -> None:
        if self.db is None:
            return
        from assist.db import GapRepository

        try:
            GapRepository(self.db).add(tenant, question, language=language)
        except Exception:  # the gap log must never break a draft
            log.exception("could not record a knowledge gap")

    async def draft(self, conversation: Conversation) -> Draft:
        """Draft the next agent reply for ``conversation`` (the events of
        :meth:`draft_events`, collected; an error event is raised)."""
        return (await self.draft_done(conversation)).draft

    async def draft_done(self, conversation: Conversation) -> DoneEvent:
        """The final event of :meth:`draft_events` (draft, display text, masked turns)."""
        async for event in self.draft_events(conversation):
            if isinstance(event, ErrorEvent):
                raise event.error
            if isinstance(event, DoneEvent):
                return event
        raise AssertionError("draft_events ended without a done event")

    async def draft_events(self, conversation: Conversation) -> AsyncGenerator[DraftEvent, None]:
        """Stream a draft as typed events (:mod:`assist.events`): ``sources`` first, then
        checked ``delta`` pieces, then ``done`` with the final :class:`Draft` whose text is
        the deltas joined. Bad input raises before the first event; a failure after it is
        an ``error`` event."""
        draft_id = str(uuid.uuid4())
        language, turns, mapping, result = await self._prepare(conversation)
        yield SourcesEvent(draft_id=draft_id, sources=result.chunks, covered=result.covered, language=language)
        try:
            async for event in self._draft_body(draft_id, conversation.tenant, language, turns, mapping, result):
                if isinstance(event, DoneEvent) and self._related.enabled:  # related content, then done
                    related = await self._related_for(conversation.tenant, language, turns, result, event.draft)
                    yield RelatedEvent(draft_id=draft_id, related=related)
                    event = replace(event, draft=event.draft.model_copy(update={"related": related}))
                yield event
        except AssistError as e:
            self._emit("draft", status="error")
            yield ErrorEvent(error=e)

    async def _related_for(self, tenant: str, language: str, turns: list[Turn], result: RetrievalResult,
                           draft: Draft) -> list[RelatedArticle]:
        """Articles and FAQ entries related to the conversation, not cited by ``draft``
        (``assist/related.py``); empty, never an error, when the search fails."""
        started = time.perf_counter()
        try:
            related = await self._related.find(tenant=tenant, language=language, turns=turns, result=result,
                                               citations=draft.citations, sources=draft.sources,
                                               link=self.registry.profile(tenant).article_link)
        except AssistError as e:
            log.warning("related content unavailable: %s", e.message)
            related = []
        self._emit("related", seconds=time.perf_counter() - started, count=len(related))
        return related

    async def _draft_body(self, draft_id: str, tenant: str, language: str, turns: list[Turn],
                          mapping: dict[str, str], result: RetrievalResult) -> AsyncIterator[DraftEvent]:
        """The three outcomes after retrieval: not covered, a curated answer, a model draft."""

        def restore(text: str) -> str:
            return self.masker.unmask(text, mapping)

        def done(draft: Draft) -> DoneEvent:
            return DoneEvent(draft=draft, display_text=restore(draft.text), turns=turns)

        if not result.covered:
            draft = self._not_covered(draft_id, language, turns, result, mapping, tenant)
            yield DeltaEvent(text=draft.text, display_text=restore(draft.text))
            yield done(draft)
            return
        curated = await self._curated(turns[-1].text, result)
        if curated is not None:
            passages, _ = make_passages([curated])
            draft = Draft(id=draft_id, text=curated.chunk.answer or "", status="curated", language=language,  # type: ignore[arg-type]
                          citations=citations_for([1], passages), sources=result.chunks, masked=mapping)
            self._emit("draft", status="curated")
            yield DeltaEvent(text=draft.text, display_text=restore(draft.text))
            yield done(draft)
            return
        # Evidence first (assist/evidence.py): extractive drafts are built from chosen
        # knowledge-base sentences; generative ones are claim-checked piece by piece below.
        style = await self._style(tenant, language)
        if draft_mode(self.settings) == "extractive":
            draft = await self._extractive(draft_id, tenant, language, turns, mapping, result, style)
            if draft.text:
                yield DeltaEvent(text=draft.text, display_text=restore(draft.text))
            yield done(draft)
            return
        rs = self.settings.retrieval
        passages, flags = make_passages(result.chunks[: rs.draft_passages], max_chars=rs.passage_chars)
        checked = CheckedStream(passages)
        claims = ClaimFilter(passages, style, min_support=self.settings.draft.min_support, question=turns[-1].text)
        started = time.perf_counter()
        chars = 0
        try:
            async for raw in self._generate(turns, passages, language, style,
                                            company=self.company_for(tenant, language)):
                chars += len(raw)
                if (piece := checked.feed(raw)) and (piece := claims.feed(piece)):
                    yield DeltaEvent(text=piece, display_text=restore(piece))
        except LLMError as e:
            if claims.text:  # text already went out: the caller must learn it is incomplete
                raise
            self._emit("draft", status="no_draft")
            yield done(Draft(id=draft_id, text="", status="no_draft", language=language,  # type: ignore[arg-type]
                             sources=result.chunks, flags=[*flags, "model_unavailable"], masked=mapping,
                             detail=f"no draft could be written: {e.message}"))
            return
        for piece in (claims.feed(checked.close()), claims.close()):
            if piece:
                yield DeltaEvent(text=piece, display_text=restore(piece))
        self._emit("llm", seconds=time.perf_counter() - started, chars=chars)
        if not claims.supported:  # nothing the passages support: never an ordinary draft
            # Nothing was released (the claim filter holds courtesy until a claim), so the
            # not-covered reply is the one delta: done's text stays the deltas joined.
            draft = self._unsupported(draft_id, language, turns, result, mapping, tenant,
                                      [*flags, *claims.flags, NO_SUPPORTED_CLAIM])
            yield DeltaEvent(text=draft.text, display_text=restore(draft.text))
            yield done(draft)
            return
        yield done(self._finish(draft_id, checked, passages, [*flags, *claims.flags], language, result, mapping,
                                text=claims.text))

    def _generate(self, turns: list[Turn], passages: list[Passage], language: str,
                  style: list[str], *, company: str | None = None) -> AsyncIterator[str]:
        """Raw text deltas of the model's reply to (turns, passages, language, style); the
        caller checks and releases them sentence by sentence."""
        return self._writer.stream(turns, passages, language, style, company=company)

    def _finish(self, draft_id: str, checked: CheckedStream, passages: list[Passage], flags: list[str],
                language: str, result: RetrievalResult, mapping: dict[str, str], *, text: str | None = None) -> Draft:
        """The drafted reply; ``text``: the claim-checked text (what was released), when given."""
        final = checked.text if text is None else text
        # The claim check may have attributed or corrected markers: read them off the final text.
        used = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d{1,3})\]", final) if 1 <= int(n) <= len(passages)))
        # Unsupported sentences are already gone when the claim check ran (text given).
        flags = list(flags) + [f for f in checked.flags() if text is None or not f.startswith("unsupported_sentence")]
        if checked.invalid:
            flags.append("invalid_citations_removed")
        if not used:
            flags.append("no_citations")
        self._emit("draft", status="drafted")
        return Draft(id=draft_id, text=final, status="drafted", language=language,  # type: ignore[arg-type]
                     citations=citations_for(used, passages), sources=result.chunks, flags=flags,
                     invalid_citations=list(checked.invalid), masked=mapping)

    # ------------------------------------------------------------------ evidence-first drafts
    async def _more_chunks(self, tenant: str, question: str, article_ids: list[str], k: int) -> list[RetrievedChunk]:
        """More chunks of the given articles for ``question`` (a long document answers in
        several chunks; the retriever keeps one per article): one hybrid query within them."""
        if not article_ids:
            return []
        sparse = self.retriever.sparse.encode_query(question)
        return await self.store.search(
            dense=await self.embedder.embed_query(question), sparse=sparse if sparse.indices else None,
            filters=SearchFilter(tenant=tenant, article_ids=article_ids), top_k=k,
            candidates=max(k, 20), fusion=self.settings.retrieval.fusion)

    def _on_select(self, seconds: float, out: Any) -> None:
        self._emit("llm", seconds=seconds, chars=len(out.text), completion_tokens=out.usage.completion_tokens,
                   prompt_tokens=out.usage.prompt_tokens)

    async def _extractive(self, draft_id: str, tenant: str, language: str, turns: list[Turn],
                          mapping: dict[str, str], result: RetrievalResult, style: list[str]) -> Draft:
        """An extractive draft (one short selection call), claim- and policy-checked."""
        profile = self.registry.profile(tenant)

        def phrase(section: Any) -> str | None:
            # A phrase that asks something or names the agent does not fit a written answer.
            return next((p for p in profile.phrases(language, section) if not any(c in p for c in "{?？")), None)

        async def more(question: str, article_ids: list[str], k: int) -> list[RetrievedChunk]:
            return await self._more_chunks(tenant, question, article_ids, k)

        first_reply = not any(t.role == "agent" for t in turns)
        out = await self._evidence.extractive(turns, result.chunks, language, style=style,
                                              greeting=phrase("greeting") if first_reply else None,
                                              closing=phrase("closing"), context=result.query, more_chunks=more)
        return self._evidence_draft(draft_id, out, language, turns, result, mapping, tenant)

    def _evidence_draft(self, draft_id: str, out: EvidenceDraft, language: str, turns: list[Turn],
                        result: RetrievalResult, mapping: dict[str, str], tenant: str) -> Draft:
        seen = {r.chunk.id for r in result.chunks}
        sources = [*result.chunks, *(p.source for p in out.passages if p.source.chunk.id not in seen)]
        if out.status == "drafted":
            self._emit("draft", status="drafted")
            return Draft(id=draft_id, text=out.text, status="drafted", language=language,  # type: ignore[arg-type]
                         citations=citations_for(out.used, out.passages), sources=sources, flags=out.flags,
                         masked=mapping)
        if CLARIFY in out.flags:  # several topics fit: ask which one (not a knowledge gap)
            wording = self.registry.profile(tenant).not_covered_for(language)
            text = self.prompts.render("clarify_topics", language, topics=out.topics,
                                       clarifying=wording.clarifying).strip()
            self._emit("draft", status="not_covered")
            return Draft(id=draft_id, text=text, status="not_covered", language=language,  # type: ignore[arg-type]
                         sources=sources, flags=out.flags, masked=mapping, detail=out.detail)
        if out.status == "no_draft":
            self._emit("draft", status="no_draft")
            return Draft(id=draft_id, text="", status="no_draft", language=language,  # type: ignore[arg-type]
                         sources=sources, flags=out.flags, masked=mapping, detail=out.detail)
        draft = self._unsupported(draft_id, language, turns, result, mapping, tenant, out.flags)
        return draft.model_copy(update={"sources": sources, "detail": out.detail or draft.detail})

    def _unsupported(self, draft_id: str, language: str, turns: list[Turn], result: RetrievalResult,
                     mapping: dict[str, str], tenant: str, flags: list[str]) -> Draft:
        """Retrieval found passages but no supported answer in them: the not-covered reply
        (gap logged), with the reason in the flags."""
        draft = self._not_covered(draft_id, language, turns, result, mapping, tenant)
        return draft.model_copy(update={"flags": [*draft.flags, *flags]})

    # ------------------------------------------------------------------ escalation, QA, summary
    def _mask_conversation(self, conversation: Conversation) -> tuple[Conversation, dict[str, str]]:
        texts, mapping = self.mask_texts([t.text for t in conversation.turns], tenant=conversation.tenant)
        turns = [t.model_copy(update={"text": m}) for t, m in zip(conversation.turns, texts, strict=True)]
        return conversation.model_copy(update={"turns": turns}), mapping

    def mask_texts(self, texts: list[str], *, tenant: str | None = None) -> tuple[list[str], dict[str, str]]:
        """Mask personal data in several texts with one shared placeholder mapping (with the
        tenant's patterns when ``tenant`` is given)."""
        results = self.masker_for(tenant).mask_many(texts)
        mapping: dict[str, str] = {}
        for r in results:
            mapping.update(r.mapping)
        return [r.text for r in results], mapping

    async def _llm_json(self, task: str, language: str, schema: dict[str, Any], conv: Conversation,
                        **variables: Any) -> dict[str, Any] | None:
        """One structured-output call; None when the model is unavailable or answers badly."""
        import json as _json

        history = prompt_history(conv.turns, language)
        messages = [
            ChatMessage(role="system", content=self.prompts.render(task, language, **variables)),
            ChatMessage(role="user", content=self.prompts.render("conversation_input", language, history=history)),
        ]
        started = time.perf_counter()
        try:
            out = await self.llm.complete(messages, settings=GenSettings(temperature=0.0, max_tokens=300,
                                                                          json_schema=schema))
        except LLMError as e:
            log.warning("%s: model unavailable: %s", task, e.message)
            return None
        self._emit("llm", seconds=time.perf_counter() - started, chars=len(out.text),
                   completion_tokens=out.usage.completion_tokens, prompt_tokens=out.usage.prompt_tokens)
        try:
            data = _json.loads(out.text)
        except ValueError:
            log.warning("%s: the model did not return JSON", task)
            return None
        return data if isinstance(data, dict) else None

    async def route(self, conversation: Conversation) -> Any:
        """The conversation's category in the tenant's taxonomy (embedding few-shot router)."""
        rules = self.registry.get(conversation.tenant)
        router = await rules.router(self.routing_embedder, category_names=self.settings.routing.label_names,
                                    max_in_scope_rejection=self.settings.routing.max_in_scope_rejection)
        text = " ".join(t.text for t in conversation.turns if t.role == "customer")[-2000:]
        (result,) = await router.predict([self.masker_for(conversation.tenant).mask(text).text])
        return result

    async def escalate(self, conversation: Conversation, *, category: str | None = None
                       ) -> tuple[EscalationDecision, str, Conversation]:
        """Escalation suggestion: hard rules from the tenant's matrix always win; the router
        and (optionally) the model fill in category, sentiment and urgency.

        Returns the decision, its id and the conversation as it was used (cut to length,
        personal data masked): the copy to store."""
        language = self._validate(conversation)
        masked, _ = await anyio.to_thread.run_sync(self._mask_conversation, truncate_conversation(conversation))
        rules = self.registry.get(conversation.tenant)
        if category is None:
            category = (await self.route(masked)).label
        elif category not in rules.taxonomy.ids():
            raise InputError(f"unknown category {category!r}; known: {rules.taxonomy.ids()}")
        hints = None
        if self.settings.escalation_use_llm:
            schema = {"type": "object", "properties": {
                "category": {"type": "string", "enum": rules.taxonomy.ids()},
                "sentiment": {"type": "string", "enum": ["negative", "neutral", "positive"]},
                "urgency": {"type": "string", "enum": ["low", "normal", "high", "critical"]},
                "reason": {"type": "string"}}, "required": ["category", "sentiment", "urgency"]}
            cats = [{"id": c.id, "name": c.name_zh if language == "zh" else c.name_en}
                    for c in rules.taxonomy.categories]
            hints = await self._llm_json("escalation_hints", language, schema, masked, categories=cats)
        decision = rules.policy.decide(masked, category=category, model_hints=hints,
                                       sop_revisions=self._live_revisions(conversation.tenant))
        return decision, str(uuid.uuid4()), masked

    def _live_revisions(self, tenant: str) -> dict[str, int]:
        if self.db is None:
            return {}
        from assist.db import ArticleRepository

        return {a.id: a.live_revision for a in ArticleRepository(self.db).list_articles(tenant, type="sop")
                if a.live_revision}

    async def qa(self, reply: str, *, tenant: str, conversation: Conversation | None = None,
                 cited_texts: dict[int, str] | None = None, language: Language | None = None
                 ) -> tuple[QAReport, str]:
        """Check a reply (a draft or a human reply) against the tenant's quality rubric."""
        if not reply.strip():
            raise InputError("the reply is empty")
        if len(reply) > self.settings.retrieval.max_message_chars * 5:
            raise InputError("the reply is too long to check")
        self.check_tenant(tenant)
        conv = truncate_conversation(conversation) if conversation else None
        report = self.registry.checker(tenant).check(reply, conversation=conv, cited_texts=cited_texts,
                                                     language=language)
        return report, str(uuid.uuid4())

    async def summarize(self, conversation: Conversation) -> tuple[dict[str, Any], str, Conversation]:
        """Handover summary (issue, steps taken, promises, next action, deadline), in the
        conversation's language. Needs the model; raises ``LLMError`` when it is down.

        Returns the summary, its id and the conversation as the model saw it (cut to length,
        personal data masked): the copy to store."""
        language = self._validate(conversation)
        masked, mapping = await anyio.to_thread.run_sync(self._mask_conversation,
                                                         truncate_conversation(conversation))
        schema = {"type": "object", "properties": {
            "issue": {"type": "string"}, "steps_taken": {"type": "array", "items": {"type": "string"}},
            "promises": {"type": "array", "items": {"type": "string"}}, "next_action": {"type": "string"},
            "deadline": {"type": ["string", "null"]}},
            "required": ["issue", "steps_taken", "promises", "next_action", "deadline"]}
        data = await self._llm_json("summary", language, schema, masked)
        if data is None:
            raise LLMError("no summary could be written: the model server is unavailable or gave no JSON",
                           retryable=True)

        def text(v: Any) -> str:
            return self.masker.unmask(str(v), mapping) if v is not None else ""

        summary = {
            "language": language,
            "issue": text(data.get("issue")),
            "steps_taken": [text(x) for x in data.get("steps_taken") or [] if x],
            "promises": [text(x) for x in data.get("promises") or [] if x],
            "next_action": text(data.get("next_action")),
            "deadline": text(data.get("deadline")) or None,
        }
        return summary, str(uuid.uuid4()), masked

    def restore(self, draft: Draft) -> str:
        """The draft text with masked personal data put back, for display to the agent only."""
        return self.masker.unmask(draft.text, draft.masked)

    async def close(self) -> None:
        await self.store.close()
