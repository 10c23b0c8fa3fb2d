"""A scripted chat model for tests and offline demos: no server, no network."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assist.types import ChatMessage, Completion, GenSettings, Usage

ReplyFn = Callable[[list[ChatMessage], GenSettings], "str | Completion"]
Reply = "str | Completion | BaseException"


@dataclass(frozen=True)
class FakeCall:
    """One recorded call: what the caller sent and how (``kind`` is complete or stream)."""

    messages: list[ChatMessage]
    settings: GenSettings
    kind: str


class FakeChatModel:
    """A :class:`~assist.llm.base.ChatModel` that answers from a script and records calls.

    Replies are used in order; once the list is exhausted the last one keeps being used.
    A reply that is an exception is raised instead (to test degradation paths). Without
    ``replies`` or ``reply_fn`` the reply is a fixed sentence, or, when the request asks for
    JSON (``GenSettings.json_schema``), a minimal instance of the schema.

    Args:
        replies: Scripted replies: strings, :class:`Completion` objects or exceptions.
        reply_fn: Computes a reply from ``(messages, settings)``; wins over ``replies``.
        model_id: Reported as ``Completion.model``.
        chunk_chars: Size of the deltas that :meth:`stream` yields.

    Example:
        >>> model = FakeChatModel(replies=["您好，请提供订单号。"])
        >>> import asyncio
        >>> asyncio.run(model.complete([ChatMessage(role="user", content="退款")])).text
        '您好，请提供订单号。'
        >>> len(model.calls)
        1
    """

    DEFAULT_REPLY = "This is a scripted reply from FakeChatModel."

    def __init__(
        self,
        replies: Sequence[str | Completion | BaseException] | None = None,
        *,
        reply_fn: ReplyFn | None = None,
        model_id: str = "fake",
        chunk_chars: int = 4,
        healthy: bool = True,
    ) -> None:
        self.model_id = model_id
        self.replies = list(replies or [])
        self.reply_fn = reply_fn
        self.chunk_chars = max(1, chunk_chars)
        self.healthy = healthy
        self.calls: list[FakeCall] = []
        self._next = 0

    async def complete(
        self, messages: Sequence[ChatMessage], *, settings: GenSettings | None = None
    ) -> Completion:
        return self._reply(messages, settings, kind="complete")

    async def stream(
        self, messages: Sequence[ChatMessage], *, settings: GenSettings | None = None
    ) -> AsyncIterator[str]:
        completion = self._reply(messages, settings, kind="stream")
        text = completion.text
        for i in range(0, len(text), self.chunk_chars):
            yield text[i : i + self.chunk_chars]

    async def health(self) -> bool:
        return self.healthy

    @property
    def last_messages(self) -> list[ChatMessage]:
        """The messages of the latest call (raises IndexError when there was none)."""
        return self.calls[-1].messages

    def _reply(
        self, messages: Sequence[ChatMessage], settings: GenSettings | None, *, kind: str
    ) -> Completion:
        gen = settings or GenSettings()
        msgs = list(messages)
        self.calls.append(FakeCall(messages=msgs, settings=gen, kind=kind))
        reply: str | Completion | BaseException
        if self.reply_fn is not None:
            reply = self.reply_fn(msgs, gen)
        elif self.replies:
            reply = self.replies[min(self._next, len(self.replies) - 1)]
            self._next += 1
        elif gen.json_schema is not None:
            reply = json.dumps(example_for_schema(gen.json_schema), ensure_ascii=False)
        else:
            reply = self.DEFAULT_REPLY
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Completion):
            return reply
        prompt_chars = sum(len(m.content) for m in msgs)
        return Completion(
            text=reply,
            model=self.model_id,
            finish_reason="stop",
            # Rough counts so that code reading usage sees plausible numbers.
            usage=Usage(prompt_tokens=max(1, prompt_chars // 4), completion_tokens=max(1, len(reply) // 4)),
        )


def example_for_schema(schema: dict[str, Any], _defs: dict[str, Any] | None = None) -> Any:
    """A minimal value that validates against a (pydantic-style) JSON schema.

    Handles ``$ref`` to ``$defs``, ``enum``/``const``, ``anyOf``/``oneOf``, objects (all
    required properties), arrays (empty unless ``minItems``) and scalars.
    """
    defs = _defs if _defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return example_for_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_for_schema(schema[key][0], defs)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            name: example_for_schema(props[name], defs)
            for name in schema.get("required", [])
            if name in props
        }
    if typ == "array":
        n = int(schema.get("minItems", 0))
        return [example_for_schema(schema.get("items", {}), defs) for _ in range(n)]
    if typ == "string":
        return "x" * int(schema.get("minLength", 0))
    if typ in ("integer", "number"):
        return schema.get("minimum", 0)
    if typ == "boolean":
        return False
    return None
