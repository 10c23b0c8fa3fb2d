"""Full-width and other Unicode digit forms are masked like the ASCII ones (NFKC folding)."""

from __future__ import annotations

import pytest

from assist.privacy import PiiMasker, fold

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "kind", "raw"), [
    ("电话１５９２２２２３３３３谢谢", "PHONE", "１５９２２２２３３３３"),
    ("call ١٣٨١٢٣٤٥٦٧٨ now", "PHONE", "١٣٨١٢٣٤٥٦٧٨"),
    ("邮箱ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "EMAIL", "ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
    ("身份证１１０１０１１９９００３０７１２３３", "ID", "１１０１０１１９９００３０７１２３３"),
    ("手机 +８６ １３８ １２３４ ５６７８", "PHONE", "+８６ １３８ １２３４ ５６７８"),
])
def test_unicode_digit_forms_are_masked(text: str, kind: str, raw: str) -> None:
    r = PiiMasker().mask(text)
    assert raw not in r.text and f"[{kind}_1]" in r.text, r.text
    assert r.mapping[f"[{kind}_1]"] == raw  # the original form comes back on unmask
    assert PiiMasker.unmask(r.text, r.mapping) == text


def test_ascii_and_full_width_forms_share_a_placeholder() -> None:
    r = PiiMasker().mask("15922223333 或 １５９２２２２３３３３")
    assert r.text == "[PHONE_1] 或 [PHONE_1]"


def test_fold_maps_back_to_original_positions() -> None:
    text, where = fold("ａ㈠b")
    assert text == "a(一)b" and where == [0, 1, 1, 1, 2]
    assert fold("ascii only") == ("ascii only", None)
    assert fold("中文没有变化")[1] is None
