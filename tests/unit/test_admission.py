"""Admission control: concurrency limit, bounded queue, queue timeout, cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest

from assist.admission import AdmissionController
from assist.errors import BackendError, OverloadedError

pytestmark = pytest.mark.fast


async def _hold(gate: AdmissionController, seconds: float) -> float:
    async with gate.slot():
        await asyncio.sleep(seconds)
    return seconds


async def test_sheds_beyond_queue_at_once_and_times_out_in_queue() -> None:
    gate = AdmissionController(max_concurrency=2, max_queue=2, queue_timeout_s=0.3)
    started = time.monotonic()

    async def one() -> tuple[str, float]:
        t0 = time.monotonic()
        try:
            await _hold(gate, 0.5)
            return "ok", time.monotonic() - t0
        except OverloadedError as e:
            assert e.retry_after_s >= 1
            return e.cause, time.monotonic() - t0

    results = await asyncio.gather(*(one() for _ in range(8)))
    causes = [c for c, _ in results]
    assert causes.count("ok") == 2
    assert causes.count("queue_wait") == 2  # waited 0.3 s, the holders needed 0.5 s
    assert causes.count("server_busy") == 4  # refused without waiting
    assert all(s < 0.1 for c, s in results if c == "server_busy")
    assert all(s < 0.3 + 0.2 for c, s in results if c == "queue_wait")
    assert time.monotonic() - started < 1.0
    assert gate.active == 0 and gate.waiting == 0
    assert (gate.stats.admitted, gate.stats.shed_busy, gate.stats.shed_queue_wait) == (2, 4, 2)


async def test_queued_requests_get_slots_in_time() -> None:
    gate = AdmissionController(max_concurrency=1, max_queue=3, queue_timeout_s=2.0)
    assert await asyncio.gather(*(_hold(gate, 0.05) for _ in range(4))) == [0.05] * 4
    assert gate.stats.admitted == 4 and gate.active == 0


async def test_cancelled_waiter_frees_its_place_and_holder_its_slot() -> None:
    gate = AdmissionController(max_concurrency=1, max_queue=1, queue_timeout_s=5.0)
    holder = asyncio.create_task(_hold(gate, 10))
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(_hold(gate, 0.01))
    await asyncio.sleep(0.01)
    assert (gate.active, gate.waiting) == (1, 1)
    waiter.cancel()  # the client went away while waiting
    holder.cancel()  # ... and while being served
    await asyncio.gather(holder, waiter, return_exceptions=True)
    assert (gate.active, gate.waiting) == (0, 0)
    assert gate.stats.cancelled_waiting == 1
    assert await _hold(gate, 0.0) == 0.0  # the slot is free again


async def test_ticket_releases_once_and_unlimited_gate() -> None:
    gate = AdmissionController(max_concurrency=1, max_queue=0, queue_timeout_s=0.1)
    t = await gate.ticket().acquire()
    with pytest.raises(OverloadedError) as e:
        await gate.acquire()
    assert e.value.cause == "server_busy"
    t.release()
    t.release()
    assert gate.active == 0
    async with gate.slot():
        pass
    free = AdmissionController(max_concurrency=0, max_queue=0, queue_timeout_s=0)
    await asyncio.gather(*(_hold(free, 0.01) for _ in range(20)))
    assert free.stats.admitted == 20


def test_overloaded_is_a_retryable_backend_error_with_retry_after() -> None:
    from serving.errors import error_for, retry_headers

    e = OverloadedError("busy", cause="server_busy", retry_after_s=3)
    assert isinstance(e, BackendError) and e.retryable
    status, body = error_for(e)
    assert status == 503 and body.error.code == "overloaded" and body.error.type == "unavailable"
    assert retry_headers(e) == {"Retry-After": "3"}
    assert retry_headers(ValueError()) is None


def test_model_timeouts_say_their_cause(caplog: pytest.LogCaptureFixture) -> None:
    import httpx
    import openai

    from assist.llm.openai_compat import timeout_cause, translate_error

    req = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    wrapped = openai.APITimeoutError(request=req)
    wrapped.__cause__ = httpx.ReadTimeout("slow", request=req)
    assert timeout_cause(wrapped) == "read"
    assert timeout_cause(httpx.ConnectTimeout("no", request=req)) == "connect"
    assert timeout_cause(openai.APITimeoutError(request=req)) == "total"
    with caplog.at_level("WARNING"):
        e = translate_error(httpx.ConnectTimeout("no", request=req), base_url="http://x/v1", model="m")
    assert "timed out (connect)" in e.message and e.retryable
    assert "cause=connect" in caplog.text


def test_default_concurrency_follows_the_provider() -> None:
    from assist.config import Settings

    assert Settings(_env_file=None, llm={"provider": "embedded"}).llm.effective_max_concurrency == 1
    assert Settings(_env_file=None, llm={"provider": "openai-compat", "base_url": "http://x/v1"}
                    ).llm.effective_max_concurrency == 16
    assert Settings(_env_file=None, llm={"max_concurrency": 3}).llm.effective_max_concurrency == 3
