"""Conversation helpers shared by every component: truncation and the reply clock.

Some conversations run to thousands of turns (a WeChat thread that lives for months).
Every component that reads a conversation (escalation, drafting, quality checks) cuts it
the same way, with :func:`truncate_conversation`:

* the **first customer turn**: the original issue;
* the **first turn of the trailing unanswered run** of customer messages: the SLA clock
  starts there, so it must survive even when the customer sent hundreds of messages
  since the last agent reply;
* the **last** ``max_turns`` turns: what is being discussed now.

Order is preserved and no turn appears twice.

Example:
    >>> short = truncate_conversation(conv, max_turns=MAX_TURNS)
    >>> short.turns[0] is conv.turns[0]  # when the conversation starts with the customer
    True
"""

from __future__ import annotations

from datetime import datetime

from assist.types import Conversation, Turn

MAX_TURNS = 50
"""Default recent-turn window: ~50 turns cover a long live chat, and keep keyword and
sentiment scans (linear in turns) and prompts (token budget) bounded."""


def first_unanswered_index(turns: list[Turn]) -> int | None:
    """Index of the first customer turn after the last agent turn, or None.

    Only a human ``agent`` turn answers the customer: a bot's auto-reply does not stop
    the service-level clock.
    """
    pending: int | None = None
    for i, t in enumerate(turns):
        if t.role == "agent":
            pending = None
        elif t.role == "customer" and pending is None:
            pending = i
    return pending


def truncate_conversation(conv: Conversation, max_turns: int = MAX_TURNS) -> Conversation:
    """Return ``conv`` cut to the first customer turn, the SLA-clock turn and the last turns.

    Args:
        conv: Any conversation.
        max_turns: How many of the most recent turns to keep (>= 1).

    Returns:
        ``conv`` itself when it is already short enough, otherwise a copy holding at most
        ``max_turns + 2`` turns.
    """
    max_turns = max(1, max_turns)
    turns = conv.turns
    if len(turns) <= max_turns:
        return conv
    keep = set(range(len(turns) - max_turns, len(turns)))
    first_customer = next((i for i, t in enumerate(turns) if t.role == "customer"), None)
    if first_customer is not None:
        keep.add(first_customer)
    pending = first_unanswered_index(turns)
    if pending is not None:
        keep.add(pending)
    return conv.model_copy(update={"turns": [turns[i] for i in sorted(keep)]})


def conversation_now(conv: Conversation) -> datetime | None:
    """The conversation's clock: ``conv.now``, else the latest turn timestamp, else None.

    Never the wall clock: decisions must be reproducible from the input alone.
    """
    if conv.now is not None:
        return conv.now
    stamps = [t.ts for t in conv.turns if t.ts is not None]
    return max(stamps) if stamps else None
