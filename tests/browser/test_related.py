"""The widget's related-articles list in a real Chromium against the real app: shown beside
the draft (never its citations), opened in the article panel, inserted into the reply as a
link or a short extract, in the tenant's wording in both languages; hidden when nothing is
related."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LiveApp
from tests.browser.test_widget import _wait_done, _widget

pytestmark = pytest.mark.browser

CANCEL = "客户：我的订单付款三天了还没发货\n坐席：您好，请提供订单号。\n客户：还没发货的话订单能取消吗？退款多久到账？"


def _ask(page, text: str) -> str:
    if page.locator("#paste").get_attribute("open") is None:
        page.locator("#paste summary").click()
    page.fill("#paste-text", text)
    page.click("#paste-go")
    return _wait_done(page)


def test_related_articles_are_listed_opened_and_inserted(live_app: LiveApp, page_factory, llm_mode) -> None:
    page = _widget(page_factory(width=420), live_app, lang="zh")
    _ask(page, CANCEL)
    card = page.locator("#related-card")
    card.wait_for()
    assert page.locator("#related-h").inner_text() == "相关文章"  # the tenant profile's wording
    items = page.locator("#related li")
    assert items.count() >= 1
    state = page.evaluate("() => window.__assistWidget")
    related, cited = state["related"], {c["article_id"] for c in state["draft"]["citations"]}
    assert related and not cited & {r["article_id"] for r in related}
    assert items.count() == len(related)

    # The item opens the article in the panel, like a citation.
    items.first.locator("button.open").click()
    page.locator("#panel-body p").first.wait_for()
    assert page.locator("#panel-meta").inner_text().startswith(related[0]["article_id"])
    page.keyboard.press("Escape")
    page.locator("#panel").wait_for(state="hidden")

    # Insert as a link (nova's profile has an article_url), then as a short extract.
    first = related[0]
    items.first.locator("[data-related-insert=link]").click()
    edit = page.locator("#draft-edit")
    edit.wait_for()
    assert first["url"] in edit.input_value()
    page.locator("#toast").filter(has_text="已加入回复").wait_for()
    items.first.locator("[data-related-insert=snippet]").click()
    text = edit.input_value()
    assert text.count(first["url"]) == 2 and first["snippet"] in text
    assert not page.locator("#act-insert").is_disabled()

    # The other language: the profile's English wording.
    page.click("#lang")
    assert page.locator("#related-h").inner_text() == "Related articles"
    assert items.first.locator("[data-related-insert=link]").inner_text() == "Insert link"
    assert items.first.locator("[data-related-insert=snippet]").inner_text() == "Insert snippet"
    assert not page.errors, page.errors


def test_nothing_related_hides_the_list(live_app: LiveApp, page_factory, llm_mode) -> None:
    page = _widget(page_factory(width=420), live_app, lang="zh")
    _ask(page, CANCEL)
    page.locator("#related-card").wait_for()
    _ask(page, "客户：火星上能用贝壳付款吗？")
    assert page.evaluate("() => window.__assistWidget.related") == []
    assert page.locator("#related-card").is_hidden()  # a new conversation clears the old list
    assert not page.errors, page.errors
