"""A deterministic embedder for tests: no model, no threads, same text -> same vector."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from assist.text.cjk import count_cjk, is_cjk


class FakeEmbedder:
    """Hash-based, unit-norm vectors; counts calls so tests can assert batching.

    Queries and documents get different vectors for the same text (as with a real
    prompted model), and identical texts always get identical vectors.

    Example:
        >>> import asyncio
        >>> e = FakeEmbedder(dim=8)
        >>> v = asyncio.run(e.embed_query("你好"))
        >>> len(v), round(sum(x * x for x in v), 6)
        (8, 1.0)
    """

    def __init__(self, dim: int = 384, *, model_id: str | None = None) -> None:
        if dim < 1:
            raise ValueError("dim must be >= 1")
        self.dim = dim
        self.model_id = model_id or f"fake:{dim}"
        self.calls: list[tuple[str, int]] = []
        """One ``(kind, n_texts)`` per embed call, ``kind`` in ``{"query", "document"}``."""
        self.warmed_up = False

    def warm_up(self) -> None:
        self.warmed_up = True

    def _vector(self, text: str, kind: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(f"{kind}\x00{text}".encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim)
        v /= np.linalg.norm(v) or 1.0
        return v.astype(np.float32)

    def _encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        self.calls.append((kind, len(texts)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t, kind) for t in texts])

    def embed_documents_sync(self, texts: Sequence[str]) -> np.ndarray:
        """Documents -> ``(n, dim)`` float32 array (same as the real adapter's helper)."""
        return self._encode(texts, "document")

    def embed_queries_sync(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self._encode(texts, "document").tolist()

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        return self._encode(texts, "query").tolist()

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed_queries([text]))[0]

    def count_tokens(self, text: str) -> int:
        """Whitespace words plus CJK characters: a rough stand-in for a real tokenizer."""
        cjk = count_cjk(text)
        words = len("".join(" " if is_cjk(ch) else ch for ch in text).split())
        return cjk + words if text.strip() else 0
