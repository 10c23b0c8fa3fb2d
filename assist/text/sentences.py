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


def _split_spans(text: str, boundary: re.Pattern[str], *, keep_boundary: bool) -> list[Span]:
    """Trimmed, non-empty spans between the matches of ``boundary``; each span ends after its
    boundary (``keep_boundary``) or before it."""
    out: list[Span] = []
    pos = 0
    for m in boundary.finditer(text):
        end = m.end() if keep_boundary else m.start()
        if end > pos:
            s, e = _trim(text, pos, end)
            if s < e:
                out.append((s, e))
        pos = m.end()
    if pos < len(text):
        s, e = _trim(text, pos, len(text))
        if s < e:
            out.append((s, e))
    return out


def sentence_spans(text: str) -> list[Span]:
    """Sentence spans, each including its end punctuation, in order."""
    return _split_spans(text, _SENTENCE_END, keep_boundary=True)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings (see :func:`sentence_spans`)."""
    return [text[s:e] for s, e in sentence_spans(text)]


def clause_spans(text: str) -> list[Span]:
    """Clause spans between sentence ends, commas and colons, without the punctuation."""
    return _split_spans(text, _CLAUSE_END, keep_boundary=False)


def span_containing(spans: list[Span], pos: int) -> Span:
    """The span that contains offset ``pos``; ``(pos, pos)`` when none does."""
    for s, e in spans:
        if s <= pos < e:
            return s, e
    return pos, pos
