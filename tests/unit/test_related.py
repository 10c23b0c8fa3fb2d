"""Related content's selection (assist/related.py), on hand-made retrieval results: which
candidates survive (not cited, one per article or FAQ entry, tenant, language, type, the
relevance floor) and what a suggestion says. The real-stack tests are in
tests/unit/pipeline/test_related_stack.py."""

from __future__ import annotations

from typing import Any

import pytest

from assist.config import DraftSettings, RetrievalSettings, SparseSettings
from assist.embedders.fake import FakeEmbedder
from assist.related import RelatedFinder, customer_side, matched_terms, snippet
from assist.retrieval import RetrievalResult, Retriever
from assist.sparse import SparseEncoder
from assist.types import ArticleType, BlockKind, Chunk, Citation, RetrievedChunk, Turn

pytestmark = pytest.mark.unit

TURNS = [
    Turn(role="customer", text="我的订单还没发货，能取消吗？"),
    Turn(role="agent", text="您好，请提供订单号。"),
    Turn(role="customer", text="NV2024010112345，取消后退款多久到账？"),
]


def hit(
    article: str,
    dense: float | None,
    *,
    tenant: str = "t",
    type: ArticleType = ArticleType.MANUAL,
    language: str = "zh",
    question: str | None = None,
    text: str = "正文",
    idx: int = 0,
    sparse: float | None = None,
    title: str | None = None,
    **kw: Any,
) -> RetrievedChunk:
    faq = question is not None
    chunk = Chunk(
        id=f"{article}-{idx}",
        tenant=tenant,
        article_id=article,
        revision=2,
        chunk_index=idx,
        text=text,
        title=title or article,
        type=ArticleType.FAQ if faq else type,
        kind=BlockKind.FAQ if faq else BlockKind.TEXT,
        language=language,  # type: ignore[arg-type]
        question=question,
        answer=text if faq else None,
        **kw,
    )
    return RetrievedChunk(chunk=chunk, score=dense or 0.0, dense_score=dense, sparse_score=sparse)


def cite(r: RetrievedChunk, number: int = 1) -> Citation:
    c = r.chunk
    return Citation(
        number=number,
        chunk_id=c.id,
        article_id=c.article_id,
        revision=c.revision,
        title=c.title,
        section="",
        snippet=c.text,
    )


def finder(**draft: Any) -> RelatedFinder:
    retriever = Retriever(
        embedder=FakeEmbedder(dim=8),
        sparse=SparseEncoder(SparseSettings(tokenizer="char-bigram")),
        store=None,  # type: ignore[arg-type]  # select() never searches
        settings=RetrievalSettings(min_dense_score=0.85, min_sparse_score=None),
    )
    return RelatedFinder(retriever, DraftSettings(**draft))


def select(
    f: RelatedFinder,
    chunks: list[RetrievedChunk],
    extra: list[RetrievedChunk] = (),  # type: ignore[assignment]
    citations: list[Citation] = (),
    **kw: Any,
):  # type: ignore[assignment]
    result = RetrievalResult(
        query="q",
        chunks=chunks,
        covered=True,
        top_dense=max((c.dense_score or 0 for c in chunks), default=None),
    )
    return f.select(
        tenant="t",
        language="zh",
        turns=TURNS,
        result=result,
        extra=list(extra),
        citations=list(citations),
        **kw,
    )


def test_cited_articles_are_never_suggested() -> None:
    manual = hit("manual-a", 0.93)
    other = hit("manual-b", 0.92)
    out = select(finder(), [manual, other], citations=[cite(manual)])
    assert [r.article_id for r in out] == ["manual-b"]


def test_a_cited_faq_entry_is_left_out_but_other_entries_of_its_article_may_come() -> None:
    cancel = hit("faq", 0.94, question="订单可以取消吗？", text="未发货的订单可在 App 中直接取消。", idx=1)
    refund = hit("faq", 0.92, question="退款多久到账？", text="退款3-7个工作日原路退回。", idx=2)
    out = select(finder(), [cancel], extra=[cancel, refund], citations=[cite(cancel)])
    assert [(r.article_id, r.question, r.kind) for r in out] == [("faq", "退款多久到账？", "faq")]


def test_one_entry_per_article_the_best_passage() -> None:
    a1, a2 = hit("manual-a", 0.91, idx=1), hit("manual-a", 0.93, idx=2)
    out = select(finder(), [a1], extra=[a2])
    assert [(r.article_id, r.chunk_id) for r in out] == [("manual-a", "manual-a-2")]


def test_the_relevance_floor_never_pads_with_unrelated_articles() -> None:
    f = finder(related_margin=0.03)
    best = hit("best", 0.95)
    close = hit("close", 0.93)
    far = hit("far", 0.91)  # above the coverage threshold, but far below the best match
    weak = hit("weak", 0.80)  # below the tenant's coverage threshold
    out = select(f, [best, close, far, weak], citations=[cite(best)])
    assert [r.article_id for r in out] == ["close"]
    # Nothing related: nothing suggested.
    assert select(f, [hit("x", 0.70), hit("y", 0.69)]) == []
    assert select(f, []) == []


def test_other_tenants_languages_and_internal_types_are_not_suggested() -> None:
    out = select(
        finder(),
        [
            hit("other-tenant", 0.95, tenant="acme"),
            hit("english", 0.95, language="en"),
            hit("sop", 0.95, type=ArticleType.SOP),
            hit("phrasebook", 0.95, type=ArticleType.PHRASEBOOK),
            hit("policy", 0.94, type=ArticleType.POLICY),
        ],
    )
    assert [r.article_id for r in out] == ["policy"]
    out = select(finder(related_types=["sop"]), [hit("sop", 0.95, type=ArticleType.SOP)])
    assert [r.article_id for r in out] == ["sop"]


def test_at_most_related_max_best_first() -> None:
    hits = [hit(f"a{i}", 0.95 - i * 0.005) for i in range(6)]
    out = select(finder(related_max=2), hits)
    assert [r.article_id for r in out] == ["a0", "a1"]
    assert not finder(related_max=0).enabled


def test_a_suggestion_carries_what_the_agent_needs() -> None:
    refund = hit(
        "faq",
        0.92,
        question="退款多久到账？",
        text="审核通过后退款会在3-7个工作日内原路退回。" * 5,
        title="常见问题",
        idx=3,
    )
    (r,) = select(
        finder(related_snippet_chars=40),
        [refund],
        link=lambda a, lang: f"https://help.example.com/{lang}/{a}",
    )
    assert (r.article_id, r.revision, r.title, r.kind, r.question) == (
        "faq",
        2,
        "常见问题",
        "faq",
        "退款多久到账？",
    )
    assert r.reference == "faq@2" and r.url == "https://help.example.com/zh/faq"
    assert r.score == 0.92 and len(r.snippet) <= 40 and r.snippet.endswith("。")
    assert r.matched and all(m in refund.chunk.question + refund.chunk.text for m in r.matched)
    assert any("退款" in m for m in r.matched) and any("到账" in m for m in r.matched)
    (plain,) = select(finder(), [hit("manual", 0.9)])
    assert plain.kind == "article" and plain.url is None and plain.question is None


def test_a_lexical_match_alone_reaches_the_coverage_threshold() -> None:
    retriever_settings = RetrievalSettings(min_dense_score=0.95, min_sparse_score=10.0)
    f = finder()
    f.retriever.settings = retriever_settings
    out = select(f, [hit("lexical", 0.91, sparse=12.0), hit("dense-only", 0.91, sparse=3.0)])
    assert [r.article_id for r in out] == ["lexical"]


def test_helpers() -> None:
    assert customer_side(TURNS, 6) == "我的订单还没发货，能取消吗？ | NV2024010112345，取消后退款多久到账？"
    assert customer_side(TURNS, 1) == "NV2024010112345，取消后退款多久到账？"
    assert snippet("# 标题\n\n第一句。第二句很长很长很长。", 8) == "第一句。"
    assert snippet("# 标题\n\n第一句。第二句很长很长很长。", 12) == "第一句。第二句很长很长…"
    assert snippet("short", 40) == "short"
    assert snippet("a" * 50, 10) == "a" * 9 + "…"
    tok = SparseEncoder(SparseSettings(tokenizer="char-bigram")).tokenize
    chunk = hit("x", 0.9, text="Refunds reach the card in 3-7 days.").chunk
    assert matched_terms(tok, "when will my refund reach my card? [PHONE_1]", chunk) == ["reach", "card"]
