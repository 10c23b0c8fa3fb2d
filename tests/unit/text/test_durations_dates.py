"""Durations (3-7个工作日, 24小时, 10 minutes, within 2 business days) and dates."""

from __future__ import annotations

import datetime as dt

import pytest

from assist.text import extract_dates, extract_durations

pytestmark = [pytest.mark.unit, pytest.mark.fast]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("退款将在3-7个工作日内原路退回", [(3.0, 7.0, "business_day", True, "3-7个工作日内")]),
        ("24小时内回复", [(24.0, 24.0, "hour", True, "24小时内")]),
        ("三天内到账", [(3.0, 3.0, "day", True, "三天内")]),
        ("两个月内", [(2.0, 2.0, "month", True, "两个月内")]),
        ("保修2年", [(2.0, 2.0, "year", False, "2年")]),
        ("等了半个钟头又等了3个小时", [(3.0, 3.0, "hour", False, "3个小时")]),
        ("3~5天", [(3.0, 5.0, "day", False, "3~5天")]),
        ("一到两周", [(1.0, 2.0, "week", False, "一到两周")]),
        ("10 minutes", [(10.0, 10.0, "minute", False, "10 minutes")]),
        ("within 2 business days", [(2.0, 2.0, "business_day", True, "2 business days")]),
        ("in 3-7 working days", [(3.0, 7.0, "business_day", True, "3-7 working days")]),
        ("a 1-year warranty", [(1.0, 1.0, "year", False, "1-year")]),
        ("within forty-eight hours", [(48.0, 48.0, "hour", True, "forty-eight hours")]),
        ("客服10 minutes内回复", [(10.0, 10.0, "minute", False, "10 minutes")]),
        # dates are not durations
        ("2024年11月22日下单", []),
        ("11月22号发货", []),
        ("2月30日", []),
    ],
)
def test_extract_durations(text: str, expected: list[tuple[float, float, str, bool, str]]) -> None:
    assert [
        (d.low, d.high, d.unit, d.within, text[d.start : d.end]) for d in extract_durations(text)
    ] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年11月22日下单", [(2024, 11, 22, "2024年11月22日")]),
        ("11月22号发货", [(None, 11, 22, "11月22号")]),
        ("十二月五日", [(None, 12, 5, "十二月五日")]),
        ("2024年3月", [(2024, 3, None, "2024年3月")]),
        ("2024-11-22 and 2024/1/5", [(2024, 11, 22, "2024-11-22"), (2024, 1, 5, "2024/1/5")]),
        ("Nov 22, 2024", [(2024, 11, 22, "Nov 22, 2024")]),
        ("on 22 November 2024", [(2024, 11, 22, "22 November 2024")]),
        ("by May 3rd", [(None, 5, 3, "May 3rd")]),
        ("3个月", []),
        ("11月", []),
        ("2月30日", []),
        ("we may 2 times", []),
    ],
)
def test_extract_dates(text: str, expected: list[tuple[int | None, int, int | None, str]]) -> None:
    assert [(d.year, d.month, d.day, d.text) for d in extract_dates(text)] == expected


def test_date_value() -> None:
    (full,) = extract_dates("2024年11月22日")
    (partial,) = extract_dates("11月22日")
    assert full.date() == dt.date(2024, 11, 22) and partial.date() is None
