"""Language detection for the two supported languages (zh, en): the one detector.

Used for conversations (pipeline, reranker, escalation), for QA replies and for ingested
documents alike.

Example:
    >>> detect_language("我的订单什么时候到？"), detect_language("Where is my order?")
    ('zh', 'en')
    >>> detect_language("我的MacBook Pro 14 开不了机")
    'zh'
"""

from __future__ import annotations

import re
from typing import Literal

from assist.errors import InputError
from assist.text.cjk import CJK_RE, OTHER_SCRIPT_RE

__all__ = ["Lang", "check_supported", "detect_language"]

Lang = Literal["zh", "en"]

_LATIN = re.compile(r"[A-Za-z]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str, *, default: Lang = "zh") -> Lang:
    """Return ``"zh"`` or ``"en"``: Chinese when Han characters are a meaningful share.

    One Chinese character carries roughly a word's worth of meaning, so a Chinese text
    quoting English product names stays Chinese: it is ``zh`` when the Han characters
    number at least two and at least half the English words (or there are no English
    words at all). Text with neither script gets ``default``.

    Args:
        text: Any text (a message, a reply, a document's first pages).
        default: The answer for text with no letters (digits, emoji, empty).
    """
    cjk = len(CJK_RE.findall(text))
    latin_words = len(_LATIN_WORD.findall(text))
    if cjk == 0 and latin_words == 0:
        return default
    if cjk and not latin_words:
        return "zh"
    return "zh" if cjk >= max(2, latin_words // 2) else "en"


def check_supported(text: str, *, default: Lang = "zh") -> Lang:
    """Detect the language, refusing text written mainly in a script we do not support.

    Raises:
        InputError: Kana, Hangul, Cyrillic, Arabic, Thai or Devanagari letters outnumber
            the Chinese and Latin ones.
    """
    other = len(OTHER_SCRIPT_RE.findall(text))
    known = len(CJK_RE.findall(text)) + len(_LATIN.findall(text))
    if other and other >= known:
        raise InputError("unsupported language: this service answers in Chinese (zh) and English (en) only")
    return detect_language(text, default=default)
