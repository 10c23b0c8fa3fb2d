"""Answer-quality mechanisms of the evidence-first draft (issue 15): yes/no questions and
their verdicts, the claim check of a verdict, clarifying questions for underspecified
requests, and clauses split at brackets. Table-driven, zh and en, fakes only."""

from __future__ import annotations

import pytest

from assist.claims import check_claims, evidence_verdict
from assist.config import DraftSettings
from assist.evidence import CLARIFY, EvidenceDrafter, EvidenceSentence, verdict_text
from assist.llm.fake import FakeChatModel
from assist.prompts import PromptLibrary
from assist.text.vague import referring_expressions
from assist.text.yesno import leading_verdict, parse_yes_no, split_leading_verdict
from assist.types import Chunk, RetrievedChunk, Turn

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------------------- detection
@pytest.mark.parametrize(
    ("question", "predicate", "verb"),
    [
        ("张x6是否自愿与母亲一同生活？", "自愿与母亲一同生活", "be"),
        ("原告位于昆仑唐人中心的房子是否有产权证？", "有产权证", "have"),
        ("这款耳机有没有降噪功能？", "降噪功能", "have"),
        ("交接班时值班人员能不能离开岗位？", "离开岗位", "can"),
        ("可以戴着游泳吗？", "可以戴着游泳", "can"),
        ("退款需不需要审批？", "审批", "need"),
        ("他来了没有？", "他来了", "be"),
        ("Does the phone support wireless charging?", "the phone support wireless charging", "be"),
        ("Can I return it after 7 days?", "I return it after 7 days", "can"),
        ("So, is there a fee for early withdrawal?", "there a fee for early withdrawal", "be"),
        ("Will my card be charged twice?", "my card be charged twice", "will"),
    ],
)
def test_yes_no_questions_are_taken_apart(question: str, predicate: str, verb: str) -> None:
    q = parse_yes_no(question)
    assert q is not None and q.predicate == predicate and q.verb == verb


@pytest.mark.parametrize(
    "question",
    [
        "双方约定被告每月支付多少生活费？",
        "原告曹0与被告张x1因何离婚？",
        "是退款还是换货？",
        "耳机怎么充电？",
        "How do I turn on GPS?",
        "Can you tell me about the refund policy?",
        "Is it blue or red?",
        "Could you explain the warranty terms?",
        "Tell me about the warranty.",
    ],
)
def test_other_questions_are_not_yes_no(question: str) -> None:
    assert parse_yes_no(question) is None


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("是的。原告离婚后已再婚 [1]。", "yes"),
        ("不是。", "no"),
        ("没有。房屋产权证未办 [1]。", "no"),
        ("不可以。交接班时不得离开 [1]。", "no"),
        ("可以。", "yes"),
        ("有。", "yes"),
        ("Yes. You can return it [1].", "yes"),
        ("No, staff must not leave [1].", "no"),
        ("有效期为一年 [1]。", None),
        ("No refunds are given after 30 days [1].", None),
        ("是否", None),
    ],
)
def test_the_leading_verdict_of_a_reply(reply: str, verdict: str | None) -> None:
    assert leading_verdict(reply) == verdict


def test_split_leading_verdict_keeps_the_rest() -> None:
    assert split_leading_verdict("Yes, you can return it [1].") == ("yes", "Yes, ", "you can return it [1].")
    assert split_leading_verdict("不可以。交接班时不得离开 [1]。") == (
        "no",
        "不可以。",
        "交接班时不得离开 [1]。",
    )


# ---------------------------------------------------------------------------- verdicts
@pytest.mark.parametrize(
    ("question", "sentence", "verdict"),
    [
        # matching polarity -> yes
        ("被告是否到庭？", "被告经传唤到庭参加诉讼。", "yes"),
        ("张x6是否自愿与母亲一同生活？", "张x6表示自愿随母亲一同生活。", "yes"),
        ("Can I return it?", "You can return it within 7 days.", "yes"),
        ("Is the battery replaceable?", "The battery is replaceable by an authorised service centre.", "yes"),
        # the evidence states the proposition negated -> no
        ("原告是否再婚？", "原告离婚后未再婚。", "no"),
        ("被告是否到庭？", "被告经传唤无正当理由未到庭。", "no"),  # 无正当理由 does not undo 未
        ("被告是否设置安全警示标志？", "公路公司没有在来车方向安全距离处设置明显的安全警示标志。", "no"),
        ("珠琳村委会是否调解成功？", "案经珠琳村委会调解未果诉至本院。", "no"),
        ("Can staff leave during a shift change?", "Staff must not leave during a shift change.", "no"),
        ("Does the phone support wireless charging?", "The phone does not support wireless charging.", "no"),
        # a number the evidence states otherwise -> no; the same number -> yes
        ("原告的月薪是否为2250元？", "原告月薪1800元。", "no"),
        ("原告的月薪是否为2250元？", "原告月薪2250元。", "yes"),
        # the question's own negation
        ("涉案网站是否没有任何商业收益？", "涉案网站有商业收益。", "no"),
        # the subject's own clause decides when two clauses restate the predicate
        ("胡x10是否承担事故责任？", "被告杨x4承担本次事故全部责任，案外人胡x10不承担本次事故责任。", "no"),
        # a negation inside brackets is a clause of its own
        (
            "原告位于昆仑唐人中心的房子是否有产权证？",
            "坐落于昆仑唐人中心一处房屋(产权证未办)是原告婚前财产。",
            "no",
        ),
        # nothing restates the question -> no verdict, never a guess
        ("是否支持退货？", "发票可以开电子版。", None),
        ("Is the warranty transferable?", "Refunds take 3-7 business days.", None),
        ("多少钱？", "价格为99元。", None),  # not a yes/no question
    ],
)
def test_verdict_from_the_evidence(question: str, sentence: str, verdict: str | None) -> None:
    assert evidence_verdict(question, sentence) == verdict


@pytest.mark.parametrize(
    ("question", "verdict", "language", "text"),
    [
        ("可以戴着游泳吗？", "yes", "zh", "可以。"),
        ("可以戴着游泳吗？", "no", "zh", "不可以。"),
        ("房子是否有产权证？", "no", "zh", "没有。"),
        ("原告是否再婚？", "no", "zh", "不是。"),
        ("原告是否再婚？", "yes", "zh", "是的。"),
        ("Can I swim with it?", "no", "en", "No."),
        ("Can I swim with it?", None, "en", None),
    ],
)
def test_the_verdict_reads_as_the_question_asked(question, verdict, language, text) -> None:
    assert verdict_text(verdict, language, question) == text


# ---------------------------------------------------------------------------- claim check of a verdict
DUTY_EV = {1: "交接班时，值班人员不得离开岗位。"}
STAFF_EV = {1: "Staff must not leave their post during a shift change."}


@pytest.mark.parametrize(
    ("reply", "evidence", "question", "kept", "flag"),
    [
        # a verdict that agrees with the sentence after it stays
        (
            "不可以。交接班时，值班人员不得离开岗位 [1]。",
            DUTY_EV,
            "交接班时值班人员可以离开岗位吗？",
            "不可以。",
            None,
        ),
        (
            "No. Staff must not leave their post during a shift change [1].",
            STAFF_EV,
            "Can staff leave their post during a shift change?",
            "No.",
            None,
        ),
        # a contradicting verdict is removed, the supported sentence stays
        (
            "可以。交接班时，值班人员不得离开岗位 [1]。",
            DUTY_EV,
            "交接班时值班人员可以离开岗位吗？",
            None,
            "claim_removed:verdict_mismatch",
        ),
        (
            "Yes, staff must not leave their post during a shift change [1].",
            STAFF_EV,
            "Can staff leave their post during a shift change?",
            None,
            "claim_removed:verdict_mismatch",
        ),
        # a verdict nothing after it decides is removed too
        (
            "是的。交接班时，值班人员不得离开岗位 [1]。",
            DUTY_EV,
            "退款是否需要审批？",
            None,
            "claim_removed:verdict_unsupported",
        ),
    ],
)
def test_the_claim_check_keeps_only_a_verdict_its_claim_gives(reply, evidence, question, kept, flag) -> None:
    report = check_claims(reply, evidence, question=question)
    assert report.supported == 1
    if kept:
        assert leading_verdict(report.text) is not None and report.text.startswith(kept), report
        assert not report.removed
    else:
        assert leading_verdict(report.text) is None and flag in report.flags, report


def test_a_negation_inside_brackets_is_checked() -> None:
    evidence = {1: "被告无需支付抚养费坐落于昆仑唐人中心一处房屋(产权证未办)是原告婚前财产。"}
    report = check_claims("原告位于昆仑唐人中心的房屋有产权证 [1]。", evidence)
    assert report.supported == 0 and "claim_removed:negation_mismatch" in report.flags
    house = {1: "原告在昆仑唐人中心有一处房屋（产权证未办）。"}
    assert check_claims("原告在昆仑唐人中心的房屋产权证未办 [1]。", house).supported == 1
    assert check_claims("原告在昆仑唐人中心的房屋产权证已办 [1]。", house).supported == 0
    en = {1: "The deposit (not refundable) is due on signing."}
    assert check_claims("The deposit is refundable [1].", en).supported == 0
    # citation markers and placeholders are not brackets that split
    assert check_claims("The deposit (not refundable) is due on signing [1] [PHONE_1].", en).supported == 1


# ---------------------------------------------------------------------------- the drafter
class FlatEmbedder:
    model_id = "flat"
    dim = 4

    def warm_up(self) -> None: ...

    async def embed_documents(self, texts):
        return [[0.5, 0.5, 0.5, 0.5] for _ in texts]

    async def embed_queries(self, texts):
        return [[0.5, 0.5, 0.5, 0.5] for _ in texts]

    async def embed_query(self, text):
        return [0.5, 0.5, 0.5, 0.5]

    def count_tokens(self, text):
        return len(text)


def chunk(
    i: int,
    text: str,
    title: str,
    lang: str = "zh",
    section: list[str] | None = None,
    article: str | None = None,
) -> RetrievedChunk:
    return RetrievedChunk(
        chunk=Chunk(
            id=f"c{i}",
            tenant="t",
            article_id=article or f"a{i}",
            revision=1,
            chunk_index=i,
            text=text,
            title=title,
            language=lang,
            heading_path=section or [],
        ),
        score=1.0 - i / 10,
    )


def scorer(**settings) -> EvidenceDrafter:
    return EvidenceDrafter(
        llm=FakeChatModel(replies=[AssertionError("no model call expected")]),
        prompts=PromptLibrary(),
        embedder=FlatEmbedder(),
        settings=DraftSettings(**settings),
        use_model=False,
    )


async def test_the_scorer_answers_with_the_sentence_that_restates_the_question() -> None:
    case = chunk(
        1, "原告与被告于2010年登记结婚。原告诉称双方感情破裂。原告自2015年离婚后至今未再婚。", "离婚纠纷"
    )
    out = await scorer().extractive([Turn(text="原告离婚后是否再婚？")], [case], "zh")
    assert out.status == "drafted" and out.text == "不是。原告自2015年离婚后至今未再婚 [1]。", out
    assert "verdict_from_evidence" in out.flags


async def test_no_verdict_when_no_sentence_restates_the_question() -> None:
    case = chunk(1, "原告与被告于2010年登记结婚。原告诉称双方感情破裂。", "离婚纠纷")
    out = await scorer().extractive([Turn(text="原告与被告是否有子女？")], [case], "zh")
    assert leading_verdict(out.text) is None and "verdict_from_evidence" not in out.flags


async def test_a_model_verdict_that_contradicts_its_sentence_is_removed() -> None:
    import json

    duty = chunk(1, "交接班时，值班人员不得离开岗位。", "值班制度")
    d = EvidenceDrafter(
        llm=FakeChatModel(reply_fn=lambda m, g: json.dumps({"evidence": [1], "verdict": "yes"})),
        prompts=PromptLibrary(),
        embedder=FlatEmbedder(),
        settings=DraftSettings(),
    )
    out = await d.extractive([Turn(text="交接班时值班人员可以离开岗位吗？")], [duty], "zh")
    assert out.status == "drafted" and out.text == "交接班时，值班人员不得离开岗位 [1]。"
    assert "claim_removed:verdict_mismatch" in out.flags and "model_verdict" not in out.flags


async def test_scorer_choice_prefers_the_restating_sentence() -> None:
    d = scorer()
    cands = [
        EvidenceSentence(1, 0, "原告诉称双方感情破裂。", 0.9),
        EvidenceSentence(1, 1, "原告离婚后未再婚。", 0.8),
    ]
    assert d.scorer_choice("原告是否再婚？", cands) == ([2], "no")
    assert d.scorer_choice("原告为何离婚？", cands) == ([1], None)


# ---------------------------------------------------------------------------- clarifying questions
FLAGS_EN = [
    chunk(
        1, "The flag of Ireland is a vertical tricolour of green, white and orange.", "Flag of Ireland", "en"
    ),
    chunk(
        2, "The flag of France is a tricolour of blue, white and red vertical bands.", "Flag of France", "en"
    ),
]
PHONES_ZH = [
    chunk(1, "这款耳机支持IPX4级防水，可以防汗防溅。", "Nova Buds 耳机"),
    chunk(2, "这款手表支持5ATM防水，可以游泳时佩戴。", "Nova Watch 手表"),
]


@pytest.mark.parametrize(
    ("question", "chunks", "language", "history"),
    [
        ("Tell me about the importance of this tricolour national flag.", FLAGS_EN, "en", []),
        ("这款能防水吗？", PHONES_ZH, "zh", []),
    ],
)
async def test_clarify_fires_on_a_vague_question_between_near_equal_topics(
    question, chunks, language, history
) -> None:
    out = await scorer().extractive([*(Turn(text=h) for h in history), Turn(text=question)], chunks, language)
    assert out.status == "not_covered" and CLARIFY in out.flags and len(out.topics) == 2, out
    assert set(out.topics) == {c.chunk.title for c in chunks}


@pytest.mark.parametrize(
    ("question", "chunks", "language", "history"),
    [
        # the question names the topic
        ("What colours are on the flag of France?", FLAGS_EN, "en", []),
        ("Nova Watch 手表能防水吗？", PHONES_ZH, "zh", []),
        # the conversation named it just before
        (
            "Tell me about the importance of this tricolour national flag.",
            FLAGS_EN,
            "en",
            ["I am reading about France.", "The flag of France dates from the Revolution."],
        ),
        # only one topic retrieved
        ("这款能防水吗？", PHONES_ZH[:1], "zh", []),
    ],
)
async def test_clarify_does_not_fire_on_a_clear_question(question, chunks, language, history) -> None:
    turns = [Turn(role="customer" if i % 2 == 0 else "agent", text=h) for i, h in enumerate(history)]
    out = await scorer().extractive([*turns, Turn(text=question)], chunks, language)
    assert CLARIFY not in out.flags, out


async def test_clarify_can_be_switched_off() -> None:
    out = await scorer(clarify=False).extractive([Turn(text="这款能防水吗？")], PHONES_ZH, "zh")
    assert CLARIFY not in out.flags


def test_clarifying_question_wording() -> None:
    lib = PromptLibrary()
    zh = lib.render(
        "clarify_topics", "zh", topics=["A", "B", "C"], clarifying="请您补充一些具体信息。"
    ).strip()
    en = lib.render("clarify_topics", "en", topics=["A", "B"], clarifying="Could you tell me more?").strip()
    assert zh == "请问您想了解的是以下哪一项：「A」、「B」还是「C」？请您补充一些具体信息。"
    assert en == "Which of these do you mean: A or B? Could you tell me more?"


@pytest.mark.parametrize(
    ("question", "refers"),
    [
        ("Does this fast food chain operate in India?", True),
        ("What is the population of the country?", True),
        ("这款耳机能防水吗？", True),
        ("How do I reset my password?", False),
        ("退款多久到账？", False),
        ("Is it true that volunteers help?", False),
    ],
)
def test_referring_expressions(question: str, refers: bool) -> None:
    assert bool(referring_expressions(question, pronouns=False)) == refers


# ---------------------------------------------------------------------------- streamed (generative) replies
def test_a_streamed_verdict_waits_for_its_claim() -> None:
    from assist.drafting import make_passages
    from assist.evidence import ClaimFilter

    passages, _ = make_passages([chunk(1, "交接班时，值班人员不得离开岗位。", "值班制度")])
    question = "交接班时值班人员可以离开岗位吗？"
    agree = ClaimFilter(passages, question=question)
    assert agree.feed("不可以。") == ""  # held until the claim that decides it
    assert (
        agree.feed("交接班时，值班人员不得离开岗位 [1]。") == "不可以。交接班时，值班人员不得离开岗位 [1]。"
    )
    wrong = ClaimFilter(passages, question=question)
    assert wrong.feed("可以。") == ""
    assert wrong.feed("交接班时，值班人员不得离开岗位 [1]。") == "交接班时，值班人员不得离开岗位 [1]。"
    assert "claim_removed:verdict_mismatch" in wrong.flags
    alone = ClaimFilter(passages, question=question)
    assert alone.feed("可以。") == "" and alone.close() == "" and alone.text == ""


def test_a_question_in_the_evidence_answers_nothing() -> None:
    assert (
        evidence_verdict("Is there life beyond Earth?", "The big question – is there life beyond Earth?")
        is None
    )
    d = scorer()
    cands = [
        EvidenceSentence(1, 0, "退款多久能到账？", 0.9),
        EvidenceSentence(1, 1, "退款3-7个工作日内原路退回。", 0.8),
    ]
    assert d.scorer_choice("退款多久到账", cands) == ([2], None)
