"""Curated answers only for true paraphrases: is the customer's question the same question
as a published FAQ entry's (so that its approved answer can be returned verbatim)?

A close embedding is not enough: look-alike questions that differ in one number, one
negation or one product ("快递三天了还没到" against "配送失败怎么办"; "QQ里的微粒贷" against
"微信微粒贷") embed as closely as true paraphrases. The match needs three things:

1. **Meaning**: the best cosine between the question and the entry's phrasings (question
   and alternative questions, both embedded as queries: FAQ matching is symmetric) reaches
   ``min_score``.
2. **Key terms agree** (:func:`key_terms`): the same numbers, the same polarity (a negation
   on one side only is a different question) and the same product / model terms, in both
   directions.
3. **Margin**: the entry beats the best phrasing of any *other* FAQ entry among the
   retrieved results by ``min_margin`` (0 disables): two entries about equally close mean
   the question sits between them.

Measured on BQ's human-judged hard negatives with ``assist eval curated`` (docs/quality.md).

Example:
    >>> key_terms("耳机充不进电，闪红灯") == key_terms("耳机怎么充电")
    False
    >>> key_terms("能不能退货？") == key_terms("可以退货吗")
    True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from assist.config import RetrievalSettings
from assist.embedders.base import Embedder
from assist.types import RetrievedChunk

__all__ = ["CuratedDecision", "CuratedMatcher", "KeyTerms", "agree", "key_terms"]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# "A-not-A" questions ("能不能", "有没有", "可不可以") ask, they do not negate.
_A_NOT_A = re.compile(rf"([{_CJK}])[不没]\1")
# Words with a negation character that do not negate.
_ZH_NOT_NEGATION = (
    "非常", "别人", "别的", "无论", "不过", "不管", "未来", "不错", "不仅", "不但", "不论", "除非", "无线",
    "是否", "能否", "可否", "与否", "否则", "差不多", "不好意思", "没事", "没关系", "别急",
)
_ZH_NEGATION = re.compile(r"[不没无未别非勿莫]")
_EN_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nothing|nobody|neither|nor|cannot|without)\b|n't\b", re.IGNORECASE
)
_CN_NUM = "零〇一二两三四五六七八九十百千万"
# A Chinese numeral counts as a number when a measure word follows ("三天", "两个", "18号");
# "一下", "一直", "一样" are not numbers.
_MEASURE = "天日号月年周次个元块万千百小分秒笔张期岁台件份位倍%"
_ZH_NUMBER = re.compile(rf"(?<![{_CN_NUM}])[零〇一二两三四五六七八九十][{_CN_NUM}]*(?:(?=[{_MEASURE}])|(?<=[十百千万]))")
# "一" before a measure word is mostly an article ("一个问题", "多久换一次"), not a count.
_ARTICLE_ONE = {"1"}
_DIGITS = re.compile(r"(\d+(?:[.,]\d+)*)\s*([十百千万]?)")
_MULTIPLIER = {"": 1, "十": 10, "百": 100, "千": 1000, "万": 10_000}
_LATIN = re.compile(r"[a-z][a-z0-9+\-]*|[0-9]+[a-z][a-z0-9+\-]*")
_EN_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "twelve": "12", "twenty": "20", "thirty": "30",
}


def agree(customer: KeyTerms, stored: KeyTerms) -> bool:
    """Whether a customer's question can be answered by a stored question's answer.

    The polarity must be the same; every number of the stored question must be in the
    customer's (its numbers are conditions: "30 days"), while the customer may add details
    of their own ("NovaPhone 15 能插两张卡吗" against "能插两张卡吗"); product / model terms of
    the stored question must be named by the customer unless the customer names none (a
    question without a product asks about the tenant's products in general).
    """
    if customer.negated != stored.negated or not stored.numbers <= customer.numbers:
        return False
    return not (customer.entities and stored.entities and not stored.entities <= customer.entities)


@dataclass(frozen=True)
class KeyTerms:
    """What two phrasings of the same question must share."""

    numbers: frozenset[str]
    negated: bool
    entities: frozenset[str]


def _cn_value(numeral: str) -> str:
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    units = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
    total, current = 0, 0
    for ch in numeral:
        if ch in digits:
            current = digits[ch]
        else:
            unit = units[ch]
            total += (current or 1) * unit if unit < 10_000 else 0
            if unit == 10_000:
                total = (total + current) * unit
            current = 0
    return str(total + current)


def key_terms(text: str) -> KeyTerms:
    """The numbers, the polarity and the product / model terms of a question.

    Numbers: digits, English number words and Chinese numerals followed by a measure word,
    as values ("三天" and "3天" agree). Negation: a negating word outside "A-not-A"
    questions and fixed expressions ("非常", "是否"). Entities: in Chinese text every Latin
    word (QQ, APP, iPhone); in English text the words that contain a digit (X1, S10).
    """
    t = unicodedata.normalize("NFKC", text).lower()
    numbers = {f"{float(d.replace(',', '')) * _MULTIPLIER[m]:g}" for d, m in _DIGITS.findall(t)}
    numbers |= {v for v in (_cn_value(m) for m in _ZH_NUMBER.findall(t)) if not (v in _ARTICLE_ONE and len(v) == 1)}
    words = _LATIN.findall(t)
    # "one" is an article as often as a count ("for one order").
    numbers |= {_EN_NUMBER_WORDS[w] for w in words if w in _EN_NUMBER_WORDS and w != "one"}
    zh = _A_NOT_A.sub("", t)
    for w in _ZH_NOT_NEGATION:
        zh = zh.replace(w, "")
    negated = bool(_ZH_NEGATION.search(zh) or _EN_NEGATION.search(t))
    is_cjk = len(re.findall(rf"[{_CJK}]", t)) >= 2
    entities = {w for w in words if is_cjk or any(c.isdigit() for c in w)}
    entities -= numbers
    return KeyTerms(frozenset(numbers), negated, frozenset(entities))


@dataclass(frozen=True)
class CuratedDecision:
    """Why a question was (not) matched to a curated FAQ entry."""

    accepted: bool
    score: float
    margin: float | None
    reason: str
    """``match``, or the first test that failed: ``score``, ``key_terms``, ``margin``."""


@dataclass
class CuratedMatcher:
    """Decides whether a customer's question is a paraphrase of a published FAQ question.

    Args:
        embedder: The query embedder (both sides are embedded as queries).
        min_score: Cosine the best phrasing must reach.
        min_margin: How much the entry's best cosine must exceed that of the best other FAQ
            entry among the retrieved results (0: no margin test).
        check_key_terms: Require the same numbers, polarity and product terms.

    Example:
        >>> m = CuratedMatcher(embedder, min_score=0.92)                  # doctest: +SKIP
        >>> hit = await m.match("退款多久到账？", retrieval_result.chunks)
    """

    embedder: Embedder
    min_score: float = 0.92
    min_margin: float = 0.0
    check_key_terms: bool = True
    rivals: int = 2

    @classmethod
    def from_settings(cls, embedder: Embedder, settings: RetrievalSettings) -> CuratedMatcher:
        return cls(embedder, min_score=settings.curated_min_score, min_margin=settings.curated_min_margin,
                   check_key_terms=settings.curated_key_terms)

    async def match(self, query: str, chunks: Sequence[RetrievedChunk]) -> RetrievedChunk | None:
        """The first retrieved chunk when it is a curated FAQ entry this question paraphrases."""
        if not chunks:
            return None
        top = chunks[0]
        if not _is_curated(top):
            return None
        others = [c for c in chunks[1:] if _is_curated(c) and c.chunk.article_id != top.chunk.article_id]
        decision = await self.decide(query, _phrasings(top), [_phrasings(c) for c in others[: self.rivals]])
        return top if decision.accepted else None

    async def decide(self, query: str, phrasings: Sequence[str],
                     rivals: Sequence[Sequence[str]] = ()) -> CuratedDecision:
        """Match ``query`` against one entry's ``phrasings``; ``rivals`` are other entries'."""
        flat = [p for r in rivals for p in r] if self.min_margin > 0 else []
        vecs = await self.embedder.embed_queries([query, *phrasings, *flat])
        q = vecs[0]
        sims = [sum(a * b for a, b in zip(q, v, strict=True)) for v in vecs[1:]]
        return self.judge(query, phrasings, sims[: len(phrasings)], sims[len(phrasings):])

    def judge(self, query: str, phrasings: Sequence[str], own: Sequence[float],
              rival_sims: Sequence[float] = ()) -> CuratedDecision:
        """The decision from cosines already computed (``own``: one per phrasing)."""
        score = max(own)
        margin = score - max(rival_sims) if rival_sims else None
        if score < self.min_score:
            return CuratedDecision(False, score, margin, "score")
        if self.check_key_terms:
            # Any close phrasing whose key terms agree will do ("不想要了能取消吗" among the
            # alternatives of "订单可以取消吗？").
            asked = key_terms(query)
            close = [p for p, s in zip(phrasings, own, strict=True) if s >= self.min_score]
            if not any(agree(asked, key_terms(p)) for p in close):
                return CuratedDecision(False, score, margin, "key_terms")
        if margin is not None and margin < self.min_margin:
            return CuratedDecision(False, score, margin, "margin")
        return CuratedDecision(True, score, margin, "match")


def _is_curated(r: RetrievedChunk) -> bool:
    c = r.chunk
    return c.kind.value == "faq" and bool(c.answer) and bool(c.question)


def _phrasings(r: RetrievedChunk) -> list[str]:
    return [q for q in (r.chunk.question, *r.chunk.alt_questions) if q]
