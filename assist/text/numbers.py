"""Numbers written with digits, Chinese numerals or (a few) English words.

``parse_number`` reads ``2,500``, ``1.5万``, ``两千``, ``两千五`` (2500), ``一万五`` (15000),
``1万5千``, ``十五``, ``一百零五`` and ``forty-eight``. ``NUMERAL`` is the regular expression
(a string, to embed in larger patterns) for the digit / Chinese-numeral forms.

Example:
    >>> [parse_number(s) for s in ["2,500", "1.5万", "两千", "两千五", "一万五", "一百零五", "twelve"]]
    [2500.0, 15000.0, 2000.0, 2500.0, 15000.0, 105.0, 12.0]
    >>> mentions_number(300, ["退款上限三百元"])
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "ARABIC",
    "CN_NUMERAL_CHARS",
    "EN_NUMBER_WORDS",
    "NUMERAL",
    "find_numbers",
    "mentions_number",
    "parse_number",
]

ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
"""Digits with optional thousands separators and decimals (``2,500``, ``1200.50``)."""

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS)

NUMERAL = rf"(?:{ARABIC}|[{CN_NUMERAL_CHARS}])+"
"""Digits, Chinese numerals and their mixes (``1.5万``, ``3万5千``, ``两千``)."""

EN_NUMBER_WORDS: dict[str, int] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "twenty-four": 24,
    "thirty": 30,
    "forty": 40,
    "forty-eight": 48,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
}

_TOKEN = re.compile(rf"{ARABIC}|[{CN_NUMERAL_CHARS}]")
_NUMERAL_RE = re.compile(NUMERAL)


def parse_number(s: str) -> float | None:
    """The value of a number written in digits, Chinese numerals, a mix, or an English word.

    Returns None for text that is not one number (``千万`` as in 千万不要, ``一二``).
    """
    s = s.strip()
    if not s:
        return None
    word = EN_NUMBER_WORDS.get(s.lower())
    if word is not None:
        return float(word)
    tokens = _TOKEN.findall(s)
    if "".join(tokens) != s:
        return None
    if len(tokens) == 1 and tokens[0][0].isdigit():
        return float(tokens[0].replace(",", ""))
    return _parse_tokens(tokens)


def _parse_tokens(tokens: list[str]) -> float | None:
    total = 0.0  # finished 万/亿 sections
    big = 0  # the largest 万/亿 unit applied so far
    section = 0.0  # the part below 万 being read
    digit: float | None = None
    last_unit = 0
    zero = False
    after_unit = False  # the current digit directly follows a unit (两千五)
    for tok in tokens:
        if tok in ("零", "〇"):
            if digit is not None:
                return None  # positional forms (二〇二四) are years, not amounts
            zero, after_unit = True, False
            continue
        if tok[0].isdigit() or tok in _CN_DIGITS:
            if digit is not None:
                return None
            digit = float(tok.replace(",", "")) if tok[0].isdigit() else float(_CN_DIGITS[tok])
            continue
        unit = _CN_UNITS[tok]
        if unit < 10_000:
            if digit is None:
                if unit != 10:
                    return None
                digit = 1.0  # 十五, 二百一十
            section += digit * unit
        else:
            part = section + (digit or 0.0)
            if part == 0:
                if total and unit > big:  # 三万亿
                    total, big = total * unit, unit
                    digit, last_unit, zero, after_unit = None, unit, False, True
                    continue
                return None  # 万 or 亿 with no number before it
            if unit > big:
                total = (total + part) * unit
                big = unit
            else:
                total += part * unit
            section = 0.0
        digit = None
        last_unit = unit
        zero = False
        after_unit = True
    if (
        digit is not None
        and after_unit
        and not zero
        and last_unit >= 100
        and digit < 10
        and digit == int(digit)
    ):
        return total + section + digit * last_unit / 10  # 两千五 = 2500, 一万五 = 15000
    return total + section + (digit or 0.0)


def find_numbers(text: str) -> list[tuple[float, int, int]]:
    """Every number written with digits or Chinese numerals: ``(value, start, end)``."""
    out = []
    for m in _NUMERAL_RE.finditer(text):
        value = parse_number(m.group())
        if value is not None:
            out.append((value, m.start(), m.end()))
    return out


def mentions_number(value: float, texts: Iterable[str]) -> bool:
    """Whether ``value`` is written (digits or Chinese numerals) in any of ``texts``."""
    return any(abs(v - value) < 1e-9 for t in texts for v, _, _ in find_numbers(t))
