"""OpenAI-compatible chat completions over the tenant's knowledge base.

A chatbot built on the OpenAI SDK or LangChain's ``ChatOpenAI`` only changes its
``base_url`` (to ``http://host:8000/v1``) and its API key (an assist key with role
``bot``). Answers are grounded drafts; citations travel in the extension field
``citations`` (and ``assist``) that standard clients ignore. The client's own system
messages are not instructions to our model: the knowledge base and house style govern.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from assist.errors import InputError
from assist.events import DeltaEvent, DoneEvent, ErrorEvent
from assist.types import Conversation, Draft, Turn
from serving.admission import ClientGone, admitted, gone_response, ticket
from serving.deps import AgentDep, PipelineDep
from serving.errors import ERROR_RESPONSES, sse, stream_error
from serving.routes.assist import record

router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses=ERROR_RESPONSES)

MODEL_ID = "assist-kb"


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False
    """Send a last chunk with ``usage`` and no choices (OpenAI's and vLLM's behaviour)."""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI clients send many optional fields
    model: str = MODEL_ID
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=5000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None


CHAT_DOC = """OpenAI's chat completions protocol. The answer is the knowledge base's grounded draft for
the conversation's last user message; `citations` and `assist` are extension fields
(`assist.related`: articles and FAQ entries related to the conversation, not cited; OpenAI
clients ignore fields they do not know).

`usage` counts the tokens of the request's messages and of the answer with the service's
tokenizer (the embedder's): what the client sent and received, not the knowledge passages the
service adds for its own model.

With `stream: true` the answer is `text/event-stream` of `chat.completion.chunk` objects, each
delta a whole, checked sentence (the same final text as without streaming), then `data: [DONE]`.
With `stream_options: {"include_usage": true}` every chunk carries `"usage": null` and a last
chunk before `[DONE]` carries `usage` with `choices: []`. An error after the stream started is a
`data:` line with the one error envelope `{"error": {"type", "code", "message"}}` (OpenAI's outer
shape), then `data: [DONE]`."""


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
        "assist": {"draft_id": d.id, "status": d.status, "flags": d.flags,
                   "related": [r.model_dump(mode="json") for r in d.related]},
    }


def _answer(done: DoneEvent) -> str:
    """The assistant message: the draft for display, or why there is none."""
    return done.display_text if done.draft.status != "no_draft" else (done.draft.detail or "")


async def _usage(pipe, body: ChatCompletionRequest, answer: str) -> dict[str, int]:
    count = pipe.embedder.count_tokens

    def run() -> dict[str, int]:
        prompt = sum(count(_text(m.content)) for m in body.messages)
        completion = count(answer)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    return await anyio.to_thread.run_sync(run)


def _record(request: Request, tenant: str, conv: Conversation, d: Draft) -> None:
    record(request, tenant, "chat", d.id, {"turns": len(conv.turns)}, {"text": d.text, "status": d.status})


@router.get("/models", summary="OpenAI-compatible model list")
def models(caller: AgentDep) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "assist"}]}


@router.post("/chat/completions", summary="OpenAI-compatible chat completion grounded in the knowledge base",
             description=CHAT_DOC,
             responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def chat_completions(body: ChatCompletionRequest, caller: AgentDep, pipe: PipelineDep, request: Request):
    conv = _conversation(body, caller.tenant)
    created = int(time.time())
    if not body.stream:
        try:  # a slot of the model server (or 503 + Retry-After); cancelled if the client leaves
            done = await admitted(request, lambda: pipe.draft_done(conv))
        except ClientGone:
            return gone_response()
        d, text = done.draft, _answer(done)
        _record(request, caller.tenant, conv, d)
        return {
            "id": f"chatcmpl-{d.id}", "object": "chat.completion", "created": created, "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": await _usage(pipe, body, text),
            **_extension(d),
        }

    slot = await ticket(request)  # held until the stream ends or its client leaves
    try:
        events = pipe.draft_events(conv)
        first = await events.__anext__()  # validation errors surface before streaming starts
    except BaseException:
        slot.release()
        raise
    cid = f"chatcmpl-{first.draft_id}"  # type: ignore[union-attr]
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, extra: dict[str, Any] | None = None,
              usage: dict[str, int] | None = None) -> str:
        payload: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                                   "model": body.model,
                                   "choices": [] if delta is None else [{"index": 0, "delta": delta,
                                                                         "finish_reason": finish}],
                                   **(extra or {})}
        if include_usage:
            payload["usage"] = usage
        return sse(payload)

    async def gen() -> AsyncIterator[str]:
        try:
            yield chunk({"role": "assistant", "content": ""})
            async for ev in events:
                if isinstance(ev, DeltaEvent):
                    yield chunk({"content": ev.display_text})
                elif isinstance(ev, DoneEvent):
                    d = ev.draft
                    if d.status == "no_draft" and d.detail:  # no deltas came: say why, as the JSON answer does
                        yield chunk({"content": d.detail})
                    _record(request, caller.tenant, conv, d)
                    yield chunk({}, "stop", _extension(d))
                    if include_usage:
                        yield chunk(None, usage=await _usage(pipe, body, _answer(ev)))
                elif isinstance(ev, ErrorEvent):
                    yield sse(stream_error(ev.error))
        except Exception as e:  # the stream has started: the error travels as a data line
            yield sse(stream_error(e))
        finally:
            slot.release()
            with anyio.CancelScope(shield=True):
                await events.aclose()  # closes the model's stream when the client left early
        yield "data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"},
                             background=BackgroundTask(slot.release))
