"""The supervisors' page /ops in a real Chromium against the real app, with the nova sample
month imported: the red-line event of the complaint spike, the KPIs, the agent who skips the
greeting and his findings in a conversation, and the topics (real embedder)."""

from __future__ import annotations

from typing import Any

import pytest

from assist.db import KeyRepository
from assist.ops.importer import read_file
from tests.browser.conftest import SCREENSHOTS, LiveApp
from tests.conftest import REPO

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def supervisor_key(live_app: LiveApp) -> str:
    from serving.routes.ops import OpsService, get_ops  # noqa: F401 - the app's own service

    class _Req:
        app = live_app.app

    ops = get_ops(_Req())  # type: ignore[arg-type]
    rep = ops.import_records("nova", read_file(REPO / "examples" / "ops" / "conversations.jsonl"))
    assert rep.rejected == 0
    key, _ = KeyRepository(live_app.db).create("supervisor-zhao", "supervisor", "nova")
    return key


def _open(page: Any, app: LiveApp, key: str, lang: str) -> Any:
    page.goto(f"{app.url}/ops/#key={key}&lang={lang}")
    page.locator("#redlines .card").first.wait_for()
    assert key not in page.url
    return page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_shows_the_spike_and_the_red_line(live_app: LiveApp, supervisor_key: str, page_factory,
                                                     lang: str) -> None:
    page = _open(page_factory(width=1360, height=1000), live_app, supervisor_key, lang)
    alerts = page.locator("#alerts tbody").inner_text()
    assert "day:2026-11-17" in alerts
    assert ("投诉率" if lang == "zh" else "Complaint rate") in alerts
    assert page.locator("#trend .bar.hot").count() == 3  # 17, 18, 19 November
    assert page.locator("#kpis .card[data-kpi='fcr']").count() == 1
    assert page.locator("#agents tbody tr").first.get_attribute("data-agent") == "A07"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"ops-{lang}.png"), full_page=True)
    assert page.errors == []


def test_conversation_findings_and_topics(live_app: LiveApp, supervisor_key: str, page_factory) -> None:
    page = _open(page_factory(width=1360, height=1000), live_app, supervisor_key, "en")
    page.click("#tab-conversations")
    page.select_option("#f-agent", "A07")
    page.select_option("#f-check", "greeting")
    page.wait_for_function("document.querySelector('#conv-count').textContent.length > 0")
    page.locator("#conversations tbody tr[data-id]").first.click()
    page.locator("#findings .finding").first.wait_for()
    assert page.locator("#findings .finding[data-check='greeting']").count() == 1
    assert "no greeting" in page.locator("#findings").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "ops-conversation-en.png"), full_page=True)
    # a conversation where an agent read back the customer's phone: the span is highlighted
    page.select_option("#f-agent", "")
    page.select_option("#f-check", "pii_exposure")
    page.wait_for_timeout(300)
    page.locator("#conversations tbody tr[data-id]").first.click()
    page.locator("#detail .turn mark").first.wait_for()
    assert page.locator("#detail .turn mark").first.inner_text().startswith("[PHONE_")
    page.click("#tab-topics")
    page.click("#load-topics")
    page.locator("#topics tbody tr").first.wait_for(timeout=300_000)
    assert page.locator("#topics .tag.bad").count() >= 1  # the battery topic rises in the week of 16 Nov
    page.screenshot(path=str(SCREENSHOTS / "ops-topics-en.png"), full_page=True)
    assert page.errors == []
