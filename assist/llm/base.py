"""The chat-model seam."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from assist.types import ChatMessage, Completion, GenSettings


@runtime_checkable
class ChatModel(Protocol):
    """An OpenAI-compatible chat model. Exactly one leading system message is sent."""

    model_id: str

    async def complete(
        self, messages: Sequence[ChatMessage], *, settings: GenSettings | None = None
    ) -> Completion: ...

    def stream(
        self, messages: Sequence[ChatMessage], *, settings: GenSettings | None = None
    ) -> AsyncIterator[str]:
        """Yield text deltas as they arrive."""
        ...

    async def health(self) -> bool: ...
