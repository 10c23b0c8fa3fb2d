"""OpenAI-compatible chat completions over the tenant's knowledge base.

A chatbot built on the OpenAI SDK or LangChain's ``ChatOpenAI`` only changes its
``base_url`` (to ``http://host:8000/v1``) and its API key (an assist key with role
``bot``). Answers are grounded drafts; citations travel in the extension field
``citations`` (and ``assist``) that standard clients ignore. The client's own system
messages are not instructions to our model: the knowledge base and house style govern.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from assist.errors import AssistError, InputError
from assist.types import Conversation, Draft, Turn
from serving.deps import AgentDep, PipelineDep
from serving.routes.assist import record

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

MODEL_ID = "assist-kb"


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI clients send many optional fields
    model: str = MODEL_ID
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=5000)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")


def _conversation(body: ChatCompletionRequest, tenant: str) -> Conversation:
    turns = []
    for m in body.messages:
        if m.role == "user":
            turns.append(Turn(role="customer", text=_text(m.content)))
        elif m.role == "assistant":
            turns.append(Turn(role="bot", text=_text(m.content)))
    if not turns or turns[-1].role != "customer":
        raise InputError("the last message must come from the user")
    return Conversation(tenant=tenant, turns=turns, channel="chat")


def _extension(d: Draft) -> dict[str, Any]:
    return {
        "citations": [c.model_dump() for c in d.citations],
        "assist": {"draft_id": d.id, "status": d.status, "flags": d.flags},
    }


@router.get("/models", summary="OpenAI-compatible model list")
def models(caller: AgentDep) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "assist"}]}


@router.post("/chat/completions", summary="OpenAI-compatible chat completion grounded in the knowledge base")
async def chat_completions(body: ChatCompletionRequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = _conversation(body, caller.tenant)
    created = int(time.time())
    if not body.stream:
        d = await pipe.draft(conv)
        text = pipe.restore(d) if d.status != "no_draft" else (d.detail or "")
        record(request, caller.tenant, "chat", d.id, {"turns": len(conv.turns)}, {"text": d.text, "status": d.status})
        return {
            "id": f"chatcmpl-{d.id}", "object": "chat.completion", "created": created, "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            **_extension(d),
        }

    events = pipe.draft_events(conv)
    first = await events.__anext__()  # validation errors surface before streaming starts
    cid = f"chatcmpl-{first['draft_id']}"

    def chunk(delta: dict[str, Any], finish: str | None = None, extra: dict[str, Any] | None = None) -> str:
        payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **(extra or {})}
        return f"data: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"

    async def gen() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for ev in events:
                if ev["type"] == "delta":
                    yield chunk({"content": ev["text"]})
                elif ev["type"] == "done":
                    d: Draft = ev["draft"]
                    if d.status in ("not_covered",):
                        yield chunk({"content": d.text})
                    elif d.status == "no_draft":
                        yield chunk({"content": d.detail or ""})
                    record(request, caller.tenant, "chat", d.id, {"turns": len(conv.turns)},
                           {"text": d.text, "status": d.status})
                    yield chunk({}, "stop", _extension(d))
        except AssistError as e:
            yield f"data: {json.dumps({'error': {'type': e.code, 'message': e.message}})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
