"""The knowledge managers' pages in a real Chromium against the real app."""

from __future__ import annotations

import json
import urllib.request
from datetime import date, timedelta

import pytest

from assist.db import ArticleRepository, GapRepository
from tests.browser.conftest import SCREENSHOTS, LiveApp

pytestmark = pytest.mark.browser

ARTICLE_ID = "kbtest-zephyr-care-en"


def _md(version: str) -> bytes:
    return (f"---\nid: {ARTICLE_ID}\ntitle: Zephyr Care plan\ntype: policy\nlanguage: en\n---\n\n"
            f"# Zephyr Care plan\n\n## Coverage\n\nThe Zephyr Care plan covers accidental damage for "
            f"{version}. Customers buy it within 30 days of purchase.\n\n## Claims\n\n"
            f"Claims are filed in the Nova app under Orders, then Zephyr Care.\n").encode()


def _search(app: LiveApp, query: str) -> list[dict]:
    req = urllib.request.Request(f"{app.url}/v1/search", data=json.dumps({"query": query, "top_k": 5}).encode(),
                                 headers={"Authorization": f"Bearer {app.agent_key}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["results"]


def _post(app: LiveApp, path: str, body: dict) -> dict:
    req = urllib.request.Request(f"{app.url}{path}", data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {app.km_key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def _km(page, app: LiveApp, lang: str = "en"):
    page.goto(f"{app.url}/km/#key={app.km_key}&lang={lang}")
    page.locator("#articles tbody tr[data-id]").first.wait_for()
    assert app.km_key not in page.url
    return page


def test_upload_preview_publish_search_rollback(live_app: LiveApp, page_factory) -> None:
    page = _km(page_factory(), live_app)
    page.click("#tab-upload")
    page.set_input_files("#u-files", files=[{"name": "zephyr-care.md", "mimeType": "text/markdown",
                                             "buffer": _md("two years")}])
    page.click("#u-preview")
    art = page.locator("#upload-preview .art")
    art.wait_for()
    assert "Zephyr Care plan" in art.inner_text()
    assert page.locator("#upload-preview .chunks tbody tr").count() >= 1
    assert "Coverage" in page.locator("#upload-preview .chunks").inner_text()
    # Preview stores nothing.
    assert ArticleRepository(live_app.db).get_article("nova", ARTICLE_ID) is None

    with page.expect_response("**/v1/articles/upload"):
        page.click("#u-publish")
    page.locator("#u-report").filter(has_text="Processed 1 files").wait_for()
    hits = _search(live_app, "Zephyr Care accidental damage plan")
    assert hits and hits[0]["article_id"] == ARTICLE_ID and hits[0]["revision"] == 1

    # A second revision, published, then rolled back to the first from the article page.
    page.set_input_files("#u-files", files=[{"name": "zephyr-care.md", "mimeType": "text/markdown",
                                             "buffer": _md("three years")}])
    with page.expect_response("**/v1/articles/upload"):
        page.click("#u-publish")
    page.locator("#u-report").filter(has_text="Processed 1 files").wait_for()
    assert ArticleRepository(live_app.db).get_article("nova", ARTICLE_ID).live_revision == 2

    page.click("#tab-articles")
    page.fill("#filter", "zephyr")
    page.click(f"[data-open='{ARTICLE_ID}']")
    page.locator("#d-title").filter(has_text="Zephyr Care plan").wait_for()
    assert page.locator("#revs tbody tr").count() == 2
    page.select_option("#diff-from", "1")
    page.select_option("#diff-to", "2")
    page.click("#diff-go")
    page.locator("#diff .add").filter(has_text="three years").wait_for()
    assert "two years" in page.locator("#diff .del").inner_text()

    page.select_option("#rb-rev", "1")
    page.click("#rb-go")
    page.locator("#events tbody").filter(has_text="rolled back").wait_for()
    assert ArticleRepository(live_app.db).get_article("nova", ARTICLE_ID).live_revision == 1
    events = page.locator("#events tbody").inner_text()
    assert "rolled back" in events and "km-wang" in events
    hits = _search(live_app, "Zephyr Care accidental damage plan")
    assert hits[0]["article_id"] == ARTICLE_ID and hits[0]["revision"] == 1
    assert not page.errors, page.errors


def test_write_preview_and_workflow(live_app: LiveApp, page_factory) -> None:
    page = _km(page_factory(), live_app, lang="zh")
    page.click("#tab-write")
    page.fill("#w-id", "kbtest-gift-wrap-zh")
    page.fill("#w-title", "礼品包装服务")
    page.select_option("#w-type", "faq")
    page.select_option("#w-lang", "zh")
    page.fill("#w-body", "## 是否提供礼品包装？\n\n下单时勾选礼品包装，每件收费 10 元。\n")
    page.click("#w-preview")
    page.locator("#write-preview .art").filter(has_text="礼品包装服务").wait_for()
    page.click("#w-save")
    page.locator("#toast").filter(has_text="kbtest-gift-wrap-zh").wait_for()
    a = ArticleRepository(live_app.db).get_article("nova", "kbtest-gift-wrap-zh")
    assert a is not None and a.live_revision is None

    page.click("#tab-articles")
    page.fill("#filter", "gift-wrap")
    page.click("[data-open='kbtest-gift-wrap-zh']")
    for action in ("submit", "approve", "publish"):
        page.click(f"[data-action='{action}']")
        page.locator("#events tbody tr").nth({"submit": 1, "approve": 2, "publish": 3}[action]).wait_for()
    page.locator("#d-status[data-status='published']").wait_for()
    events = page.locator("#events tbody").inner_text()
    for word in ("提交审核", "批准", "发布"):
        assert word in events
    assert ArticleRepository(live_app.db).get_article("nova", "kbtest-gift-wrap-zh").live_revision == 1


def test_gap_prefills_editor_and_review_lists(live_app: LiveApp, page_factory) -> None:
    GapRepository(live_app.db).add("nova", "Can I pay with cryptocurrency?", language="en")
    page = _km(page_factory(), live_app)
    page.click("#tab-gaps")
    row = page.locator("#gaps tbody tr").filter(has_text="cryptocurrency")
    row.wait_for()
    row.locator("button").click()
    assert page.locator("#view-write").is_visible()
    assert page.input_value("#w-title") == "Can I pay with cryptocurrency?"
    assert "cryptocurrency" in page.input_value("#w-body")
    assert page.input_value("#w-lang") == "en"
    soon, past = date.today() + timedelta(days=10), date.today() - timedelta(days=3)
    _post(live_app, "/v1/articles", {"id": "kbtest-expiring-en", "title": "Summer promo terms", "language": "en",
                                     "body": "The summer promotion ends soon.", "publish": True,
                                     "valid_until": soon.isoformat(), "review_by": past.isoformat()})
    page.click("#tab-review")
    page.locator("#expiring tbody").filter(has_text="Summer promo terms").wait_for()
    page.locator("#reviewdue tbody").filter(has_text="Summer promo terms").wait_for()
    assert soon.isoformat() in page.locator("#expiring tbody").inner_text()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshot_km(live_app: LiveApp, page_factory, lang: str) -> None:
    page = _km(page_factory(width=1280, height=860, locale="zh-CN" if lang == "zh" else "en-US"), live_app, lang)
    # The article the upload test revised and rolled back makes the richest picture.
    if page.locator(f"[data-open='{ARTICLE_ID}']").count():
        page.fill("#filter", "zephyr")
        page.click(f"[data-open='{ARTICLE_ID}']")
        page.locator("#revs tbody tr").nth(1).wait_for()
        page.select_option("#diff-from", "1")
        page.select_option("#diff-to", "2")
        page.click("#diff-go")
        page.locator("#diff .add").first.wait_for()
        page.fill("#filter", "")
    else:
        page.locator("#articles [data-open]").first.click()
    page.locator("#events tbody tr").first.wait_for()
    assert page.locator("h1").inner_text() == ("知识管理" if lang == "zh" else "Knowledge management")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"km-{lang}.png"))
