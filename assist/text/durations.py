"""Durations and deadlines in Chinese and English (``3-7个工作日``, ``24小时内``,
``10 minutes``, ``within 2 business days``).

Dates are not durations: ``2024年`` (a year), ``11月22日`` and anything inside a date
found by :func:`assist.text.dates.extract_dates` are skipped; months need ``个月``.

Example:
    >>> [(d.low, d.high, d.unit, d.within) for d in extract_durations("3天内到账, within 2 business days")]
    [(3.0, 3.0, 'day', True), (2.0, 2.0, 'business_day', True)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assist.text.dates import extract_dates
from assist.text.numbers import EN_NUMBER_WORDS, NUMERAL, parse_number

__all__ = ["DURATION_UNITS", "Duration", "DurationUnit", "extract_durations"]

DurationUnit = Literal["minute", "hour", "day", "business_day", "week", "month", "year"]
DURATION_UNITS: tuple[str, ...] = ("minute", "hour", "day", "business_day", "week", "month", "year")


@dataclass(frozen=True)
class Duration:
    """A duration or range (``3-7个工作日``: low 3, high 7, business_day)."""

    low: float
    high: float
    unit: DurationUnit
    start: int
    end: int
    within: bool
    """Written as a limit (``3天内``, ``within 2 days``)."""

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


_ZH_UNITS: dict[str, DurationUnit] = {
    "分钟": "minute",
    "小时": "hour",
    "钟头": "hour",
    "个钟头": "hour",
    "个小时": "hour",
    "个工作日": "business_day",
    "工作日": "business_day",
    "天": "day",
    "日": "day",
    "周": "week",
    "星期": "week",
    "个星期": "week",
    "个礼拜": "week",
    "个月": "month",
    "年": "year",
}
_EN_UNITS: dict[str, DurationUnit] = {
    "minute": "minute",
    "min": "minute",
    "hour": "hour",
    "hr": "hour",
    "business day": "business_day",
    "working day": "business_day",
    "day": "day",
    "week": "week",
    "month": "month",
    "year": "year",
}
_ZH_UNIT_RX = "|".join(sorted(map(re.escape, _ZH_UNITS), key=len, reverse=True))
_ZH_DURATION = re.compile(
    rf"(?P<lo>{NUMERAL})(?:\s*(?:-|~|～|–|—|到|至)\s*(?P<hi>{NUMERAL}))?\s*"
    rf"(?P<unit>{_ZH_UNIT_RX})(?P<within>之内|以内|内)?"
)
_EN_NUMWORD = "|".join(sorted(EN_NUMBER_WORDS, key=len, reverse=True))
_EN_DURATION = re.compile(
    rf"(?P<pre>(?<![A-Za-z])(?:within|in|under|no later than)\s+)?"
    rf"(?P<lo>(?<![A-Za-z0-9.])\d+(?:\.\d+)?|(?<![A-Za-z])(?:{_EN_NUMWORD}))"
    rf"(?:\s*(?:-|–|to)\s*(?P<hi>\d+(?:\.\d+)?|(?:{_EN_NUMWORD})))?[\s-]*"
    r"(?P<unit>business days?|working days?|days?|hours?|hrs?|minutes?|mins?|weeks?|months?|years?)(?![A-Za-z])",
    re.I,
)


def extract_durations(text: str) -> list[Duration]:
    """Durations in zh/en text, in order of position.

    Example:
        >>> [(d.low, d.high, d.unit) for d in extract_durations("退款3-7个工作日到账，客服10 minutes内回复")]
        [(3.0, 7.0, 'business_day'), (10.0, 10.0, 'minute')]
    """
    dates = [(d.start, d.end) for d in extract_dates(text)]
    out: list[Duration] = []

    def in_date(s: int, e: int) -> bool:
        return any(s < de and ds < e for ds, de in dates)

    for m in _ZH_DURATION.finditer(text):
        lo = parse_number(m.group("lo"))
        hi = parse_number(m.group("hi")) if m.group("hi") else lo
        unit = _ZH_UNITS[m.group("unit")]
        if lo is None or hi is None or in_date(m.start(), m.end()):
            continue
        if unit == "year" and lo >= 1900:  # 2024年 is a date
            continue
        if m.group("unit") == "日" and re.search(r"[月号]\s*$", text[: m.start()]):
            continue
        out.append(Duration(lo, hi, unit, m.start(), m.end(), bool(m.group("within"))))
    for m in _EN_DURATION.finditer(text):
        lo = parse_number(m.group("lo"))
        hi = parse_number(m.group("hi")) if m.group("hi") else lo
        if lo is None or hi is None or in_date(m.start("lo"), m.end()):
            continue
        unit = _EN_UNITS.get(m.group("unit").lower().rstrip("s"), "day")
        out.append(Duration(lo, hi, unit, m.start("lo"), m.end(), bool(m.group("pre"))))
    return sorted(out, key=lambda d: d.start)
