"""The vector-store seam. Qdrant types never leave ``assist/stores``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from assist.errors import ConfigError
from assist.types import EncodedChunk, RetrievedChunk, SearchFilter, SparseVector

Fusion = Literal["rrf", "dbsf"]

MAX_DBSF_WEIGHT = 4
"""Largest per-list weight of weighted DBSF (each unit is one more prefetch of that list)."""


def dbsf_prefetches(weights: tuple[float, float] | None) -> tuple[int, int]:
    """How many times the dense and the sparse list enter a DBSF fusion.

    Qdrant's DBSF normalises every prefetch's scores (mean +- 3 standard deviations) and
    sums them, with no weights of its own: a list given twice counts twice. Weights are
    therefore small whole numbers, ``(2, 1)`` = two thirds dense; ``(1, 0)`` is dense only.

    Example:
        >>> dbsf_prefetches(None), dbsf_prefetches((2, 1)), dbsf_prefetches((0, 1))
        ((1, 1), (2, 1), (0, 1))

    Raises:
        ConfigError: A weight that is not a whole number in 0..4, or both 0.
    """
    if weights is None:
        return 1, 1
    out = tuple(round(w) for w in weights)
    if len(out) != 2 or sum(out) == 0 or any(
        abs(w - o) > 1e-9 or not 0 <= o <= MAX_DBSF_WEIGHT for w, o in zip(weights, out, strict=True)
    ):
        raise ConfigError(
            f"DBSF weights must be two whole numbers in 0..{MAX_DBSF_WEIGHT}, not both 0 "
            f"(dense, sparse), got {weights!r}"
        )
    return out[0], out[1]


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
        weights: tuple[float, float] | None = None,
    ) -> list[RetrievedChunk]:
        """Hybrid search: prefetch dense and sparse candidates and fuse them (RRF or DBSF).
        With only one of ``dense`` / ``sparse`` given, a plain search on that vector.

        ``weights`` (dense, sparse): for RRF the weights of Qdrant's weighted RRF (None: the
        store's configured ones); for DBSF whole numbers, each list entering the fusion that
        many times (:func:`dbsf_prefetches`; None: 1 and 1, plain DBSF)."""
        ...

    async def count(self, filters: SearchFilter | None = None) -> int: ...

    async def close(self) -> None: ...
