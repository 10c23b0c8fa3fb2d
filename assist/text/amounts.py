"""Money amounts in Chinese and English text: the one extractor.

An amount needs a currency mark before or after the number (¥ ￥ RMB CNY 人民币 US$ $ USD
before; 元 块 块钱 人民币 美元 美金 yuan kuai RMB CNY dollars bucks USD after): bare
numbers are usually order or phone numbers. The number may use digits with separators
and decimals (``2,500``, ``1.5``), Chinese numerals (``两千``, ``五百``), their mixes
(``1.5万``, ``3万5千``), a multiplier (``2k``, ``2K``, ``2w``, ``5 thousand``) and an
approximation mark (``两千多元`` reads as at least 2000). ``$`` after letters (``HK$``,
``NT$``) is another currency and is not read as USD.

Used by escalation (``amount_above``) and by QA (compensation and refund limits), so both
read the same text the same way.

Example:
    >>> [(a.value, a.currency, a.text) for a in extract_amounts("退款1.5万元，另付$2k和两千元")]
    [(15000.0, 'CNY', '1.5万元'), (2000.0, 'USD', '$2k'), (2000.0, 'CNY', '两千元')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assist.text.cjk import CJK_RANGES
from assist.text.numbers import EN_NUMBER_WORDS, NUMERAL, parse_number

__all__ = ["Amount", "Currency", "extract_amounts"]

Currency = Literal["CNY", "USD"]


@dataclass(frozen=True)
class Amount:
    """One money amount found in a text."""

    value: float
    currency: Currency
    text: str
    """The matched text, currency marks included (``1.5万元``, ``$2k``)."""
    start: int
    end: int

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


_NO_LETTER_BEFORE = r"(?<![A-Za-z])"
_NO_LETTER_AFTER = r"(?![A-Za-z])"
_EN_WORDS = "|".join(sorted(EN_NUMBER_WORDS, key=len, reverse=True))
_MULTIPLIERS = {"k": 1000.0, "w": 10_000.0, "thousand": 1000.0, "million": 1_000_000.0}

_AMOUNT = re.compile(
    # currency before the number
    rf"(?:(?P<pre_cny>[¥￥]|人民币|{_NO_LETTER_BEFORE}(?:RMB|CNY))"
    rf"|(?P<pre_usd>{_NO_LETTER_BEFORE}(?:US\$|\$|USD)))?\s?"
    # the number: digits / Chinese numerals, or an English number word
    rf"(?P<num>{NUMERAL}|\b(?:{_EN_WORDS})\b)"
    rf"(?:\s?(?P<mult>[kw]){_NO_LETTER_AFTER}|\s+(?P<mult_word>thousand|million)\b)?"
    r"(?P<approx>多|余)?"
    # currency after the number
    r"(?:\s?(?P<suf_cny>元|块钱"
    rf"|块(?=[钱的了吧啊呢左多]|[^{CJK_RANGES}]|$)"  # 50块 / 50块的, not 一块屏幕
    rf"|人民币)|\s*(?P<suf_cny_en>(?:RMB|CNY|yuan|kuai){_NO_LETTER_AFTER})"
    rf"|\s?(?P<suf_usd>美元|美金)|\s*(?P<suf_usd_en>(?:USD|(?:US\s)?dollars?|bucks){_NO_LETTER_AFTER}))?",
    re.I,
)


def extract_amounts(text: str) -> list[Amount]:
    """Money amounts in zh/en text, in order of position, non-overlapping.

    Example:
        >>> [(a.value, a.currency) for a in extract_amounts("赔偿您五百元，refund you $20, order 13812341234")]
        [(500.0, 'CNY'), (20.0, 'USD')]
    """
    out: list[Amount] = []
    for m in _AMOUNT.finditer(text):
        g = m.groupdict()
        if g["suf_cny"] or g["suf_cny_en"]:
            currency: Currency = "CNY"
        elif g["suf_usd"] or g["suf_usd_en"]:
            currency = "USD"
        elif g["pre_cny"]:
            currency = "CNY"
        elif g["pre_usd"]:
            currency = "USD"
        else:
            continue  # a bare number
        value = parse_number(g["num"])
        if value is None:
            continue
        mult = (g["mult"] or g["mult_word"] or "").lower()
        value *= _MULTIPLIERS.get(mult, 1.0)
        start, end = m.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        out.append(Amount(value, currency, text[start:end], start, end))
    return out
