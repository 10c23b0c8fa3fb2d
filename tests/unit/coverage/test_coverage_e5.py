"""The publish-time coverage calibration on the real edge: e5-small, the embedded Qdrant
engine, SQLite; two small tenants (zh and en). Answerable questions are covered; the
questions of an article the tenant does not have are refused; the fit runs at publish and
again after an archive; a failing fit keeps the previous calibration."""

from __future__ import annotations

import pytest

from assist.calibration import CalibrationStore
from assist.coverage import CoverageCalibrator
from assist.types import ArticleMeta, ArticleType, Block, BlockKind, ParsedArticle, SearchFilter

ZH = {
    "refund": (
        "退款政策",
        [
            ("退款多久到账？", ("钱什么时候退回来？",), "退款审核通过后，款项在3-7个工作日内原路退回。"),
            ("退款需要什么条件？", (), "商品签收7天内、未使用且包装完好，可以申请无理由退款。"),
        ],
    ),
    "delivery": (
        "配送说明",
        [
            ("下单后多久发货？", ("什么时候发货",), "现货商品在付款后48小时内发货，预售商品以页面时间为准。"),
            ("快递到哪些地区？", (), "全国大陆地区均可配送，偏远地区可能延迟2-3天。"),
        ],
    ),
    "points": (
        "会员积分",
        [
            ("积分怎么获得？", ("怎么攒积分",), "每消费1元获得1积分，评价商品另得10积分。"),
            ("积分可以抵现吗？", (), "100积分可以抵扣1元，每笔订单最多抵扣订单金额的10%。"),
        ],
    ),
    "warranty": (
        "保修服务",
        [
            ("耳机保修多久？", ("耳机坏了能保修吗",), "耳机自签收之日起保修一年，人为损坏不在保修范围内。"),
            ("保修需要发票吗？", (), "保修时请提供电子发票或订单号，没有凭证按出厂日期计算。"),
        ],
    ),
}
EN = {
    "refund": (
        "Refund policy",
        [
            (
                "How long does a refund take?",
                ("When do I get my money back?",),
                "Once approved, refunds reach the original payment method within 3-7 business days.",
            ),
            (
                "Can I return an item without a reason?",
                (),
                "Unused items in their original packaging can be returned within 7 days of delivery.",
            ),
        ],
    ),
    "delivery": (
        "Delivery",
        [
            (
                "When will my order ship?",
                ("How soon do you dispatch orders?",),
                "In-stock items ship within 48 hours of payment; pre-orders ship on the date shown.",
            ),
            (
                "Do you deliver to remote areas?",
                (),
                "We deliver nationwide; remote areas may take 2-3 extra days.",
            ),
        ],
    ),
    "points": (
        "Loyalty points",
        [
            (
                "How do I earn points?",
                ("How can I collect points?",),
                "Every dollar spent earns one point, and each product review earns ten more.",
            ),
            ("Can I pay with points?", (), "100 points are worth one dollar, up to 10% of an order."),
        ],
    ),
    "warranty": (
        "Warranty",
        [
            (
                "How long is the earbuds warranty?",
                ("Are broken earbuds covered?",),
                "Earbuds are covered for one year from delivery; accidental damage is not covered.",
            ),
            (
                "Do I need a receipt for a warranty repair?",
                (),
                "Bring the e-invoice or the order number; without one, the production date counts.",
            ),
        ],
    ),
}
# Customer questions in their own words (not the FAQ phrasings).
ASK = {
    "zh": {
        "refund": "我申请的退款怎么还没到账",
        "delivery": "我昨天付的款，什么时候能发出来？",
        "points": "买东西送的积分能当钱用吗",
        "warranty": "耳机用了半年坏了，还在保修期吗",
    },
    "en": {
        "refund": "my refund still hasn't arrived, how many days does it usually take",
        "delivery": "I paid yesterday, when will you send my parcel",
        "points": "can I use my points to pay for part of an order",
        "warranty": "my earbuds broke after six months, is that still under warranty",
    },
}


def _articles(tenant: str, data: dict, language: str, skip: str | None = None) -> list[ParsedArticle]:
    out = []
    for aid, (title, faqs) in data.items():
        if aid == skip:
            continue
        blocks = [
            Block(
                kind=BlockKind.FAQ,
                text=f"{q}\n{a}",
                question=q,
                alt_questions=alts,
                answer=a,
                heading_path=(title,),
            )
            for q, alts, a in faqs
        ]
        meta = ArticleMeta(
            id=f"{aid}-{language}", tenant=tenant, type=ArticleType.FAQ, title=title, language=language
        )  # type: ignore[arg-type]
        out.append(ParsedArticle(meta=meta, blocks=blocks, content_hash=f"{tenant}-{aid}"))
    return out


@pytest.fixture
def calibrated(stack):
    settings, db, store, ix = stack
    cals = CalibrationStore(settings.home / "calibration")
    ix.coverage = CoverageCalibrator(
        settings=settings, db=db, store=store, embedder=ix.embedder, sparse=ix.sparse, calibrations=cals
    )
    return settings, db, store, ix, cals


async def _covered(stack, tenant: str, text: str, cals: CalibrationStore) -> tuple[bool, float | None]:
    from assist.retrieval import Retriever

    settings, _, store, ix = stack
    r = Retriever(
        embedder=ix.embedder, sparse=ix.sparse, store=store, settings=settings.retrieval, calibration=cals
    )
    res = await r.retrieve(text, SearchFilter(tenant=tenant))
    return res.covered, res.top_dense


@pytest.mark.parametrize(("language", "data"), [("zh", ZH), ("en", EN)])
async def test_answerable_covered_absent_article_refused(calibrated, language: str, data: dict) -> None:
    settings, db, store, ix, cals = calibrated
    tenant = f"cov-{language}"
    # The tenant has every article but the warranty one: its questions must be refused.
    await ix.ingest_articles(_articles(tenant, data, language, skip="warranty"), tenant=tenant, publish=True)
    assert await ix.settle(120)
    cal = cals.get(tenant)
    assert cal is not None and cal.min_dense_score is not None
    fit = cal.coverage_fit
    assert fit["articles"] == 3 and fit["probes"]["total"] >= 9
    assert fit["negatives"]["leave_one_article_out"] >= 9 and fit["negatives"]["reference"] >= 80
    assert fit["cross_lingual"]["status"].startswith("skipped")  # no chat model
    assert fit["embedder"] == ix.embedder.model_id and fit["revisions_digest"]
    assert 0.5 <= cal.min_dense_score <= 0.97
    stack4 = (settings, db, store, ix)
    for topic in ("refund", "delivery", "points"):
        ok, score = await _covered(stack4, tenant, ASK[language][topic], cals)
        assert ok, (topic, score, cal.min_dense_score)
    ok, score = await _covered(stack4, tenant, ASK[language]["warranty"], cals)
    assert not ok, (score, cal.min_dense_score, fit["distributions"])
    for q in ("今天北京的天气怎么样？", "How do volcanoes form?"):
        assert not (await _covered(stack4, tenant, q, cals))[0]


async def test_refit_after_archive_and_failure_keeps_previous(calibrated, monkeypatch) -> None:
    settings, db, store, ix, cals = calibrated
    tenant = "cov-zh2"
    await ix.ingest_articles(_articles(tenant, ZH, "zh"), tenant=tenant, publish=True)
    assert await ix.settle(120)
    first = cals.get(tenant)
    assert first is not None and first.coverage_fit["articles"] == 4
    await ix.archive(tenant, "warranty-zh")
    assert await ix.settle(120)
    second = cals.get(tenant)
    assert second is not None and second.coverage_fit["articles"] == 3

    async def broken(*a, **k):
        raise RuntimeError("embedder down")

    monkeypatch.setattr(ix.coverage, "_score_probes", broken)
    await ix.archive(tenant, "points-zh")  # the publish-side call must not raise
    assert await ix.settle(120)
    assert cals.get(tenant).coverage_fit["articles"] == 3  # the previous fit stays
