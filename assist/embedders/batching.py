"""Batching shared by embedders: split work so one worker-thread hop stays short."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import anyio
import numpy as np

T = TypeVar("T")


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (the last may be shorter).

    Example:
        >>> [list(b) for b in batched([1, 2, 3, 4, 5], 2)]
        [[1, 2], [3, 4], [5]]
    """
    if size < 1:
        raise ValueError("batch size must be >= 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def embed_in_thread(
    encode: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], *, chunk_size: int
) -> list[list[float]]:
    """Run ``encode`` over ``texts`` in worker threads, ``chunk_size`` texts per hop.

    Each hop is a separate thread call so the event loop stays responsive and a
    cancelled request stops after the current chunk instead of the whole corpus.
    """
    out: list[list[float]] = []
    for chunk in batched(texts, chunk_size):
        arr = await anyio.to_thread.run_sync(encode, chunk)
        out.extend(arr.astype(np.float32, copy=False).tolist())
    return out
