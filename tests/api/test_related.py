"""Related content over real HTTP (the real e5 embedder, the Qdrant engine, the sample
knowledge base): the same suggestions in the JSON draft, the draft stream's ``related``
event and ``done``, and the OpenAI-compatible extension; never another tenant's articles."""

from __future__ import annotations

import pytest

from tests.api.conftest import TENANT_B, Service
from tests.api.test_streams import sse_events

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONVERSATION = [
    {"role": "customer", "text": "我的订单付款三天了还没发货"},
    {"role": "agent", "text": "您好，请提供订单号。"},
    {"role": "customer", "text": "订单号 NV2024010112345，还没发货的话能取消吗？"},
]


def test_a_draft_suggests_related_articles_that_it_does_not_cite(service: Service) -> None:
    with service.client() as c:
        d = c.post("/v1/assist/draft", json={"turns": CONVERSATION}).json()
    assert d["status"] in ("drafted", "curated"), d
    related = d["related"]
    assert related, d
    cited = {x["article_id"] for x in d["citations"]}
    assert not cited & {r["article_id"] for r in related}
    assert len(related) <= service.settings.draft.related_max
    assert len({r["article_id"] for r in related}) == len(related)
    for r in related:
        assert set(r) >= {
            "article_id",
            "revision",
            "title",
            "kind",
            "snippet",
            "reference",
            "url",
            "score",
            "matched",
        }
        assert r["reference"] == f"{r['article_id']}@{r['revision']}"
        assert r["kind"] in ("faq", "article") and r["snippet"] and 0 < r["score"] <= 1
        # nova's profile has an article_url template
        assert r["url"] == f"https://help.nova.example/zh/articles/{r['article_id']}"
    assert [r["score"] for r in related] == sorted((r["score"] for r in related), reverse=True)
    # The related articles are live articles of the tenant, readable where the reference points.
    with service.client() as c:
        for r in related:
            got = c.get(f"/v1/articles/{r['article_id']}/revisions/{r['revision']}")
            assert got.status_code == 200, got.text


def test_the_stream_sends_a_related_event_before_done_with_the_same_list(service: Service) -> None:
    with service.client() as c:
        plain = c.post("/v1/assist/draft", json={"turns": CONVERSATION}).json()
        with c.stream("POST", "/v1/assist/draft", json={"turns": CONVERSATION, "stream": True}) as s:
            events = sse_events(s.iter_lines())
    names = [n for n, _ in events]
    assert names[-2:] == ["related", "done"], names
    related, done = events[-2][1], events[-1][1]
    assert related["draft_id"] == done["id"]
    assert related["related"] == done["related"]
    key = [(r["article_id"], r["revision"]) for r in done["related"]]
    assert key == [(r["article_id"], r["revision"]) for r in plain["related"]]


def test_the_openai_compatible_answer_carries_related_in_its_extension(service: Service) -> None:
    body = {"model": "assist", "messages": [{"role": "user", "content": "还没发货的订单能取消吗？"}]}
    with service.client("bot") as c:
        out = c.post("/v1/chat/completions", json=body).json()
    assert isinstance(out["assist"]["related"], list)
    assert set(out) >= {"id", "object", "choices", "usage"}  # the OpenAI fields are untouched


def test_a_second_tenant_never_gets_the_first_tenants_articles(service: Service) -> None:
    turns = [{"role": "customer", "text": "How long do refunds take? Can I cancel my order?"}]
    with service.client(tenant=TENANT_B) as c:
        d = c.post("/v1/assist/draft", json={"turns": turns}).json()
    assert all(r["article_id"].startswith("acme-") for r in d["related"]), d["related"]
    with service.client() as c:
        d = c.post("/v1/assist/draft", json={"turns": turns}).json()
    assert all(not r["article_id"].startswith("acme-") and "ACME" not in r["snippet"] for r in d["related"])


def test_widget_strings_and_schema(service: Service) -> None:
    with service.client() as c:
        t = c.get("/v1/tenant").json()
        spec = c.get("/openapi.json").json()
    assert t["strings"]["zh"]["related_title"] == "相关文章"
    assert t["strings"]["en"]["related_title"] == "Related articles"
    assert t["strings"]["en"]["related_insert_link"] and t["strings"]["zh"]["related_insert_snippet"]
    props = spec["components"]["schemas"]["DraftPublic"]["properties"]
    assert "related" in props
    assert "event: related" in spec["paths"]["/v1/assist/draft"]["post"]["description"]
