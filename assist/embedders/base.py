"""The embedder seam."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    """Turns text into dense vectors. Queries and documents use separate methods because
    retrieval models prompt them differently (e5: ``query: `` / ``passage: ``).

    Implementations are cheap to construct; heavy loading happens in ``warm_up()`` or on
    first use, and CPU-bound work runs in a worker thread.
    """

    model_id: str
    dim: int

    def warm_up(self) -> None: ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` as the model's own tokenizer counts them (chunk budgets)."""
        ...
