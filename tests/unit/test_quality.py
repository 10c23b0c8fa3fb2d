"""The quality rubric: planted violations are flagged at their spans, phrasebook replies pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.errors import ConfigError
from assist.quality import QualityChecker, Rubric, extract_amounts, extract_durations, load_rubric
from assist.types import Conversation, Finding, QAReport, Turn

pytestmark = [pytest.mark.unit, pytest.mark.fast]

RUBRIC = Path(__file__).resolve().parents[2] / "examples" / "tenants" / "nova" / "rubric.yaml"

ZH_GREETING = "您好，我是新星电子客服小王，很高兴为您服务。"
ZH_APOLOGY = "非常抱歉给您带来不便。"
ZH_SOOTHING = "请您放心，我会全程跟进直到问题解决。"
ZH_CLOSING = "感谢您的耐心，祝您生活愉快！如有其他问题随时联系我们。"
EN_GREETING = "Hello, this is Lily from Nova Electronics support. How can I help you today?"
EN_APOLOGY = "I'm very sorry for the inconvenience."
EN_SOOTHING = "Please rest assured, I will follow this through until it is resolved."
EN_CLOSING = "Thank you for your patience. Is there anything else I can help you with? Have a great day!"


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric(RUBRIC)


@pytest.fixture(scope="module")
def qa(rubric: Rubric) -> QualityChecker:
    return QualityChecker(rubric)


def conv(*turns: tuple[str, str]) -> Conversation:
    return Conversation(tenant="nova", turns=[Turn(role=r, text=t) for r, t in turns])  # type: ignore[arg-type]


UPSET_ZH = conv(("customer", "快递一直没到，气死我了！"))
UPSET_EN = conv(("customer", "This is ridiculous, my order is late again!"))
CALM_ZH = conv(("customer", "请问耳机怎么连接蓝牙？"))
ENDING_ZH = conv(
    ("customer", "耳机连不上"), ("agent", "您好，请先重置耳机。"), ("customer", "好了，可以了，谢谢")
)
ENDING_EN = conv(
    ("customer", "My watch won't sync"),
    ("agent", "Hello, please restart it."),
    ("customer", "It works now, thanks!"),
)


def only(report: QAReport, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


def spanned(reply: str, f: Finding) -> str:
    assert f.span is not None
    return reply[f.span[0] : f.span[1]]


# ------------------------------------------------------------------ clean replies pass
def test_nova_rubric_loads(rubric: Rubric) -> None:
    assert rubric.tenant == "nova" and rubric.pass_score == 80
    c = rubric.checks
    assert (
        c.greeting
        and c.closing
        and c.empathy
        and c.forbidden_words
        and c.pii_exposure
        and c.promises
        and c.grounding
    )
    assert c.promises.max_compensation == {"CNY": 20, "USD": 5}


@pytest.mark.parametrize(
    ("reply", "conversation"),
    [
        (ZH_GREETING + ZH_APOLOGY + ZH_SOOTHING, UPSET_ZH),
        (EN_GREETING + " " + EN_APOLOGY + " " + EN_SOOTHING, UPSET_EN),
        ("不客气，" + ZH_CLOSING, ENDING_ZH),
        ("Glad it works. " + EN_CLOSING, ENDING_EN),
        (ZH_GREETING + "请在手机设置中打开蓝牙，长按耳机充电盒按钮3秒进入配对。", CALM_ZH),
        (
            ZH_APOLOGY
            + "由于物流延迟超过3天，为您发放20元优惠券，退款将在3-7个工作日内原路退回。已核实尾号138****1234的手机。",
            conv(("customer", "还没到，太慢了"), ("agent", "您好"), ("customer", "到底什么时候到？？")),
        ),
        (
            EN_APOLOGY
            + " As the delivery is more than 3 days late, I've added a $5 coupon. Refunds reach your card within 3-7 business days.",
            conv(
                ("customer", "Still waiting, so frustrating"),
                ("agent", "Hello"),
                ("customer", "Where is it?"),
            ),
        ),
    ],
)
def test_phrasebook_replies_pass_clean(qa: QualityChecker, reply: str, conversation: Conversation) -> None:
    report = qa.check(reply, conversation)
    assert report.findings == []
    assert report.score == 100 and report.passed


# ------------------------------------------------------------------ greeting / closing / empathy
@pytest.mark.parametrize("reply", ["请在手机设置中打开蓝牙。", "Please turn on Bluetooth in settings."])
def test_missing_greeting_on_first_reply(qa: QualityChecker, reply: str) -> None:
    report = qa.check(reply, conv(("customer", "耳机怎么连接？")))
    (f,) = only(report, "greeting")
    assert f.severity == "minor" and f.span is None
    assert report.score == 90 and report.passed


def test_greeting_not_required_after_the_first_reply(qa: QualityChecker) -> None:
    later = conv(("customer", "耳机怎么连接？"), ("agent", ZH_GREETING), ("customer", "然后呢？"))
    assert only(qa.check("请长按按钮3秒。", later), "greeting") == []
    assert only(qa.check("请长按按钮3秒。", None), "greeting") == []  # unknown: not checked


def test_greeting_always(rubric: Rubric) -> None:
    r = rubric.model_copy(deep=True)
    assert r.checks.greeting is not None
    r.checks.greeting.when = "always"
    assert len(only(QualityChecker(r).check("请长按按钮3秒。", None), "greeting")) == 1


@pytest.mark.parametrize(
    ("reply", "conversation"), [("好的，已为您处理。", ENDING_ZH), ("Okay, done.", ENDING_EN)]
)
def test_missing_closing_when_ending(qa: QualityChecker, reply: str, conversation: Conversation) -> None:
    assert len(only(qa.check(reply, conversation), "closing")) == 1


def test_closing_not_required_mid_conversation(qa: QualityChecker, rubric: Rubric) -> None:
    mid = conv(("customer", "耳机连不上"), ("agent", "您好，请先重置。"), ("customer", "重置了还是不行"))
    assert only(qa.check("请再试一次长按5秒。", mid), "closing") == []
    r = rubric.model_copy(deep=True)
    assert r.checks.closing is not None
    r.checks.closing.when = "always"
    assert len(only(QualityChecker(r).check("请再试一次长按5秒。", mid), "closing")) == 1


@pytest.mark.parametrize(
    ("reply", "conversation"),
    [("您好，请提供订单号。", UPSET_ZH), ("Hello, please send your order number.", UPSET_EN)],
)
def test_upset_customer_needs_apology_or_soothing(
    qa: QualityChecker, reply: str, conversation: Conversation
) -> None:
    report = qa.check(reply, conversation)
    (f,) = only(report, "empathy")
    assert f.severity == "major"
    assert report.score == 85


def test_calm_customer_needs_no_apology(qa: QualityChecker) -> None:
    assert only(qa.check("您好，请提供订单号。", CALM_ZH), "empathy") == []


# ------------------------------------------------------------------ forbidden words
def test_forbidden_words_zh_spans(qa: QualityChecker) -> None:
    reply = "这是规定，我也没办法，你自己看说明书吧。"
    report = qa.check(reply)
    found = only(report, "forbidden_words")
    assert [spanned(reply, f) for f in found] == ["这是规定", "没办法", "你自己看"]
    assert report.score == 70  # 3 x 15, capped at max_deduction 30
    assert not report.passed


def test_forbidden_words_en_spans_case_and_apostrophes(qa: QualityChecker) -> None:
    reply = "Please CALM DOWN. I don\u2019t know where it is, not my problem."
    found = only(qa.check(reply), "forbidden_words")
    assert [spanned(reply, f) for f in found] == ["CALM DOWN", "I don\u2019t know", "not my problem"]


def test_forbidden_words_respect_word_boundaries(qa: QualityChecker) -> None:
    assert only(qa.check("Whatsoever you need, we can help."), "forbidden_words") == []


# ------------------------------------------------------------------ personal data
@pytest.mark.parametrize(
    ("reply", "exposed"),
    [
        ("已为您登记手机号13812345678。", "13812345678"),
        ("您的身份证号11010519491231002X已核实。", "11010519491231002X"),
        ("退款将退回卡号6222021234567890128。", "6222021234567890128"),
        ("We will email li.lei@example.com shortly.", "li.lei@example.com"),
        ("We'll call you on +44 20 7946 0958.", "+44 20 7946 0958"),
    ],
)
def test_full_personal_data_is_critical(qa: QualityChecker, reply: str, exposed: str) -> None:
    report = qa.check(reply)
    (f,) = only(report, "pii_exposure")
    assert f.severity == "critical" and spanned(reply, f) == exposed
    assert not report.passed  # critical, whatever the score


@pytest.mark.parametrize(
    "reply",
    [
        "已核实尾号138****1234的手机。",
        "Card ending 0128 verified.",
        "We verified the phone ending in 1234.",
        "订单NV202411220001已发货。",
    ],
)
def test_masked_forms_are_fine(qa: QualityChecker, reply: str) -> None:
    assert only(qa.check(reply), "pii_exposure") == []


def test_address_is_major_not_critical(qa: QualityChecker) -> None:
    reply = "已寄往北京市朝阳区建国路88号5号楼1单元1201室。"
    (f,) = only(qa.check(reply), "pii_exposure")
    assert f.severity == "major" and spanned(reply, f).startswith("北京市朝阳区建国路88号")


# ------------------------------------------------------------------ promises
def test_compensation_over_allowance_zh(qa: QualityChecker) -> None:
    reply = "赔偿您500元，3天内到账。"
    report = qa.check(reply)
    found = only(report, "promises")
    assert [(spanned(reply, f), f.severity) for f in found] == [("500元", "critical"), ("3天内", "major")]
    assert not report.passed


def test_compensation_over_allowance_en(qa: QualityChecker) -> None:
    reply = "I will refund you $500 and give you a $50 coupon within 2 days."
    found = only(qa.check(reply), "promises")
    assert [(spanned(reply, f), f.severity) for f in found] == [
        ("$500", "critical"),  # refund above 300 USD needs a supervisor
        ("$50", "critical"),  # coupon above 5 USD
        ("2 days", "major"),
    ]


def test_non_standard_amount_within_allowance(qa: QualityChecker) -> None:
    reply = "为您补偿10元代金券。"
    (f,) = only(qa.check(reply), "promises")
    assert f.severity == "major" and spanned(reply, f) == "10元"
    # the same amount is fine when the cited policy says so
    assert only(qa.check(reply, cited_texts={1: "会员补偿标准：代金券10元。"}), "promises") == []


def test_chinese_numerals_are_read(qa: QualityChecker) -> None:
    reply = "给您赔偿五百元。"
    (f,) = only(qa.check(reply), "promises")
    assert f.severity == "critical" and spanned(reply, f) == "五百元"


@pytest.mark.parametrize(
    "reply",
    [
        "退款将在3-7个工作日内原路退回。",
        "退款会在7个工作日内到账。",
        "签收后7天内可以无理由退货，笔记本电脑保修2年。",
        "We will update you within 24 hours.",
        "Your refund will arrive in 3-7 business days.",
        "为您退款1999元。",
        "订单2024年11月22日下单。",
    ],
)
def test_allowed_promises(qa: QualityChecker, reply: str) -> None:
    assert only(qa.check(reply), "promises") == []


def test_refund_above_limit(qa: QualityChecker) -> None:
    reply = "为您退款2999元。"
    (f,) = only(qa.check(reply), "promises")
    assert f.severity == "critical" and "supervisor" in f.message


def test_duration_supported_by_cited_text(qa: QualityChecker) -> None:
    reply = "维修完成后48小时内寄回[1]。"
    assert len(only(qa.check(reply), "promises")) == 1
    assert only(qa.check(reply, cited_texts={1: "维修完成后48小时内寄回给客户。"}), "promises") == []


def test_extractors() -> None:
    assert [
        (a.value, a.currency)
        for a in extract_amounts("赔偿您两千元，refund you $1,200.50 or 30 dollars, ￥88")
    ] == [
        (2000.0, "CNY"),
        (1200.5, "USD"),
        (30.0, "USD"),
        (88.0, "CNY"),
    ]
    assert [
        (d.low, d.high, d.unit, d.within)
        for d in extract_durations("2024年11月22日，三天内，24小时以内，within 2 weeks, a 1-year warranty")
    ] == [
        (3.0, 3.0, "day", True),
        (24.0, 24.0, "hour", True),
        (2.0, 2.0, "week", True),
        (1.0, 1.0, "year", False),
    ]


# ------------------------------------------------------------------ grounding
CITED = {
    1: "审核通过的退款会在3-7个工作日内原路退回到您的支付账户。",
    2: "Refunds are returned to the original payment method within 3-7 business days after approval.",
}


def test_supported_cited_sentences_pass(qa: QualityChecker) -> None:
    assert (
        only(
            qa.check("退款审核通过后，会在3-7个工作日内原路退回您的支付账户[1]。", cited_texts=CITED),
            "grounding",
        )
        == []
    )
    assert (
        only(
            qa.check(
                "After approval, refunds go back to the original payment method within 3-7 business days [2].",
                cited_texts=CITED,
            ),
            "grounding",
        )
        == []
    )


@pytest.mark.parametrize(
    ("reply", "sentence"),
    [
        ("退款会原路退回[1]。我们的门店周日营业到晚上九点[1]。", "我们的门店周日营业到晚上九点[1]。"),
        (
            "Refunds go to your card [2]. Our stores are open on Sundays until late [2].",
            "Our stores are open on Sundays until late [2].",
        ),
    ],
)
def test_unsupported_cited_sentence(qa: QualityChecker, reply: str, sentence: str) -> None:
    found = only(qa.check(reply, cited_texts=CITED), "grounding")
    assert [spanned(reply, f) for f in found] == [sentence]


def test_citation_without_source(qa: QualityChecker) -> None:
    reply = "退款会原路退回到支付账户[3]。"
    (f,) = only(qa.check(reply, cited_texts=CITED), "grounding")
    assert spanned(reply, f) == "[3]" and "does not match" in f.message


def test_numbers_must_be_in_cited_text_or_conversation(qa: QualityChecker) -> None:
    reply = "您购买的2件商品已退款，会在3-7个工作日内退回，运费12元也会一并退回[1]。已核实尾号138****1234。"
    c = conv(("customer", "我买了2件，怎么退款？"))
    found = only(qa.check(reply, c, cited_texts=CITED), "grounding")
    assert [spanned(reply, f) for f in found] == ["12"]


def test_no_cited_texts_no_grounding(qa: QualityChecker) -> None:
    assert only(qa.check("门店营业到21点[1]。"), "grounding") == []


# ------------------------------------------------------------------ score and malformed files
def test_score_is_100_minus_capped_deductions(qa: QualityChecker) -> None:
    reply = "这是规定，没办法，随便你，不知道。已登记13812345678。"
    report = qa.check(reply, UPSET_ZH)
    # greeting 10 + empathy 15 + forbidden 4x15 capped at 30 + pii 40 = 95
    assert report.score == 5
    assert report.passed is False
    assert [f.span[0] for f in report.findings if f.span] == sorted(
        f.span[0] for f in report.findings if f.span
    )


def _rubric_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "rubric.yaml"
    p.write_text("tenant: nova\npass_score: 80\nchecks:\n" + body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        (
            "  greeting:\n    weight: 5\n  politeness:\n    weight: 5\n",
            6,
            "checks.politeness: unknown key 'politeness'",
        ),
        (
            "  greeting:\n    weight: 5\n    severity: fatal\n",
            6,
            "checks.greeting.severity: Input should be 'info', 'minor', 'major' or 'critical'",
        ),
        (
            "  forbidden_words:\n    patterns:\n      - 'ok'\n      - '(unclosed'\n",
            7,
            "checks.forbidden_words.patterns[1]: bad regular expression '(unclosed'",
        ),
        (
            "  empathy:\n    patterns:\n      zh: ['抱歉', '[bad']\n",
            6,
            "checks.empathy.patterns.zh[1]: bad regular expression '[bad'",
        ),
        (
            "  promises:\n    allowed_durations:\n      - {max: 3, unit: fortnight}\n",
            6,
            "checks.promises.allowed_durations[0].unit: Input should be",
        ),
        (
            # A kind the tenant's masker never produces is caught by the registry, which
            # knows the profile (tests/unit/tenants); the schema checks the spelling.
            "  pii_exposure:\n    kinds: [PHONE, ssn]\n",
            5,
            "checks.pii_exposure.kinds: PII kind(s) ['ssn']",
        ),
        (
            "  greeting:\n    weight: 500\n",
            5,
            "checks.greeting.weight: Input should be less than or equal to 100",
        ),
    ],
)
def test_malformed_rubric_reports_file_line_reason(tmp_path: Path, body: str, line: int, reason: str) -> None:
    p = _rubric_file(tmp_path, body)
    with pytest.raises(ConfigError) as ei:
        load_rubric(p)
    assert ei.value.message.startswith(f"{p}:{line}: {reason}")


def test_company_data_quoted_from_cited_knowledge_is_not_exposure(qa: QualityChecker) -> None:
    reply = "请寄回上海市浦东新区张江路100号新星电子售后中心[1]。"
    assert len(only(qa.check(reply), "pii_exposure")) == 1
    cited = {1: "维修寄回地址：上海市浦东新区张江路100号新星电子售后中心，请注明订单号。"}
    assert only(qa.check(reply, cited_texts=cited), "pii_exposure") == []
