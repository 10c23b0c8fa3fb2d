"""CJK character ranges and helpers, defined once for the whole code base.

``HAN`` is the set of Chinese (Han) ideographs we treat as Chinese text: the unified
ideographs, extension A and the compatibility block. Kana and Hangul are *not* Han:
they mark Japanese and Korean, which :func:`assist.text.lang.check_supported` refuses.

Example:
    >>> is_cjk("退"), is_cjk("a"), count_cjk("MacBook 开不了机")
    (True, False, 4)
    >>> cjk_runs("退款 refund 到账")
    ['退款', '到账']
"""

from __future__ import annotations

import re

__all__ = [
    "CJK_RE",
    "CJK_RANGES",
    "CJK_RUN_RE",
    "CJK_TEXT_RANGES",
    "OTHER_SCRIPT_RANGES",
    "OTHER_SCRIPT_RE",
    "cjk_runs",
    "count_cjk",
    "has_cjk",
    "is_cjk",
]

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""Han ideograph ranges, for use inside a regex character class: ``rf"[{CJK_RANGES}]"``."""

CJK_TEXT_RANGES = "\u3000-\u9fff\uf900-\ufaff\uff00-\uffef"
"""Characters of Chinese running text, written without spaces between them: Han, CJK
punctuation (。、「」), kana and full-width forms (，：１). Two wrapped lines join
without a space when one side ends or starts with one of these."""

OTHER_SCRIPT_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\uac00-\ud7af"  # hangul syllables
    "\u0400-\u04ff"  # cyrillic
    "\u0600-\u06ff"  # arabic
    "\u0e00-\u0e7f"  # thai
    "\u0900-\u097f"  # devanagari
)
"""Scripts that clearly mark a language other than Chinese or English."""

CJK_RE = re.compile(f"[{CJK_RANGES}]")
CJK_RUN_RE = re.compile(f"[{CJK_RANGES}]+")
OTHER_SCRIPT_RE = re.compile(f"[{OTHER_SCRIPT_RANGES}]")


def is_cjk(ch: str) -> bool:
    """Whether the single character ``ch`` is a Han ideograph."""
    return len(ch) == 1 and CJK_RE.match(ch) is not None


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains at least one Han ideograph."""
    return CJK_RE.search(text) is not None


def count_cjk(text: str) -> int:
    """Number of Han ideographs in ``text``."""
    return len(CJK_RE.findall(text))


def cjk_runs(text: str) -> list[str]:
    """Maximal runs of consecutive Han ideographs, in order."""
    return CJK_RUN_RE.findall(text)
