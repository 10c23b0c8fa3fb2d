"""Sentence and clause spans for Chinese and English text.

Spans are ``(start, end)`` character offsets into the original text, trimmed of
surrounding white space, so findings and citations can point at them.

A sentence ends at 。！？!?；; or a newline, or at a full stop followed by white space or
the end (so ``3.5`` and ``e.g.x`` do not split). A clause also ends at commas, the
enumeration comma 、 and colons: a promise word must be in the same clause as its
duration.

Example:
    >>> text = "您好！退款3天内到账。Thanks, bye."
    >>> [text[s:e] for s, e in sentence_spans(text)]
    ['您好！', '退款3天内到账。', 'Thanks, bye.']
    >>> [text[s:e] for s, e in clause_spans(text)]
    ['您好', '退款3天内到账', 'Thanks', 'bye']
"""

from __future__ import annotations

import re

__all__ = ["Span", "clause_spans", "sentence_spans", "sentences", "span_containing"]

Span = tuple[int, int]

_SENTENCE_END = re.compile(r"[。！？!?；;\n]+|\.(?=\s|$)")
_CLAUSE_END = re.compile(r"[，,、；;：:。！？!?\n]+|\.(?=\s|$)")


def _trim(text: str, s: int, e: int) -> Span:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def sentence_spans(text: str) -> list[Span]:
    """Sentence spans, each including its end punctuation, in order."""
    out: list[Span] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > pos:
            s, e = _trim(text, pos, m.end())
            if s < e:
                out.append((s, e))
        pos = m.end()
    if pos < len(text):
        s, e = _trim(text, pos, len(text))
        if s < e:
            out.append((s, e))
    return out


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings (see :func:`sentence_spans`)."""
    return [text[s:e] for s, e in sentence_spans(text)]


def clause_spans(text: str) -> list[Span]:
    """Clause spans between sentence ends, commas and colons, without the punctuation."""
    out: list[Span] = []
    pos = 0
    for m in _CLAUSE_END.finditer(text):
        if m.start() > pos:
            s, e = _trim(text, pos, m.start())
            if s < e:
                out.append((s, e))
        pos = m.end()
    if pos < len(text):
        s, e = _trim(text, pos, len(text))
        if s < e:
            out.append((s, e))
    return out


def span_containing(spans: list[Span], pos: int) -> Span:
    """The span that contains offset ``pos``; ``(pos, pos)`` when none does."""
    for s, e in spans:
        if s <= pos < e:
            return s, e
    return pos, pos
