"""Agent-assist endpoints: drafts (JSON or server-sent events), escalation, QA, summary."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from assist.errors import AssistError
from assist.types import Conversation, Draft
from serving.deps import AgentDep, PipelineDep
from serving.errors import status_for
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

router = APIRouter(prefix="/v1/assist", tags=["assist"])


def conversation(body: ConversationIn, tenant: str) -> Conversation:
    return Conversation(tenant=tenant, turns=body.turns, channel=body.channel, language=body.language,
                        customer=body.customer, now=body.now)


def draft_public(d: Draft, display_text: str) -> DraftPublic:
    return DraftPublic(id=d.id, status=d.status, language=d.language, text=d.text, display_text=display_text,
                       citations=d.citations, sources=[source_public(s) for s in d.sources], flags=d.flags,
                       invalid_citations=d.invalid_citations, detail=d.detail)


def record(request: Request, tenant: str, kind: str, suggestion_id: str, req: dict[str, Any],
           resp: dict[str, Any]) -> None:
    """Store a suggestion (masked request, response) so feedback can refer to it."""
    from assist.db import SuggestionRepository

    SuggestionRepository(request.app.state.db).add(tenant, kind, req, resp, id=suggestion_id)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


@router.post("/draft", response_model=DraftPublic,
             summary="Draft a cited reply (set stream=true for server-sent events)",
             responses={200: {"content": {"text/event-stream": {}}}})
async def draft(body: DraftRequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body, caller.tenant)
    if not body.stream:
        d = await pipe.draft(conv)
        out = draft_public(d, pipe.restore(d))
        record(request, caller.tenant, "draft", d.id, _masked_request(pipe, conv), out.model_dump(
            mode="json", exclude={"display_text"}))
        return out

    # Validate before the stream starts, so bad input is a normal error response.
    events = pipe.draft_events(conv)
    first = await events.__anext__()

    async def gen() -> AsyncIterator[str]:
        try:
            yield _sse("sources", {"draft_id": first["draft_id"], "covered": first["covered"],
                                   "language": first["language"],
                                   "sources": [source_public(s).model_dump() for s in first["sources"]]})
            async for ev in events:
                if ev["type"] == "delta":
                    yield _sse("delta", {"text": ev["text"]})
                elif ev["type"] == "done":
                    d = ev["draft"]
                    out = draft_public(d, pipe.restore(d))
                    record(request, caller.tenant, "draft", d.id, _masked_request(pipe, conv),
                           out.model_dump(mode="json", exclude={"display_text"}))
                    yield _sse("done", out.model_dump(mode="json"))
        except AssistError as e:
            yield _sse("error", {"error": {"type": e.code, "message": e.message, "code": status_for(e)}})

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _masked_request(pipe, conv: Conversation) -> dict[str, Any]:
    texts, _ = pipe.mask_texts([t.text for t in conv.turns])
    return {"turns": [{"role": t.role, "text": m} for t, m in zip(conv.turns, texts, strict=True)],
            "channel": conv.channel}


@router.post("/escalation", response_model=EscalationPublic, summary="Suggest whether, to whom and by when to escalate")
async def escalation(body: EscalationRequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body, caller.tenant)
    decision, sid = await pipe.escalate(conv, category=body.category)
    out = EscalationPublic(id=sid, **decision.model_dump())
    record(request, caller.tenant, "escalation", sid, _masked_request(pipe, conv), out.model_dump(mode="json"))
    if getattr(request.app.state, "metrics", None):
        request.app.state.metrics.escalations.labels(target=str(decision.target if decision.escalate else "none")).inc()
    return out


@router.post("/qa", response_model=QAPublic, summary="Check a reply against the tenant's quality rubric")
async def qa(body: QARequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body.conversation, caller.tenant) if body.conversation else None
    report, sid = await pipe.qa(body.reply, tenant=caller.tenant, conversation=conv, cited_texts=body.cited_texts,
                                language=body.language)
    out = QAPublic(id=sid, **report.model_dump())
    record(request, caller.tenant, "qa", sid, {"reply": pipe.masker.mask(body.reply).text},
           out.model_dump(mode="json"))
    return out


@router.post("/summary", response_model=SummaryPublic, summary="Handover summary of a conversation")
async def summary(body: ConversationIn, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = conversation(body, caller.tenant)
    s, sid = await pipe.summarize(conv)
    out = SummaryPublic(id=sid, **s)
    record(request, caller.tenant, "summary", sid, _masked_request(pipe, conv), out.model_dump(mode="json"))
    return out
