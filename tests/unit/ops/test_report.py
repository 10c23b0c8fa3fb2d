"""The monthly report on the nova sample month: the spike, the red line, the agent who skips
the greeting and the knowledge gaps are in the JSON, the HTML and the PDF (topics are
tested in test_topics.py with a fake embedder)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assist.db import GapRepository
from assist.ops.importer import read_file
from assist.ops.report import build_report, render_html, render_pdf
from assist.ops.service import OpsService

from .conftest import ROOT

pytestmark = pytest.mark.fast
SAMPLE = ROOT / "examples" / "ops" / "conversations.jsonl"


@pytest.fixture
def report(ops: OpsService) -> dict:
    rep = ops.import_records("nova", read_file(SAMPLE))
    assert rep.rejected == 0 and rep.stored > 1000
    return asyncio.run(build_report(ops, "nova", gaps=GapRepository(ops.db)))


@pytest.mark.unit
def test_report_shows_spike_red_line_agent_and_gaps(report: dict, tmp_path: Path) -> None:
    assert {"tenant", "month", "conversations", "kpis", "red_line_events", "topics", "agents", "gaps"} <= set(report)
    assert report["month"] == "2026-11"
    events = {e["metric"]: e for e in report["red_line_events"]}
    assert events["complaint_rate"]["window"] == "day:2026-11-17"
    assert events["complaint_rate"]["recovered_in"] == "day:2026-11-20"
    spike = {r["day"]: r["complaint_rate"] for r in report["kpis"]["by_day"]}
    assert min(spike["2026-11-17"], spike["2026-11-18"], spike["2026-11-19"]) > 0.15 > spike["2026-11-20"]
    worst = report["agents"][0]
    assert worst["agent"] == "A07" and worst["top_findings"][0]["check"] == "greeting"
    assert any("Nova Watch" in g["question"] or "两台设备" in g["question"] for g in report["gaps"])
    html = render_html(report)
    for needle in ("day:2026-11-17", "A07", "greeting", "两台设备", "data:image/png;base64,"):
        assert needle in html
    pdf = render_pdf(report, tmp_path / "r.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
