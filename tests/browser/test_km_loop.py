"""The knowledge loop in /km, in a real Chromium against the real app: a publication the
publish gate blocks shows the failing golden items and is published with an override reason
(kept in the history); not-covered questions become suggested draft articles."""

from __future__ import annotations

import json
import urllib.request

import pytest

from assist.db import ArticleRepository, GapRepository
from tests.browser.conftest import LiveApp

pytestmark = pytest.mark.browser

ARTICLE_ID = "kbloop-giftwrap-zh"
BODY = "# 礼品包装\n\n礼品包装服务费 {fee} 元，下单时勾选即可，包装后 2 个工作日内发货。\n"


def _call(app: LiveApp, method: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(f"{app.url}{path}", data=json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {app.km_key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def _km(page, app: LiveApp, lang: str = "zh"):
    page.goto(f"{app.url}/km/#key={app.km_key}&lang={lang}")
    page.locator("#articles tbody tr[data-id]").first.wait_for()
    return page


def test_km_publish_gate_blocks_then_override_and_suggested_articles(live_app: LiveApp, page_factory) -> None:
    _call(live_app, "POST", "/v1/articles", {"id": ARTICLE_ID, "title": "礼品包装", "language": "zh", "type": "faq",
                                            "body": BODY.format(fee=8), "publish": True})
    item = _call(live_app, "POST", "/v1/kb/golden", {"question": "礼品包装要收费吗？多少钱？", "article_id": ARTICLE_ID,
                                                    "reference": "礼品包装服务费 8 元。"})
    _call(live_app, "PUT", f"/v1/articles/{ARTICLE_ID}", {"body": BODY.format(fee=15)})  # a draft revision

    page = _km(page_factory(), live_app)
    page.fill("#filter", ARTICLE_ID)
    page.click(f"[data-open='{ARTICLE_ID}']")
    page.locator("#d-title").wait_for()
    page.click("[data-action=publish]")
    gate = page.locator("#gate")
    gate.wait_for(state="visible")
    assert f"#{item['id']}" in gate.inner_text() and "礼品包装要收费吗" in gate.inner_text()
    assert "8" in gate.inner_text()
    assert ArticleRepository(live_app.db).get_article("nova", ARTICLE_ID).live_revision == 1

    page.click("#gate-override")  # no reason: refused in the page
    assert ArticleRepository(live_app.db).get_article("nova", ARTICLE_ID).live_revision == 1
    page.fill("#gate-reason", "价格已于本月调整")
    page.click("#gate-override")
    page.locator("#events tbody", has_text="价格已于本月调整").wait_for()
    assert gate.is_hidden()
    assert ArticleRepository(live_app.db).get_article("nova", ARTICLE_ID).live_revision == 2

    # Freshness: past its review date, it is listed in the review tab.
    _call(live_app, "PUT", f"/v1/articles/{ARTICLE_ID}", {"review_by": "2026-01-02", "publish": True})
    page.click("#tab-review")
    page.locator(f"#stale tbody tr[data-stale='{ARTICLE_ID}']").wait_for()

    gaps = GapRepository(live_app.db)
    for q in ("学生买电脑有优惠吗？", "有没有学生折扣", "学生优惠怎么申请？", "大学生购机有什么优惠活动"):
        gaps.add("nova", q, language="zh")
    page.click("#tab-gaps")
    page.click("#sg-run")
    row = page.locator("#suggested tbody tr[data-suggested]", has_text="学生")
    row.wait_for(timeout=120_000)
    assert "学生优惠怎么申请" in row.inner_text()
    aid = row.get_attribute("data-suggested")
    art = ArticleRepository(live_app.db).get_article("nova", aid)
    assert art.live_revision is None and "suggested" in art.tags
    assert page.errors == []
