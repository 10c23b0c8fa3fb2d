"""Language detection for the two supported languages (zh, en)."""

from __future__ import annotations

import re

from assist.errors import InputError

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
# Scripts we recognise as clearly *other* languages (kana, hangul, cyrillic, arabic, thai, devanagari...).
_OTHER = re.compile(r"[\u3040-\u30ff\uac00-\ud7af\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u0900-\u097f]")


def detect_language(text: str, *, default: str = "zh") -> str:
    """Return ``"zh"`` or ``"en"``: Chinese when CJK characters are a meaningful share.

    Example:
        >>> detect_language("我的订单什么时候到？"), detect_language("Where is my order?")
        ('zh', 'en')
    """
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk == 0 and latin_words == 0:
        return default
    # One CJK character carries roughly a word's worth of meaning.
    return "zh" if cjk >= max(2, latin_words // 2) or (cjk and not latin_words) else "en"


def check_supported(text: str) -> str:
    """Detect the language, refusing text in a script we do not support."""
    other = len(_OTHER.findall(text))
    known = len(_CJK.findall(text)) + len(_LATIN.findall(text))
    if other and other >= known:
        raise InputError(
            "unsupported language: this service answers in Chinese (zh) and English (en) only"
        )
    return detect_language(text)
