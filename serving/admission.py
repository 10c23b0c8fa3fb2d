"""Admission control and cancellation for the model-bound routes.

Each model-bound request (drafts, chat completions, summaries, escalations that ask the
model) takes a slot of the service's :class:`~assist.admission.AdmissionController`
(``ASSIST_LLM__MAX_CONCURRENCY`` / ``MAX_QUEUE`` / ``QUEUE_TIMEOUT_S``) before any work;
refused, it is answered 503 ``overloaded`` with ``Retry-After`` in the one error envelope.

A client that goes away cancels its work: a JSON request's handler watches for the
disconnect and cancels the model call (the HTTP request to the model server is closed, and
vLLM aborts the generation); a stream is cancelled by Starlette when its client is gone,
which closes the model's stream. Either way the slot is given back at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from fastapi import Request

from assist.admission import AdmissionController, Ticket

log = logging.getLogger("serving.admission")

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected before its answer was ready; nothing is sent."""


def gate_for(request: Request) -> AdmissionController:
    """The service's admission controller (``app.state.admission``), made on first use
    from the pipeline's ``llm`` settings."""
    state = request.app.state
    gate = getattr(state, "admission", None)
    if gate is None:
        llm = state.pipeline.settings.llm
        gate = AdmissionController(llm.effective_max_concurrency, llm.max_queue, llm.queue_timeout_s)
        state.admission = gate
    return gate


async def until_disconnect(request: Request, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work()``; cancel it if the client disconnects meanwhile.

    Raises:
        ClientGone: The client went away and the work was cancelled.
    """
    result: list[T] = []
    gone = False

    async with anyio.create_task_group() as tg:
        async def watch() -> None:
            nonlocal gone
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    gone = True
                    log.info("client disconnected from %s: cancelling its model call", request.url.path)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(watch)
        result.append(await work())
        tg.cancel_scope.cancel()
    if gone and not result:
        raise ClientGone(request.url.path)
    return result[0]


async def admitted(request: Request, work: Callable[[], Awaitable[T]]) -> T:
    """Take a slot (or raise :class:`~assist.errors.OverloadedError`), run ``work()`` until
    done or the client disconnects, give the slot back."""
    async with gate_for(request).slot():
        return await until_disconnect(request, work)


async def ticket(request: Request) -> Ticket:
    """A taken slot for a streamed answer: give it back with ``Ticket.release()`` when the
    stream ends (also set as the response's background task, in case it never starts)."""
    return await gate_for(request).ticket().acquire()


def gone_response() -> Any:
    """What a handler returns for a client that is gone (never delivered; 499 in logs)."""
    from fastapi.responses import Response

    return Response(status_code=499)
