"""Post-processing of a streamed draft, sentence by sentence.

A model streams raw text: citation markers that point at no passage (``[7]`` with five
passages), sentences that forgot their marker, and placeholders of masked personal data
(``[PHONE_1]``). :class:`CheckedStream` holds the text back until a sentence is complete,
then runs the checks the whole reply gets (drop invalid markers, attribute uncited
sentences) and releases the checked sentence; whole sentences also keep placeholders whole,
so the caller can restore them piece by piece. So a
client never sees text that the final draft does not contain, and the final text is the
concatenation of what was released, streamed or not.

Example:
    >>> s = CheckedStream(passages)                                    # doctest: +SKIP
    >>> s.feed("Refunds take 3-7 days [1][7]. Ple")                    # doctest: +SKIP
    'Refunds take 3-7 days [1].'
    >>> s.feed("ase keep the receipt."), s.close()                     # doctest: +SKIP
    ('', ' Please keep the receipt.')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assist.drafting import Passage, attribute_and_check, check_citations
from assist.text.sentences import sentence_spans

_CITE = re.compile(r"\[(\d{1,3})\]")


@dataclass
class CheckedStream:
    """Releases checked, whole sentences of a streamed reply.

    Args:
        passages: The numbered passages the model was given (citations point at them).
    """

    passages: Sequence[Passage]
    invalid: list[int] = field(default_factory=list)
    """Citation numbers the check dropped, in order of appearance."""
    attributed: bool = False
    """Whether any sentence got a marker it lacked."""
    _buffer: str = ""
    _pending_ws: str = ""
    _started: bool = False
    _out: list[str] = field(default_factory=list)

    def feed(self, delta: str) -> str:
        """Add raw model text; returns the checked text now safe to show ('' when none)."""
        self._buffer += delta
        spans = sentence_spans(self._buffer)
        if len(spans) < 2:  # the last sentence may still grow ("3." + "5", "。" + "！")
            return ""
        cut = spans[-2][1]
        piece, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._release(self._check(piece))

    def close(self) -> str:
        """The model finished: check and release what is left."""
        piece, self._buffer = self._buffer, ""
        out = self._release(self._check(piece))
        self._pending_ws = ""  # trailing white space of the whole reply is dropped
        return out

    @property
    def text(self) -> str:
        """Everything released so far (the final text once :meth:`close` was called)."""
        return "".join(self._out)

    def used(self) -> list[int]:
        """Valid citation numbers in the released text, in order of first appearance."""
        seen: list[int] = []
        for m in _CITE.finditer(self.text):
            n = int(m.group(1))
            if 1 <= n <= len(self.passages) and n not in seen:
                seen.append(n)
        return seen

    def flags(self) -> list[str]:
        """Grounding flags of the final text (unsupported sentences, attribution)."""
        _, flags = attribute_and_check(self.text, self.passages)
        out = [f for f in flags if f != "citations_attributed"]
        if self.attributed:
            out.append("citations_attributed")
        return out

    # internals -------------------------------------------------------------------------
    def _check(self, piece: str) -> str:
        core = piece.strip()
        if not core:
            return piece
        lead = piece[: len(piece) - len(piece.lstrip())]
        trail = piece[len(piece.rstrip()):]
        first = check_citations(core, len(self.passages))
        for n in first.invalid:
            if n not in self.invalid:
                self.invalid.append(n)
        text, flags = attribute_and_check(first.text, self.passages)
        if "citations_attributed" in flags:
            self.attributed = True
        return lead + text + trail

    def _release(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            if not text:
                return ""
            self._started = True
        body = text.rstrip()
        if not body:
            self._pending_ws += text
            return ""
        out = self._pending_ws + body
        self._pending_ws = text[len(body):]
        self._out.append(out)
        return out
