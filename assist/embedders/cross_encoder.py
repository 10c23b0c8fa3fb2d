"""sentence-transformers CrossEncoder adapter: the reranker behind ``retrieval.reranker``.

Only this module imports ``sentence_transformers.CrossEncoder``. The model loads offline
from a local directory on first use; scoring runs in a worker thread.

Example:
    >>> r = CrossEncoderReranker("/models/bge-reranker-v2-m3")              # doctest: +SKIP
    >>> ranked = await r.rerank("退款多久到账？", result.chunks)             # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from assist.errors import ConfigError, EmbeddingError
from assist.types import RetrievedChunk


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a CrossEncoder and reorders the first
    ``candidates`` results by that score (the rest keep their order after them).

    Args:
        model_path: A local CrossEncoder directory (never a hub id: nothing downloads).
        candidates: How many of the fused results are rescored.
        max_length: Tokens per (query, passage) pair.
        batch_size: Pairs per forward pass.
    """

    def __init__(self, model_path: str | Path, *, candidates: int = 10, max_length: int = 512,
                 batch_size: int = 16) -> None:
        self.model_path = Path(model_path).expanduser()
        self.candidates = candidates
        self.max_length = max_length
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if not self.model_path.is_dir():
                    raise ConfigError(
                        f"reranker model {str(self.model_path)!r} is not a local directory: set "
                        "ASSIST_RETRIEVAL__RERANK_MODEL to a sentence-transformers CrossEncoder directory"
                    )
                try:
                    from sentence_transformers import CrossEncoder

                    self._model = CrossEncoder(
                        str(self.model_path), num_labels=1, max_length=self.max_length,
                        device="cpu", local_files_only=True,
                    )
                except (OSError, ValueError) as e:
                    raise ConfigError(f"cannot load reranker model {str(self.model_path)!r}: {e}") from e
        return self._model

    def warm_up(self) -> None:
        self._load()

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        """Relevance scores of ``passages`` for ``query`` (higher is better), in order."""
        model = self._load()
        try:
            out = model.predict([(query, p) for p in passages], batch_size=self.batch_size,
                                show_progress_bar=False, convert_to_numpy=True)
        except Exception as e:  # torch/transformers raise many types
            raise EmbeddingError(f"reranker {self.model_path.name} failed: {e}") from e
        return [float(s) for s in out]

    async def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]:
        head, tail = list(chunks[: self.candidates]), list(chunks[self.candidates :])
        if len(head) < 2:
            return head + tail
        texts = [f"{c.chunk.title}\n{c.chunk.text}".strip() for c in head]
        scores = await anyio.to_thread.run_sync(self.scores, query, texts)
        order = sorted(range(len(head)), key=lambda i: -scores[i])  # stable for ties
        return [head[i] for i in order] + tail
