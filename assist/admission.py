"""Admission control for model-bound work: a concurrency limit and a bounded queue.

A small CPU model server answers a few requests at a time well (vLLM batches them); piling
more on only makes every answer slower, until agents wait minutes. So each model-bound
request (a draft, a chat completion, a summary, an escalation that asks the model) first
takes a *slot*: at most ``max_concurrency`` run at once, at most ``max_queue`` more wait,
each for at most ``queue_timeout_s``. Anything beyond is refused at once with
:class:`~assist.errors.OverloadedError` (the API answers 503 with ``Retry-After``), so a
busy service sheds load in milliseconds instead of queueing for minutes.

Every refusal is logged with its cause: ``server_busy`` (the queue was full, refused
without waiting) or ``queue_wait`` (waited ``queue_timeout_s`` without getting a slot).

Example:
    >>> import asyncio
    >>> gate = AdmissionController(max_concurrency=2, max_queue=1, queue_timeout_s=1.0)
    >>> async def work():
    ...     async with gate.slot():
    ...         return gate.active
    >>> asyncio.run(work())
    1
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from assist.errors import OverloadedError

log = logging.getLogger(__name__)


@dataclass
class AdmissionStats:
    """Counters since start (for logs, metrics and the load benchmark)."""

    admitted: int = 0
    shed_busy: int = 0
    """Refused at once: the queue was full."""
    shed_queue_wait: int = 0
    """Refused after waiting ``queue_timeout_s`` in the queue."""
    cancelled_waiting: int = 0
    """The caller went away (client disconnect) while waiting."""


class AdmissionController:
    """A concurrency limit with a bounded, time-limited FIFO queue (one event loop).

    Args:
        max_concurrency: Requests holding a slot at once; ``0`` or less admits everything.
        max_queue: Requests that may wait for a slot; more are refused at once.
        queue_timeout_s: The longest a request waits for a slot before it is refused.
        name: What is being protected, for messages (``"the model server"``).
    """

    def __init__(self, max_concurrency: int, max_queue: int, queue_timeout_s: float,
                 *, name: str = "the model server") -> None:
        self.max_concurrency = max_concurrency
        self.max_queue = max(0, max_queue)
        self.queue_timeout_s = max(0.0, queue_timeout_s)
        self.name = name
        self.active = 0
        self.waiting = 0
        self.stats = AdmissionStats()
        self._service_s = 0.0  # moving average of a slot's hold time (0: none seen yet)
        self._sem: asyncio.Semaphore | None = None

    @property
    def unlimited(self) -> bool:
        return self.max_concurrency <= 0

    def retry_after_s(self) -> int:
        """Seconds after which a retry has a fair chance: the time for the running and
        waiting requests ahead to drain, from the observed hold time; 1 to 60."""
        per = self._service_s or self.queue_timeout_s or 1.0
        ahead = self.active + self.waiting + 1
        return int(min(60, max(1, math.ceil(per * ahead / max(1, self.max_concurrency)))))

    async def acquire(self) -> float:
        """Take a slot, waiting in the queue if need be; returns the seconds waited.

        Raises:
            OverloadedError: The queue is full (``cause="server_busy"``) or no slot came
                within ``queue_timeout_s`` (``cause="queue_wait"``).
        """
        if self.unlimited:
            self.active += 1
            self.stats.admitted += 1
            return 0.0
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_concurrency)
        if not self._sem.locked() and self.waiting == 0:
            await self._sem.acquire()  # free slot, no one ahead: does not wait
            self.active += 1
            self.stats.admitted += 1
            return 0.0
        if self.waiting >= self.max_queue:
            self.stats.shed_busy += 1
            raise self._refuse("server_busy", f"{self.active} requests running and {self.waiting} waiting "
                               f"(ASSIST_LLM__MAX_CONCURRENCY={self.max_concurrency}, "
                               f"ASSIST_LLM__MAX_QUEUE={self.max_queue})")
        started = time.monotonic()
        self.waiting += 1
        try:
            await asyncio.wait_for(self._sem.acquire(), timeout=self.queue_timeout_s)
        except TimeoutError:
            self.stats.shed_queue_wait += 1
            raise self._refuse("queue_wait", f"no slot within {self.queue_timeout_s:g} s in the queue "
                               "(ASSIST_LLM__QUEUE_TIMEOUT_S)") from None
        except asyncio.CancelledError:
            self.stats.cancelled_waiting += 1
            log.info("admission: a request waiting for %s was cancelled (client gone) after %.2f s",
                     self.name, time.monotonic() - started)
            raise
        finally:
            self.waiting -= 1
        self.active += 1
        self.stats.admitted += 1
        return time.monotonic() - started

    def release(self, held_s: float | None = None) -> None:
        """Give a slot back (``held_s``: how long it was held, for ``Retry-After``)."""
        self.active = max(0, self.active - 1)
        if held_s is not None and held_s > 0:
            self._service_s = held_s if not self._service_s else 0.8 * self._service_s + 0.2 * held_s
        if self._sem is not None and not self.unlimited:
            self._sem.release()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """``async with gate.slot():`` holds a slot for the block (yields the seconds waited)."""
        waited = await self.acquire()
        started = time.monotonic()
        try:
            yield waited
        finally:
            self.release(time.monotonic() - started)

    def ticket(self) -> Ticket:
        """A slot to be taken with :meth:`Ticket.acquire` and given back exactly once with
        :meth:`Ticket.release`, for work that outlives one block (a streamed response)."""
        return Ticket(self)

    def _refuse(self, cause: str, detail: str) -> OverloadedError:
        retry = self.retry_after_s()
        log.warning("admission: refused a request to %s, cause=%s: %s; Retry-After %d s",
                    self.name, cause, detail, retry)
        return OverloadedError(
            f"{self.name} is busy ({detail}); retry after {retry} s",
            cause=cause, retry_after_s=retry)


class Ticket:
    """One slot of an :class:`AdmissionController`, released at most once."""

    def __init__(self, gate: AdmissionController) -> None:
        self.gate = gate
        self._held_since: float | None = None

    async def acquire(self) -> Ticket:
        await self.gate.acquire()
        self._held_since = time.monotonic()
        return self

    def release(self) -> None:
        if self._held_since is None:
            return
        held, self._held_since = time.monotonic() - self._held_since, None
        self.gate.release(held)
