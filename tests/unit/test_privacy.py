"""Personal-data masking: what is detected, what is not, round trips, and logs."""

from __future__ import annotations

import logging

import pytest
from stdnum import luhn
from stdnum.cn import ric

from assist.errors import ConfigError
from assist.privacy import Entity, PiiLogFilter, PiiMasker, redact_for_log

pytestmark = [pytest.mark.unit, pytest.mark.fast]

VALID_ID = "11010519491231002X"  # the published GB 11643 example
VALID_ID_2 = "44030519900101123X"
BAD_ID = "110105194912310021"  # same digits, wrong check character
VALID_CARD = "6222021234567890128"  # 19 digits, Luhn-valid
VALID_CARD_16 = "4111111111111111"
BAD_CARD = "4111111111111112"


def test_fixtures_are_what_they_claim() -> None:
    assert ric.is_valid(VALID_ID) and ric.is_valid(VALID_ID_2) and not ric.is_valid(BAD_ID)
    assert luhn.is_valid(VALID_CARD) and luhn.is_valid(VALID_CARD_16) and not luhn.is_valid(BAD_CARD)


# A tenant pattern as a profile gives it (the sample tenant's order numbers): the core has none.
ORDER_PATTERN = {"ORDER": r"NV\d{10,16}"}


@pytest.fixture(scope="module")
def masker() -> PiiMasker:
    return PiiMasker(extra_patterns=ORDER_PATTERN)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("我的手机号是13812345678。", "PHONE", "13812345678"),
        ("电话 138 1234 5678 谢谢", "PHONE", "138 1234 5678"),
        ("电话+86 138-1234-5678", "PHONE", "+86 138-1234-5678"),
        ("座机010-62345678找我", "PHONE", "010-62345678"),
        ("landline 0755-86001234.", "PHONE", "0755-86001234"),
        (f"身份证{VALID_ID}。", "ID", VALID_ID),
        (f"身份证号码 {VALID_ID_2}", "ID", VALID_ID_2),
        (f"卡号{VALID_CARD}", "CARD", VALID_CARD),
        ("card 4111 1111 1111 1111 please", "CARD", "4111 1111 1111 1111"),
        ("邮箱li.lei+shop@example.com.cn，", "EMAIL", "li.lei+shop@example.com.cn"),
        ("Call me at (415) 555-2671 tomorrow", "PHONE", "(415) 555-2671"),
        ("my UK number is +44 20 7946 0958", "PHONE", "+44 20 7946 0958"),
        ("订单号NV202411220001有问题", "ORDER", "NV202411220001"),
        (
            "寄到北京市朝阳区建国路88号5号楼1单元1201室，谢谢",
            "ADDR",
            "北京市朝阳区建国路88号5号楼1单元1201室",
        ),
        ("地址是上海市浦东新区张江路100号", "ADDR", "上海市浦东新区张江路100号"),
        ("请寄回上海市浦东新区张江路100号。", "ADDR", "上海市浦东新区张江路100号"),
        ("我家住广州市天河区体育西路191号", "ADDR", "广州市天河区体育西路191号"),
        (
            "I live at 1600 Pennsylvania Avenue, Washington, DC 20500",
            "ADDR",
            "1600 Pennsylvania Avenue, Washington, DC 20500",
        ),
    ],
)
def test_detects_valid_personal_data(masker: PiiMasker, text: str, kind: str, value: str) -> None:
    result = masker.mask(text)
    assert result.mapping == {f"[{kind}_1]": value}
    assert result.text == text.replace(value, f"[{kind}_1]")
    (entity,) = result.entities
    assert text[entity.start : entity.end] == value and entity.kind == kind


@pytest.mark.parametrize(
    "text",
    [
        f"身份证{BAD_ID}",  # bad ID checksum: not an ID, and not Luhn-valid either
        f"卡号{BAD_CARD}",  # bad Luhn
        "手机1381234567",  # 10 digits
        "手机12012345678",  # no 12x mobile prefix
        "手机138123456789",  # 12 digits
        "客服热线400-820-8820",  # company hotline, not personal data
        "已为您核实尾号138****1234的手机",  # already masked
        "2024年11月22日下单，金额3999元，共2件",
        "订单NV20241122",  # too short for the order pattern (NV + 10-16 digits)
    ],
)
def test_invalid_or_harmless_numbers_are_not_masked(masker: PiiMasker, text: str) -> None:
    result = masker.mask(text)
    assert result.text == text
    assert result.mapping == {} and result.entities == []


def test_invalid_id_is_not_masked_as_id_or_card(masker: PiiMasker) -> None:
    kinds = {e.kind for e in masker.detect(f"{BAD_ID} {BAD_CARD}")}
    assert "ID" not in kinds and "CARD" not in kinds


def test_email_digits_are_not_a_phone(masker: PiiMasker) -> None:
    r = masker.mask("QQ邮箱13812345678@qq.com")
    assert r.mapping == {"[EMAIL_1]": "13812345678@qq.com"}


def test_order_number_digits_are_not_a_phone_and_pattern_is_per_tenant() -> None:
    text = "订单NV138123456789，工单TK-123456"
    assert PiiMasker(extra_patterns=ORDER_PATTERN).mask(text).text == "订单[ORDER_1]，工单TK-123456"
    custom = PiiMasker(extra_patterns={"TICKET": r"TK-\d{6}"})
    assert custom.mask(text).text == "订单NV138123456789，工单[TICKET_1]"
    # The core has no tenant pattern: a generic masker leaves a tenant's identifiers alone
    # (and still does not read the digits glued to letters as a phone number).
    assert PiiMasker().mask(text).text == text
    assert PiiMasker(extra_patterns={}).mask("NV202411220001").text == "NV202411220001"


def test_kinds_are_upper_case_letters() -> None:
    with pytest.raises(ConfigError, match="upper-case letters"):
        PiiMasker(extra_patterns={"ORDER2": r"X\d+"})


def test_bad_tenant_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid regular expression"):
        PiiMasker(extra_patterns={"ORDER": "NV(\\d"})
    with pytest.raises(ConfigError, match="upper-case"):
        PiiMasker(extra_patterns={"order": r"NV\d+"})


def test_numbering_and_same_value_same_placeholder(masker: PiiMasker) -> None:
    r = masker.mask("13812345678 或 139-1234-5678，还是 138 1234 5678")
    assert r.text == "[PHONE_1] 或 [PHONE_2]，还是 [PHONE_1]"
    assert r.mapping == {"[PHONE_1]": "13812345678", "[PHONE_2]": "139-1234-5678"}


def test_mask_many_shares_one_mapping(masker: PiiMasker) -> None:
    turns = [
        "我电话13812345678",
        f"身份证{VALID_ID}，电话还是13812345678",
        "邮箱 a@b.com，另一个电话13912345678",
    ]
    results = masker.mask_many(turns)
    assert [r.text for r in results] == [
        "我电话[PHONE_1]",
        "身份证[ID_1]，电话还是[PHONE_1]",
        "邮箱 [EMAIL_1]，另一个电话[PHONE_2]",
    ]
    assert all(r.mapping is results[0].mapping for r in results)
    assert results[0].mapping == {
        "[PHONE_1]": "13812345678",
        "[ID_1]": VALID_ID,
        "[EMAIL_1]": "a@b.com",
        "[PHONE_2]": "13912345678",
    }


def test_mask_continues_an_existing_mapping(masker: PiiMasker) -> None:
    mapping = {"[PHONE_1]": "13812345678"}
    r = masker.mask("新号码13912345678，旧号码13812345678", mapping)
    assert r.text == "新号码[PHONE_2]，旧号码[PHONE_1]"
    assert r.mapping is mapping


def test_round_trip(masker: PiiMasker) -> None:
    text = f"我叫李雷，电话13812345678，身份证{VALID_ID}，卡号{VALID_CARD}，邮箱li@example.com，订单NV202411220001"
    r = masker.mask(text)
    for value in ("13812345678", VALID_ID, VALID_CARD, "li@example.com", "NV202411220001"):
        assert value not in r.text
    assert masker.unmask(r.text, r.mapping) == text


def test_unmask_survives_what_a_model_does_to_placeholders(masker: PiiMasker) -> None:
    r = masker.mask("电话13812345678，邮箱li@example.com")
    model_reply = (
        "已核实邮箱[EMAIL_1]。我们会致电【PHONE_1】，如未接通再拨 [phone_1]；"
        "Contact: [ PHONE 1 ], ［EMAIL_1］. 参考[1]。未知占位符[PHONE_7]保持原样。"
    )
    restored = masker.unmask(model_reply, r.mapping)
    assert restored == (
        "已核实邮箱li@example.com。我们会致电13812345678，如未接通再拨 13812345678；"
        "Contact: 13812345678, li@example.com. 参考[1]。未知占位符[PHONE_7]保持原样。"
    )


def test_mask_result_repr_hides_originals(masker: PiiMasker) -> None:
    r = masker.mask("电话13812345678")
    assert "13812345678" not in repr(r)
    assert Entity("PHONE", 2, 13) in r.entities


def test_redact_for_log() -> None:
    assert redact_for_log(f"user 13812345678 id {VALID_ID}") == "user [PHONE_1] id [ID_1]"


def test_log_filter_never_emits_originals(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("assist.test_privacy")
    flt = PiiLogFilter()
    caplog.handler.addFilter(flt)
    try:
        with caplog.at_level(logging.INFO, logger="assist.test_privacy"):
            logger.info("customer phone %s card %s", "13812345678", VALID_CARD)
            logger.warning(f"email li@example.com id {VALID_ID}")
            try:
                raise ValueError("bad phone 13912345678")
            except ValueError:
                logger.exception("lookup failed for %s", "139 1234 5678")
    finally:
        caplog.handler.removeFilter(flt)
    output = caplog.text
    for raw in ("13812345678", VALID_CARD, "li@example.com", VALID_ID, "13912345678", "139 1234 5678"):
        assert raw not in output
    assert "customer phone [PHONE_1] card [CARD_1]" in output
    assert "ValueError: bad phone [PHONE_1]" in output
    assert all(rec.args is None for rec in caplog.records)
