"""The agent sidebar widget in a real Chromium against the real app."""

from __future__ import annotations

import pytest

from assist.db import FeedbackRepository
from tests.browser.conftest import SCREENSHOTS, LiveApp

pytestmark = pytest.mark.browser

ESCALATING = ("客户：你们的 NovaPhone 15 充电时电池冒烟了，差点起火！我要投诉，还要找媒体曝光！\n"
              "坐席：非常抱歉，请问您现在安全吗？\n"
              "客户：我很生气，已经第三次联系你们了，马上给我解决！")


def _widget(page, app: LiveApp, *, lang: str | None = None):
    frag = f"key={app.agent_key}" + (f"&lang={lang}" if lang else "")
    page.goto(f"{app.url}/widget/#{frag}")
    return page


def _wait_done(scope) -> str:
    scope.locator("#status[data-status]").wait_for()
    scope.locator("#draft[aria-busy='false']").wait_for()
    return scope.locator("#status").get_attribute("data-status")


def test_agent_flow_from_host_page(live_app: LiveApp, page_factory, llm_mode) -> None:
    page = page_factory()
    page.goto(f"{live_app.url}/widget/demo.html#key={live_app.agent_key}&lang=zh")
    frame = page.frame_locator("iframe.assist-widget-frame")
    frame.locator("h1").wait_for()
    # The key is read from the fragment and then removed from the address bar.
    assert live_app.agent_key not in page.frames[1].url
    assert live_app.agent_key not in page.url

    # Every text node ever put into the draft box, the streamed deltas included.
    widget = page.frames[1]
    widget.evaluate("""() => { window.draftTexts = [];
        new MutationObserver(rs => rs.forEach(r => r.addedNodes.forEach(n => window.draftTexts.push(n.textContent))))
          .observe(document.getElementById("draft"), {childList: true, subtree: true}); }""")
    page.click("#send-conv")  # the host posts {type: "assist:conversation", ...}
    # Text streams into the reserved box before the final event arrives.
    frame.locator("#draft").filter(has_text="您好").wait_for()
    status = _wait_done(frame)
    assert status == "drafted"
    draft = frame.locator("#draft")
    # PII is restored for display only: the model saw a placeholder, the agent sees the number.
    assert "13812345678" in draft.inner_text()
    assert "[PHONE_" not in draft.inner_text()
    # ...while it streams too: the deltas show display_text, never the placeholder.
    streamed = widget.evaluate("() => window.draftTexts")
    assert any("13812345678" in t for t in streamed) and not any("[PHONE_" in t for t in streamed), streamed
    assert frame.locator("#draft .cite").count() >= 2
    # QA findings are shown before inserting.
    frame.locator("#qa-result.passed, #qa-result.failed").wait_for()

    # A citation opens the source article at the cited section.
    frame.locator("#draft .cite").first.click()
    panel = frame.locator("#panel")
    panel.wait_for()
    frame.locator("#panel-body .hl").first.wait_for()
    assert frame.locator("#panel-title").inner_text().strip()
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")

    # Edit, then insert: the host receives the edited text.
    frame.locator("#act-edit").click()
    edit = frame.locator("#draft-edit")
    edit.fill(edit.input_value() + " 祝您生活愉快！")
    frame.locator("#act-insert").click()
    page.wait_for_function("() => window.lastInsert !== undefined")
    inserted = page.evaluate("() => window.lastInsert")
    assert inserted["text"].endswith("祝您生活愉快！")
    assert page.input_value("#reply") == inserted["text"]
    frame.locator("#toast").filter(has_text="已插入").wait_for()

    draft_id = inserted["draft_id"]
    rows = _poll(lambda: FeedbackRepository(live_app.db).list("nova", suggestion_id=draft_id))
    assert [r.outcome for r in rows] == ["edited"]
    assert rows[0].final_text.endswith("祝您生活愉快！")
    assert "13812345678" not in rows[0].final_text  # stored texts are masked
    assert rows[0].actor == "agent-li"
    # One feedback per suggestion: the actions are now disabled.
    assert frame.locator("#act-insert").is_disabled()
    assert not page.errors, page.errors


def _poll(fn, tries: int = 50):
    import time

    for _ in range(tries):
        out = fn()
        if out:
            return out
        time.sleep(0.1)
    return fn()


def test_escalation_banner_and_reject(live_app: LiveApp, page_factory, llm_mode) -> None:
    page = _widget(page_factory(width=420), live_app, lang="zh")
    page.locator("#paste summary").click()
    page.fill("#paste-text", ESCALATING)
    page.click("#paste-go")
    _wait_done(page)
    banner = page.locator("#escalation")
    banner.wait_for()
    assert page.locator("#esc-title").inner_text().startswith("升级至")
    # The widget stamps the live conversation with the current time, so the deadline is set.
    assert page.locator("#esc-deadline").get_attribute("datetime")
    page.locator("#esc-countdown").filter(has_text=":").wait_for()
    assert "剩余" in page.locator("#esc-countdown").inner_text()
    assert page.locator("#esc-reasons li").count() >= 1
    if page.locator("#status").get_attribute("data-status") in ("drafted", "curated"):
        page.click("#act-reject")
        page.fill("#reject-reason", "语气不够安抚")
        page.click("#reject-form button[type=submit]")
        page.locator("#toast").filter(has_text="已拒绝").wait_for()
        draft_id = page.evaluate("() => window.__assistWidget.draft.id")
        rows = _poll(lambda: FeedbackRepository(live_app.db).list("nova", suggestion_id=draft_id))
        assert rows and rows[0].outcome == "rejected" and rows[0].reason == "语气不够安抚"
    assert not page.errors, page.errors


def test_model_down_shows_sources(live_app: LiveApp, page_factory, llm_mode) -> None:
    llm_mode["down"] = True
    page = _widget(page_factory(width=420), live_app, lang="en")
    page.locator("#paste summary").click()
    page.fill("#paste-text", "customer: My NovaBook order is delayed by 4 days, do I get any compensation?")
    page.click("#paste-go")
    assert _wait_done(page) == "no_draft"
    assert page.locator("#status").inner_text() == "Model unavailable"
    assert "model server is unavailable" in page.locator("#hint").inner_text()
    assert page.locator("#sources li button").count() >= 1  # the agent still gets the evidence
    assert page.locator("#act-insert").is_disabled()
    # A source can still be opened.
    page.locator("#sources li button").first.click()
    page.locator("#panel-body p").first.wait_for()


def test_360px_layout_and_no_jump(live_app: LiveApp, page_factory, llm_mode) -> None:
    page = _widget(page_factory(width=360, height=780), live_app, lang="zh")
    page.locator("#paste summary").click()
    page.fill("#paste-text", "客户：我的订单 NV20250312001 已经延迟三天了还没发货，到底怎么回事？\n"
                             "坐席：您好，非常抱歉给您带来不便，我马上为您查询。\n"
                             "客户：物流延迟有补偿吗？我的手机号是 13812345678，请尽快回复我。")
    page.click("#paste-go")
    page.locator("#draft").filter(has_text="您好").wait_for()
    y_streaming = page.locator("#act-insert").bounding_box()["y"]
    _wait_done(page)
    y_done = page.locator("#act-insert").bounding_box()["y"]
    assert y_done == y_streaming  # space is reserved: no layout jump when the draft completes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    for sel in ("#act-insert", "#act-copy", "#act-edit", "#act-reject", "#lang"):
        box = page.locator(sel).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, sel


def test_language_toggle_and_keyboard(live_app: LiveApp, page_factory) -> None:
    page = page_factory(width=420, locale="en-US")
    page.goto(f"{live_app.url}/widget/#key={live_app.agent_key}")
    assert page.locator("h1").inner_text() == "Reply assistant"  # default from navigator.language
    assert page.locator("#act-insert").inner_text() == "Insert"
    page.locator("#lang").focus()
    page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "回复助手"
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    assert page.locator("#lang").get_attribute("aria-label") == "Switch to English"
    page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Reply assistant"
    # Keyboard: tab from the toggle reaches the paste box summary.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshot_widget(live_app: LiveApp, page_factory, llm_mode, lang: str) -> None:
    page = page_factory(width=1200, height=860, locale="zh-CN" if lang == "zh" else "en-US")
    page.goto(f"{live_app.url}/widget/demo.html#key={live_app.agent_key}&lang={lang}")
    frame = page.frame_locator("iframe.assist-widget-frame")
    frame.locator("h1").wait_for()
    page.click("#send-conv")
    _wait_done(frame)
    frame.locator("#qa-result.passed, #qa-result.failed").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"widget-{lang}.png"))
