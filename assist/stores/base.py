"""The vector-store seam. Qdrant types never leave ``assist/stores``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from assist.types import EncodedChunk, RetrievedChunk, SearchFilter, SparseVector

Fusion = Literal["rrf", "dbsf"]


@runtime_checkable
class VectorStore(Protocol):
    """One collection of chunks with a named dense vector (``dense``) and a named sparse
    lexical vector (``sparse``, IDF modifier), plus payload indexes on the filter fields.

    Every chunk point carries a ``staged`` flag: a revision's new chunks are written
    staged, invisible to search, and made visible in one step when the whole revision is
    indexed (``activate``).
    """

    dim: int

    async def ensure_collection(self) -> None: ...

    async def upsert(self, items: Sequence[EncodedChunk], *, staged: bool = False) -> int: ...

    async def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    async def activate(self, ids: Sequence[str], payload: dict[str, Any] | None = None) -> None:
        """Clear the staged flag on ``ids`` (and set ``payload`` fields on them)."""
        ...

    async def set_payload(self, ids: Sequence[str], payload: dict[str, Any]) -> None: ...

    async def delete(self, ids: Sequence[str]) -> int: ...

    async def ids_for_article(self, tenant: str, article_id: str) -> set[str]: ...

    async def ids_for_tenant(self, tenant: str) -> set[str]:
        """Every point of the tenant, staged or not, whatever its dates."""
        ...

    async def delete_article(self, tenant: str, article_id: str) -> int: ...

    async def search(
        self,
        *,
        dense: list[float] | None,
        sparse: SparseVector | None,
        filters: SearchFilter,
        top_k: int,
        candidates: int = 50,
        fusion: Fusion = "rrf",
    ) -> list[RetrievedChunk]:
        """Hybrid search: prefetch dense and sparse candidates and fuse them (RRF or DBSF).
        With only one of ``dense`` / ``sparse`` given, a plain search on that vector."""
        ...

    async def count(self, filters: SearchFilter | None = None) -> int: ...

    async def close(self) -> None: ...
