"""Calendar dates written in Chinese or English (``2024年11月22日``, ``11月22号``,
``2024-11-22``, ``Nov 22, 2024``, ``22 November``).

A date without a year keeps ``year=None``; a Chinese month without a day needs a year
(``2024年11月``), because ``11月`` alone is as often a count as a date. Impossible dates
(``2月30日``) are not dates.

Example:
    >>> [(d.year, d.month, d.day, d.text) for d in extract_dates("2024年11月22日下单，Nov 25 delivered")]
    [(2024, 11, 22, '2024年11月22日'), (None, 11, 25, 'Nov 25')]
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from assist.text.numbers import parse_number

__all__ = ["DateMention", "extract_dates"]


@dataclass(frozen=True)
class DateMention:
    """A calendar date in a text; ``year`` or ``day`` may be missing (``11月22日``, ``2024年11月``)."""

    year: int | None
    month: int
    day: int | None
    text: str
    start: int
    end: int

    def date(self) -> dt.date | None:
        """The date, when year, month and day are all written."""
        if self.year is None or self.day is None:
            return None
        return dt.date(self.year, self.month, self.day)


_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ZH_N = r"\d{1,2}|[一二三四五六七八九十]{1,3}"
_PATTERNS = [
    re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)"),
    re.compile(rf"(?:(?P<y>\d{{4}})\s*年\s*)?(?P<m>{_ZH_N})\s*月(?:\s*(?P<d>{_ZH_N})\s*[日号])?"),
    re.compile(
        rf"\b(?P<mn>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?", re.I
    ),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mn>{_MONTH})\b\.?(?:,?\s+(?P<y>\d{{4}})\b)?",
        re.I,
    ),
]


def _int(s: str | None) -> int | None:
    if s is None:
        return None
    v = parse_number(s)
    return int(v) if v is not None and v == int(v) else None


def extract_dates(text: str) -> list[DateMention]:
    """Dates in ``text``, in order of position, non-overlapping."""
    out: list[DateMention] = []
    for rx in _PATTERNS:
        for m in rx.finditer(text):
            g = m.groupdict()
            if g.get("mn") and g["mn"].lower() == "may" and g["mn"] != "May":
                continue  # "we may 2 ..." is a verb
            month = _MONTHS[g["mn"].lower()] if g.get("mn") else _int(g.get("m"))
            year, day = _int(g.get("y")), _int(g.get("d"))
            if month is None or (year is None and day is None):
                continue
            try:
                dt.date(year or 2000, month, day or 1)  # 2000 is a leap year: 2月29日 is a date
            except ValueError:
                continue
            if any(m.start() < d.end and d.start < m.end() for d in out):
                continue
            out.append(DateMention(year, month, day, m.group(), m.start(), m.end()))
    return sorted(out, key=lambda d: d.start)
