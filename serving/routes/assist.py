"""Agent-assist endpoints: drafts (JSON or server-sent events), escalation, QA, summary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from assist.events import DeltaEvent, DoneEvent, ErrorEvent, RelatedEvent, SourcesEvent
from assist.types import Conversation, Draft, Turn
from serving.admission import ClientGone, admitted, gone_response, ticket
from serving.deps import AgentDep, PipelineDep
from serving.errors import ERROR_RESPONSES, sse, stream_error
from serving.routes.search import source_public
from serving.schemas import (
    ConversationIn,
    DraftPublic,
    DraftRequest,
    EscalationPublic,
    EscalationRequest,
    QAPublic,
    QARequest,
    SummaryPublic,
)

router = APIRouter(prefix="/v1/assist", tags=["assist"], responses=ERROR_RESPONSES)


def conversation(body: ConversationIn, tenant: str) -> Conversation:
    return Conversation(tenant=tenant, turns=body.turns, channel=body.channel, language=body.language,
                        customer=body.customer, now=body.now)


def draft_public(d: Draft, display_text: str) -> DraftPublic:
    return DraftPublic(id=d.id, status=d.status, language=d.language, text=d.text, display_text=display_text,
                       citations=d.citations, sources=[source_public(s) for s in d.sources], flags=d.flags,
                       invalid_citations=d.invalid_citations, detail=d.detail, related=d.related)


def record(request: Request, tenant: str, kind: str, suggestion_id: str, req: dict[str, Any],
           resp: dict[str, Any]) -> None:
    """Store a suggestion (masked request, response) so feedback can refer to it. Every text
    in both is masked again with the tenant's masker as it is stored (the summary, the
    escalation reasons, the channel label...): nothing personal is kept at rest."""
    from assist.db import SuggestionRepository

    redact = request.app.state.pipeline.masker_for(tenant).redact
    SuggestionRepository(request.app.state.db, redact=redact).add(tenant, kind, req, resp, id=suggestion_id)


async def record_async(request: Request, tenant: str, kind: str, suggestion_id: str,
                       req: dict[str, Any] | Callable[[], dict[str, Any]], resp: dict[str, Any]) -> None:
    """:func:`record` in a worker thread: masking a long conversation is CPU work, and the
    event loop must keep serving other requests meanwhile. ``req`` may be a function that
    builds the request copy (its masking then runs in the thread too)."""
    def work() -> None:
        record(request, tenant, kind, suggestion_id, req() if callable(req) else req, resp)

    await anyio.to_thread.run_sync(work)


DRAFT_STREAM_DOC = """With `stream: true` the answer is `text/event-stream`, the events of the core's draft
(`assist/events.py`), in order:

* `event: sources` `{"draft_id", "covered", "language", "sources": [SourcePublic]}`
* `event: delta` `{"text", "display_text"}`, zero or more: whole, checked sentences (dropped
  citations are gone, attributed ones in); `text` keeps masked personal data as placeholders,
  `display_text` restores it for the agent's screen
* `event: related` `{"draft_id", "related": [RelatedArticle]}`: articles and FAQ entries the customer
  could be sent, not among the citations (possibly none; absent when related content is off)
* `event: done` a `DraftPublic`: its `text`/`display_text` are the deltas joined
* or, instead of `done`, `event: error` with the one error envelope `{"error": {"type", "code", "message"}}`

Bad input is refused before the stream starts, as a normal JSON error."""


def _sources(ev: SourcesEvent) -> dict[str, Any]:
    return {"draft_id": ev.draft_id, "covered": ev.covered, "language": ev.language,
            "sources": [source_public(s).model_dump() for s in ev.sources]}


async def _record_draft(request: Request, conv: Conversation, done: DoneEvent) -> DraftPublic:
    out = draft_public(done.draft, done.display_text)
    await record_async(request, conv.tenant, "draft", done.draft.id,
                       masked_request(done.turns, conv.channel),
                       out.model_dump(mode="json", exclude={"display_text"}))
    return out


@router.post("/draft", response_model=DraftPublic,
             summary="Draft a cited reply (set stream=true for server-sent events)",
             description=DRAFT_STREAM_DOC,
             responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def draft(body: DraftRequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body, caller.tenant)
    if not body.stream:
        try:  # a slot of the model server (or 503 + Retry-After); cancelled if the client leaves
            done = await admitted(request, lambda: pipe.draft_done(conv))
        except ClientGone:
            return gone_response()
        return await _record_draft(request, conv, done)

    slot = await ticket(request)  # held until the stream ends or its client leaves
    try:
        # Validate before the stream starts, so bad input is a normal error response.
        events = pipe.draft_events(conv)
        first = await events.__anext__()
    except BaseException:
        slot.release()
        raise

    async def gen() -> AsyncIterator[str]:
        try:
            assert isinstance(first, SourcesEvent)
            yield sse(_sources(first), "sources")
            async for ev in events:
                if isinstance(ev, DeltaEvent):
                    yield sse({"text": ev.text, "display_text": ev.display_text}, "delta")
                elif isinstance(ev, RelatedEvent):
                    yield sse({"draft_id": ev.draft_id,
                               "related": [r.model_dump(mode="json") for r in ev.related]}, "related")
                elif isinstance(ev, DoneEvent):
                    yield sse((await _record_draft(request, conv, ev)).model_dump(mode="json"), "done")
                elif isinstance(ev, ErrorEvent):
                    yield sse(stream_error(ev.error), "error")
        except Exception as e:  # the stream has started: the error travels as an event
            yield sse(stream_error(e), "error")
        finally:
            slot.release()
            with anyio.CancelScope(shield=True):
                await events.aclose()  # closes the model's stream when the client left early

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                             background=BackgroundTask(slot.release))


def masked_request(turns: list[Turn], channel: str | None) -> dict[str, Any]:
    """What is stored of a draft request: the turns as the core masked them (``record``
    redacts every stored text once more, the free ``channel`` label included)."""
    return {"turns": [{"role": t.role, "text": t.text} for t in turns], "channel": channel}


@router.post("/escalation", response_model=EscalationPublic, summary="Suggest whether, to whom and by when to escalate")
async def escalation(body: EscalationRequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body, caller.tenant)
    try:
        if pipe.settings.escalation_use_llm:  # asks the model: takes a slot like a draft
            decision, sid, used = await admitted(request, lambda: pipe.escalate(conv, category=body.category))
        else:
            decision, sid, used = await pipe.escalate(conv, category=body.category)
    except ClientGone:
        return gone_response()
    out = EscalationPublic(id=sid, **decision.model_dump())
    await record_async(request, caller.tenant, "escalation", sid, lambda: masked_request(used.turns, conv.channel),
                       out.model_dump(mode="json"))
    if getattr(request.app.state, "metrics", None):
        request.app.state.metrics.escalations.labels(target=str(decision.target if decision.escalate else "none")).inc()
    return out


@router.post("/qa", response_model=QAPublic, summary="Check a reply against the tenant's quality rubric")
async def qa(body: QARequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body.conversation, caller.tenant) if body.conversation else None
    report, sid = await pipe.qa(body.reply, tenant=caller.tenant, conversation=conv, cited_texts=body.cited_texts,
                                language=body.language)
    out = QAPublic(id=sid, **report.model_dump())
    await record_async(request, caller.tenant, "qa", sid,
                       lambda: {"reply": pipe.masker_for(caller.tenant).mask(body.reply).text},
                       out.model_dump(mode="json"))
    return out


@router.post("/summary", response_model=SummaryPublic, summary="Handover summary of a conversation")
async def summary(body: ConversationIn, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body, caller.tenant)
    try:
        s, sid, used = await admitted(request, lambda: pipe.summarize(conv))
    except ClientGone:
        return gone_response()
    out = SummaryPublic(id=sid, **s)
    await record_async(request, caller.tenant, "summary", sid, lambda: masked_request(used.turns, conv.channel),
                       out.model_dump(mode="json"))
    return out
