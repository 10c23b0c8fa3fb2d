"""Numbers in digits, Chinese numerals, their mixes and English words."""

from __future__ import annotations

import pytest

from assist.text import find_numbers, mentions_number, parse_number

pytestmark = [pytest.mark.unit, pytest.mark.fast]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2,500", 2500.0),
        ("1200.50", 1200.5),
        ("1.5万", 15000.0),
        ("两千", 2000.0),
        ("两千五", 2500.0),
        ("一万五", 15000.0),
        ("三百五", 350.0),
        ("一百零五", 105.0),
        ("一千零五十", 1050.0),
        ("十五", 15.0),
        ("二十", 20.0),
        ("十万", 100000.0),
        ("1万5千", 15000.0),
        ("1万5000", 15000.0),
        ("一亿五千万", 150_000_000.0),
        ("三万亿", 3e12),
        ("twelve", 12.0),
        ("forty-eight", 48.0),
        ("千万", None),
        ("万", None),
        ("一二", None),
        ("二〇二四", None),
        ("abc", None),
        ("", None),
    ],
)
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


def test_find_and_mention_numbers() -> None:
    assert [(v, s, e) for v, s, e in find_numbers("上限三百元，2,500")] == [(300.0, 2, 4), (2500.0, 6, 11)]
    assert mentions_number(300, ["退款上限三百元"]) and mentions_number(48, ["within 48 hours"])
    assert not mentions_number(30, ["退款上限三百元", "3 days"])
