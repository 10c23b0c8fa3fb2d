"""Language detection, CJK helpers and sentence/clause spans, zh and en."""

from __future__ import annotations

import pytest

from assist.errors import InputError
from assist.text import (
    check_supported,
    cjk_runs,
    clause_spans,
    count_cjk,
    detect_language,
    has_cjk,
    is_cjk,
    sentence_spans,
    sentences,
    span_containing,
    support_overlap,
)

pytestmark = [pytest.mark.unit, pytest.mark.fast]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("我的订单什么时候到？", "zh"),
        ("Where is my order?", "en"),
        ("我的MacBook Pro 14 开不了机", "zh"),
        ("退款", "zh"),
        ("OK 好", "en"),
        ("My order 订单 has not arrived yet, please check", "en"),
        ("一份中文操作规范，引用了 Apple Pay 和 Google Pay 两个英文名称。", "zh"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_detect_language_default_for_text_without_letters() -> None:
    assert detect_language("12345 !!") == "zh"
    assert detect_language("", default="en") == "en"


def test_check_supported_refuses_other_scripts() -> None:
    assert check_supported("退款多久到账") == "zh"
    assert check_supported("refund please") == "en"
    with pytest.raises(InputError, match="zh"):
        check_supported("こんにちは、返金してください")
    with pytest.raises(InputError):
        check_supported("환불해 주세요")


def test_cjk_helpers() -> None:
    assert is_cjk("退") and is_cjk("\u3400") and not is_cjk("a") and not is_cjk("あ") and not is_cjk("退款")
    assert has_cjk("a退") and not has_cjk("abc")
    assert count_cjk("MacBook 开不了机") == 4
    assert cjk_runs("退款 refund 到账") == ["退款", "到账"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您好！退款3天内到账。请放心", ["您好！", "退款3天内到账。", "请放心"]),
        ("Hello. The price is 3.5 dollars! Bye?", ["Hello.", "The price is 3.5 dollars!", "Bye?"]),
        ("第一行\n\n第二行；第三句", ["第一行", "第二行；", "第三句"]),
        ("", []),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected
    assert [text[s:e] for s, e in sentence_spans(text)] == expected


def test_clauses_and_span_lookup() -> None:
    text = "您好，退款3天内到账：请放心. Thanks, bye."
    spans = clause_spans(text)
    assert [text[s:e] for s, e in spans] == ["您好", "退款3天内到账", "请放心", "Thanks", "bye"]
    s, e = span_containing(spans, text.index("3"))
    assert text[s:e] == "退款3天内到账"
    assert span_containing(spans, 2) == (2, 2)  # on the comma: no clause


def test_support_overlap() -> None:
    assert support_overlap("Refunds arrive in 3 days [1].", "A refund arrives within 3 days.") == 1.0
    assert support_overlap("退款3天内到账", "退款3天内到账，请放心") == 1.0
    assert support_overlap("退款3天内到账", "The weather is nice") == 0.0
    assert support_overlap("[1]", "anything") == 0.0
