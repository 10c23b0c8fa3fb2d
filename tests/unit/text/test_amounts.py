"""Money amounts: one extractor for zh and en (万/千/k/元/¥/CNY/RMB/$/USD, Chinese numerals)."""

from __future__ import annotations

import pytest

from assist.text import Amount, extract_amounts

pytestmark = [pytest.mark.unit, pytest.mark.fast]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the cases on which escalation and QA used to disagree
        ("退款1.5万元", [(15000.0, "CNY", "1.5万元")]),
        ("$2k", [(2000.0, "USD", "$2k")]),
        ("两千元", [(2000.0, "CNY", "两千元")]),
        # Chinese: digits, separators, numerals, mixes and multipliers
        ("退款2000元", [(2000.0, "CNY", "2000元")]),
        ("退款2,500元，另外还有$40", [(2500.0, "CNY", "2,500元"), (40.0, "USD", "$40")]),
        ("¥2,500 和 ￥10", [(2500.0, "CNY", "¥2,500"), (10.0, "CNY", "￥10")]),
        ("1.5万元的电脑", [(15000.0, "CNY", "1.5万元")]),
        ("赔偿您五百元", [(500.0, "CNY", "五百元")]),
        ("两千五百元", [(2500.0, "CNY", "两千五百元")]),
        ("一万五千元", [(15000.0, "CNY", "一万五千元")]),
        ("三百五十块钱", [(350.0, "CNY", "三百五十块钱")]),
        ("5千块", [(5000.0, "CNY", "5千块")]),
        ("3万5千元", [(35000.0, "CNY", "3万5千元")]),
        ("两千多元", [(2000.0, "CNY", "两千多元")]),
        ("5k元", [(5000.0, "CNY", "5k元")]),
        ("2w块", [(20000.0, "CNY", "2w块")]),
        ("人民币3000元", [(3000.0, "CNY", "人民币3000元")]),
        ("给你50块的券", [(50.0, "CNY", "50块")]),
        ("1万美元", [(10000.0, "USD", "1万美元")]),
        ("100 元", [(100.0, "CNY", "100 元")]),
        # English: prefixes, suffixes, words and multipliers
        ("$400 or 3000 yuan", [(400.0, "USD", "$400"), (3000.0, "CNY", "3000 yuan")]),
        ("refund 350 dollars", [(350.0, "USD", "350 dollars")]),
        ("refund you $1,200.50", [(1200.5, "USD", "$1,200.50")]),
        ("RMB 3000 or CNY3000", [(3000.0, "CNY", "RMB 3000"), (3000.0, "CNY", "CNY3000")]),
        (
            "US$40, USD 40, 40 US dollars",
            [(40.0, "USD", "US$40"), (40.0, "USD", "USD 40"), (40.0, "USD", "40 US dollars")],
        ),
        ("$2K back", [(2000.0, "USD", "$2K")]),
        ("5 thousand yuan", [(5000.0, "CNY", "5 thousand yuan")]),
        ("five dollars", [(5.0, "USD", "five dollars")]),
        ("30 bucks", [(30.0, "USD", "30 bucks")]),
        # not money
        ("order 123456789, phone 13812341234", []),
        ("订单2024年11月22日下单", []),
        ("换一块新电池", []),
        ("HK$100", []),
        ("千万不要付款", []),
        ("2 km, 5 weeks", []),
    ],
)
def test_extract_amounts(text: str, expected: list[tuple[float, str, str]]) -> None:
    assert [(a.value, a.currency, a.text) for a in extract_amounts(text)] == expected


def test_amount_span_points_at_its_text() -> None:
    text = "您好，为您退款1.5万元，另补偿$20。"
    amounts = extract_amounts(text)
    assert all(isinstance(a, Amount) and text[a.start : a.end] == a.text for a in amounts)
    assert [a.span for a in amounts] == [(7, 12), (16, 19)]
