"""Content tokens and token overlap, for checking that a sentence is supported by a source.

Content tokens are English words without stop words (crudely singularised), numbers,
and Chinese character bigrams without function characters; citation markers (``[1]``,
``【2】``) and placeholders (``[PHONE_1]``) are ignored.

Example:
    >>> sorted(content_tokens("退款3天内到账 [1]"))
    ['3', '内到', '到账', '天内', '退款']
    >>> support_overlap("Refunds arrive in 3 days.", "A refund arrives within 3 days.")
    1.0
"""

from __future__ import annotations

import re

from assist.text.cjk import CJK_RUN_RE

__all__ = ["content_tokens", "support_overlap"]

_CITATION = re.compile(r"[\[【](\d{1,3})[\]】]")
_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")
_EN_STOP = frozenset(
    "the a an and or but if then so of to in on at by for with from as is are was were be been being it its this "
    "that these those you your yours we our us i me my he she they them their there here can could will would "
    "should may might must do does did done have has had not no yes please thank thanks also any all more most "
    "very just than into about after before over under up down out what which who whom when where why how".split()
)
_ZH_STOP_CHARS = frozenset("的了是在我您你们他她它这那有和与及或就都也还而并被把给让请吗呢吧啊哦嗯个")


def content_tokens(text: str) -> set[str]:
    """English content words, numbers and Chinese character bigrams of ``text``."""
    text = _PLACEHOLDER.sub(" ", _CITATION.sub(" ", text)).lower()
    tokens: set[str] = set()
    for w in re.findall(r"[a-z][a-z'-]+|\d+(?:\.\d+)?", text):
        if w in _EN_STOP or len(w) < 3 and not w[0].isdigit():
            continue
        tokens.add(w[:-1] if len(w) > 4 and w.endswith("s") else w)
    for run in CJK_RUN_RE.findall(text):
        chars = [c for c in run if c not in _ZH_STOP_CHARS]
        if len(chars) == 1:
            tokens.add(chars[0])
        tokens.update(a + b for a, b in zip(chars, chars[1:], strict=False))
    return tokens


def support_overlap(sentence: str, source: str) -> float:
    """Share of the sentence's content tokens that occur in ``source``; 0.0 for contentless text."""
    tokens = content_tokens(sentence)
    if not tokens:
        return 0.0
    return len(tokens & content_tokens(source)) / len(tokens)
