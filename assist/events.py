"""Typed events of a draft: produced once by the core, rendered by every transport.

``AssistPipeline.draft_events`` yields, in order::

    SourcesEvent ─► DeltaEvent* ─► RelatedEvent ─► DoneEvent
                                └► ErrorEvent      (a failure after the sources went out)

``RelatedEvent`` (articles and FAQ entries related to the conversation, not cited by the
draft; ``assist/related.py``) comes once the draft's text is complete, before ``done``, and
only when related content is on (``draft.related_max > 0``); ``done``'s draft carries the
same list, so a client that stops at ``done`` misses nothing.

The draft SSE route (``serving/routes/assist.py``) and the OpenAI-compatible stream
(``serving/routes/chat.py``) only render these; the non-streaming paths consume the same
events (``AssistPipeline.draft``), so a streamed and a non-streamed answer to the same
question carry the same final text.

Invariants the core guarantees:

* Every delta is already post-processed: citation markers the check dropped are gone and
  attributed ones are in (``text``), and masked personal data is restored for display
  (``display_text``). Deltas end on sentence boundaries.
* ``"".join(d.text for d in deltas) == done.draft.text`` and
  ``"".join(d.display_text for d in deltas) == done.display_text``.
* Errors before the first event (bad input, unknown tenant) are raised, not yielded, so a
  transport can still answer with a plain error response.

Example:
    >>> async for ev in pipeline.draft_events(conversation):          # doctest: +SKIP
    ...     match ev:
    ...         case DeltaEvent(display_text=t): print(t, end="")
    ...         case DoneEvent(draft=d): print("\\n", d.status, [c.number for c in d.citations])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from assist.errors import AssistError
from assist.types import Draft, RelatedArticle, RetrievedChunk, Turn


@dataclass(frozen=True, slots=True)
class SourcesEvent:
    """What the draft will be grounded in, sent before any text."""

    type: ClassVar[str] = "sources"
    draft_id: str
    sources: list[RetrievedChunk]
    covered: bool
    language: str


@dataclass(frozen=True, slots=True)
class DeltaEvent:
    """A checked piece of the reply (one or more whole sentences)."""

    type: ClassVar[str] = "delta"
    text: str
    """Masked text, as stored (placeholders such as ``[PHONE_1]`` kept)."""
    display_text: str
    """``text`` with the customer's own values restored: for the agent or the customer."""


@dataclass(frozen=True, slots=True)
class RelatedEvent:
    """Articles and FAQ entries the customer could be sent, beside the draft (may be empty)."""

    type: ClassVar[str] = "related"
    draft_id: str
    related: list[RelatedArticle]


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The final draft; its text is the concatenation of the deltas."""

    type: ClassVar[str] = "done"
    draft: Draft
    display_text: str
    turns: list[Turn] = field(default_factory=list)
    """The conversation as the core used it (masked): what may be stored with the draft."""


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """The draft failed after the stream started; no ``done`` follows."""

    type: ClassVar[str] = "error"
    error: AssistError


DraftEvent = SourcesEvent | DeltaEvent | RelatedEvent | DoneEvent | ErrorEvent
