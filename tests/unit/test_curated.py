"""The curated-answer matcher: key terms (numbers, polarity, product terms) and the decision."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assist.curated import CuratedMatcher, agree, key_terms
from assist.types import BlockKind, Chunk, RetrievedChunk

pytestmark = [pytest.mark.unit, pytest.mark.fast]


@pytest.mark.parametrize(("a", "b"), [
    ("能不能退货？", "可以退货吗"),                 # A-not-A asks, it does not negate
    ("可否取消", "可以取消吗？"),
    ("三天能到吗", "3天能到吗"),                     # numbers as values
    ("借一万可以吗", "能借1万吗"),
    ("十五号还款", "15号还款可以吗"),
    ("一下子就扣款了", "直接扣款了"),                 # "一下" is not a number
    ("My earbuds won't charge", "Earbuds not charging?"),
    ("How do I reset my router?", "Resetting the router"),
    ("NovaPhone 15 能插两张卡吗？", "能插两张卡吗"),   # the customer may add details
    ("净化器的滤网多长时间要换？", "空气净化器滤芯多久换一次？"),  # "一次" is not a count
    ("NovaBook 的内存能自己加吗？", "NovaBook 可以加内存吗？"),
    ("换了新手机，照片怎么搬过去？", "如何把旧手机的数据迁移到 NovaPhone？"),  # no product named: general
])
def test_paraphrases_agree(a: str, b: str) -> None:
    assert agree(key_terms(a), key_terms(b))


@pytest.mark.parametrize(("a", "b"), [
    ("耳机充不进电，闪红灯", "耳机怎么充电"),         # negation on one side
    ("快递三天了还没到，怎么办？", "配送失败怎么办？"),
    ("借1万可以吗", "借1千可以吗"),                   # another number
    ("借钱要等多久", "借5000要等多久"),               # the stored question's number is a condition
    ("NovaBook 能加内存吗", "NovaPhone 能加内存吗"),  # another product
    ("How do I reset the X1?", "How do I reset the X2?"),
    ("Can I return it after 30 days?", "Can I return it after 7 days?"),
])
def test_look_alikes_differ(a: str, b: str) -> None:
    assert not agree(key_terms(a), key_terms(b))


class TableEmbedder:
    """Query vectors from a table: texts in the same group are near-identical."""

    model_id, dim = "table", 3

    def __init__(self, groups: dict[str, list[float]]) -> None:
        self.groups = groups

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.groups[t] for t in texts]


def faq(article: str, question: str, *alts: str) -> RetrievedChunk:
    c = Chunk(id=article, tenant="t", article_id=article, revision=1, chunk_index=0, text=question,
              kind=BlockKind.FAQ, question=question, alt_questions=list(alts), answer="ok")
    return RetrievedChunk(chunk=c, score=1.0)


async def test_matcher_needs_score_key_terms_and_margin() -> None:
    emb = TableEmbedder({"退款多久到账？": [1, 0, 0], "退款几天到账": [0.99, 0.141, 0], "退款没到账怎么办": [0.98, 0.199, 0],
                         "退款要多久": [0.995, 0.0999, 0], "far": [0, 1, 0]})
    m = CuratedMatcher(emb, min_score=0.92)  # type: ignore[arg-type]
    assert await m.match("退款多久到账？", [faq("a", "退款几天到账")]) is not None
    # close in meaning, but negated on one side only
    d = await m.decide("退款多久到账？", ["退款没到账怎么办"])
    assert (d.accepted, d.reason) == (False, "key_terms")
    assert (await m.decide("退款多久到账？", ["far"])).reason == "score"
    # an alternative phrasing counts
    assert await m.match("退款多久到账？", [faq("a", "far", "退款几天到账")]) is not None
    # a rival FAQ entry about as close: no verbatim answer with a margin test
    strict = CuratedMatcher(emb, min_score=0.92, min_margin=0.01)  # type: ignore[arg-type]
    hits = [faq("a", "退款几天到账"), faq("b", "退款要多久")]
    assert await strict.match("退款多久到账？", hits) is None
    assert await m.match("退款多久到账？", hits) is not None
    # only FAQ entries with an answer are curated
    plain = faq("a", "退款几天到账")
    plain.chunk.kind = BlockKind.TEXT
    assert await m.match("退款多久到账？", [plain]) is None
