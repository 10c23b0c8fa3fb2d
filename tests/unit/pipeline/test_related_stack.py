"""Related content on a real stack (e5, the Qdrant engine, SQLite, a scripted model): what a
draft suggests beside its citations, across tenants, dates and unrelated questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.events import DoneEvent, RelatedEvent
from assist.llm.fake import FakeChatModel
from assist.types import Conversation, Turn
from tests.unit.pipeline.conftest import make_pipeline, write

pytestmark = pytest.mark.slow

FAQ = """question,alternatives,answer,product,category,tags
退款多久到账？,退款什么时候到|钱多久能退回来,审核通过后退款会在3-7个工作日内原路退回。,,refund_return,refund
退款超过7个工作日还没到账怎么办？,退款一直没到账|退款迟迟不到,请先查看支付账户的退款记录；仍未到账请联系客服，我们会向支付机构查询。,,refund_return,refund
订单可以取消吗？,怎么取消订单|不想要了能取消吗,未发货的订单可在 App 中直接取消，款项3-7个工作日原路退回。,,order_inquiry,cancel
耳机无法充电怎么办？,耳机充不进电,请清洁充电触点并使用原装线重新充电30分钟；仍无法充电请申请保修。,earbuds,repair_warranty,charging
"""

OLD_POLICY = """---
id: policy-refund-old
type: policy
title: 退款政策（旧版）
language: zh
status: published
effective_from: 2019-01-01
valid_until: 2020-01-01
---
# 退款到账时间

退款审核通过后会在15个工作日内退回。EXPIRED-MARKER
"""

FUTURE_POLICY = """---
id: policy-refund-future
type: policy
title: 退款政策（新版）
language: zh
status: published
effective_from: 2099-01-01
---
# 退款到账时间

退款审核通过后会在1个工作日内到账。FUTURE-MARKER
"""

SOP = """---
id: sop-refund-zh
type: sop
title: 退款处理流程
language: zh
status: published
---
# 退款处理流程

坐席核对订单号后在订单系统提交退款，告知客户退款3-7个工作日到账。
"""

OTHER_TENANT_FAQ = """question,alternatives,answer,product,category,tags
退款多久到账？,退款什么时候到,退款会在2天内退回到钱包。U-ONLY-MARKER,,refund_return,refund
退款到账了但金额不对怎么办？,退款金额不对,请提供退款记录截图，我们会核对差额。U-ONLY-MARKER,,refund_return,refund
"""


@pytest.fixture
async def kb(stack, tmp_path: Path):
    *_, ix = stack
    write(tmp_path / "t" / "faq.csv", FAQ)
    write(tmp_path / "t" / "old.md", OLD_POLICY)
    write(tmp_path / "t" / "future.md", FUTURE_POLICY)
    write(tmp_path / "t" / "sop.md", SOP)
    write(tmp_path / "u" / "faq.csv", OTHER_TENANT_FAQ)
    for tenant in ("t", "u"):
        report = await ix.ingest_paths([tmp_path / tenant], tenant=tenant, publish=True)
        assert not report.errors, report.errors
    return stack


def conv(*texts: str, tenant: str = "t") -> Conversation:
    return Conversation(tenant=tenant, turns=[Turn(role="customer", text=t) for t in texts])


def pipeline(kb):
    pipe = make_pipeline(
        kb, FakeChatModel(reply_fn=lambda messages, settings: "退款会在3-7个工作日内原路退回[1]。")
    )
    pipe.settings.retrieval.min_dense_score = (
        0.88  # the coverage threshold the floor uses, fixed for the test
    )
    return pipe


async def test_related_content_beside_a_draft_is_not_its_citations(kb) -> None:
    pipe = pipeline(kb)
    d = await pipe.draft(conv("我想取消订单", "退款多久到账？"))
    assert d.status in ("drafted", "curated") and d.citations
    cited = {c.article_id for c in d.citations}
    assert d.related, "the other refund and cancel FAQ entries are related"
    assert not cited & {r.article_id for r in d.related}
    assert len({r.article_id for r in d.related}) == len(d.related) <= pipe.settings.draft.related_max
    texts = " ".join(f"{r.title} {r.question} {r.snippet}" for r in d.related)
    assert "EXPIRED-MARKER" not in texts and "FUTURE-MARKER" not in texts  # out of date: never sent
    assert "U-ONLY-MARKER" not in texts  # another tenant's
    assert all(
        r.kind == "faq" or r.article_id != "sop-refund-zh" for r in d.related
    )  # internal SOPs are not sent
    assert {r.article_id for r in d.related} <= {a for a in _live_ids(kb, "t")}
    r = d.related[0]
    assert r.reference == f"{r.article_id}@{r.revision}" and r.snippet and r.matched and 0 < r.score <= 1
    assert r.url is None  # this tenant's profile has no article_url


def _live_ids(kb, tenant: str) -> set[str]:
    from assist.db import ArticleRepository

    _, db, *_ = kb
    return {a.id for a in ArticleRepository(db).list_articles(tenant) if a.live_revision}


async def test_a_second_tenant_never_sees_the_first_tenants_articles(kb) -> None:
    pipe = pipeline(kb)
    d = await pipe.draft(conv("退款多久到账？", tenant="u"))
    assert d.related, "u's other refund entry is related"
    assert all(r.article_id in _live_ids(kb, "u") for r in d.related)
    assert all("U-ONLY-MARKER" in r.snippet for r in d.related)
    d = await pipe.draft(conv("我想取消订单，退款多久到账？"))
    assert all("U-ONLY-MARKER" not in r.snippet for r in d.related)
    assert all(r.article_id in _live_ids(kb, "t") for r in d.related)


async def test_nothing_related_means_no_suggestions(kb) -> None:
    pipe = pipeline(kb)
    d = await pipe.draft(conv("火星上能用贝壳付款吗？"))
    assert d.related == []


async def test_the_related_event_comes_before_done_and_matches_it(kb) -> None:
    pipe = pipeline(kb)
    events = [e async for e in pipe.draft_events(conv("我想取消订单", "退款多久到账？"))]
    (i,) = [n for n, e in enumerate(events) if isinstance(e, RelatedEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent) and i == len(events) - 2
    assert events[i].related == done.draft.related and events[i].draft_id == done.draft.id
    # Off: no event, no suggestions, no extra search.
    pipe.settings.draft.related_max = 0
    events = [e async for e in pipe.draft_events(conv("退款多久到账？"))]
    assert not any(isinstance(e, RelatedEvent) for e in events) and events[-1].draft.related == []


async def test_the_whole_customer_side_counts_not_only_the_last_question(kb) -> None:
    pipe = pipeline(kb)
    pipe.settings.retrieval.history_turns = 1  # the draft's search reads the last turn only
    d = await pipe.draft(conv("耳机无法充电", "好的，另外退款多久到账？"))
    related = {r.question for r in d.related}
    assert "耳机无法充电怎么办？" in related, related  # raised earlier in the conversation
    pipe.settings.draft.related_search = False  # the draft's own results only: the earlier question is lost
    d = await pipe.draft(conv("耳机无法充电", "好的，另外退款多久到账？"))
    assert "耳机无法充电怎么办？" not in {r.question for r in d.related}
