"""Import: formats, bad rows with line and reason, masking at rest, idempotency, retention."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from assist.db.ops import OpsMessage
from assist.ops.service import OpsService

from .conftest import conv

pytestmark = pytest.mark.fast


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def test_jsonl_bad_rows_reported_rest_stored(ops: OpsService, tmp_path: Path) -> None:
    bad_ts = conv("c3")
    bad_ts["turns"][0]["ts"] = "2026-11-03T09:00:00"  # no zone
    path = _jsonl(tmp_path / "c.jsonl", [conv("c1"), "{not json", conv("c2"), bad_ts, {"id": "c4"}, conv("c1")])
    rep = ops.import_file(path, "nova")
    assert (rep.received, rep.stored, rep.rejected) == (6, 2, 4)
    by_line = {e.line: e.reason for e in rep.errors}
    assert "not valid JSON" in by_line[2]
    assert "time zone" in by_line[4]
    assert "turns" in by_line[5] and "channel" in by_line[5]
    assert "duplicate id" in by_line[6]


def test_redelivery_changes_nothing_and_a_change_replaces(ops: OpsService, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [conv("c1"), conv("c2")])
    assert ops.import_file(path, "nova").stored == 2
    before = ops.conversation("nova", "c1")
    again = ops.import_file(path, "nova")
    assert (again.stored, again.updated, again.unchanged) == (0, 0, 2)
    assert ops.conversation("nova", "c1")["imported_at"] == before["imported_at"]
    changed = conv("c1", reopened=True)
    rep = ops.import_records("nova", [(1, changed, None)])
    assert (rep.stored, rep.updated) == (0, 1)
    assert ops.conversation("nova", "c1")["reopened"] == 1


def test_personal_data_masked_at_rest(ops: OpsService) -> None:
    c = conv("p1")
    c["turns"][0]["text"] = "我的手机13812345678，邮箱 li.lei@example.com"
    c["turns"][1]["text"] = "您好，您的手机是13812345678对吗？"
    ops.import_records("nova", [(1, c, None)])
    with ops.db.connection() as conn:
        texts = [r.text for r in conn.execute(select(OpsMessage.__table__.c.text))]
    assert not any("13812345678" in t or "li.lei@example.com" in t for t in texts)
    assert any("[PHONE_1]" in t for t in texts)
    got = ops.conversation("nova", "p1")
    pii = [f for f in got["findings"] if f["check"] == "pii_exposure"]
    assert pii and pii[0]["seq"] == 1
    text = got["turns"][1]["text"]
    assert text[pii[0]["span_start"]:pii[0]["span_end"]] == "[PHONE_1]"


def test_csv_import(ops: OpsService, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "channel", "queue", "agent", "customer", "role", "text", "ts", "outcome", "reopened",
                    "satisfaction"])
        w.writerow(["k1", "chat", "audio", "a1", "u1", "customer", "How do I pair?", "2026-11-03T09:00:00+00:00",
                    "resolved", "false", "4"])
        w.writerow(["k1", "", "", "", "", "agent", "Hello! Hold the button.", "2026-11-03T09:00:20+00:00", "", "",
                    ""])
        w.writerow(["k2", "chat", "audio", "a1", "u2", "customer", "hi", "2026-11-03T09:00:00+00:00", "resolved",
                    "maybe", ""])
    rep = ops.import_file(path, "nova")
    assert rep.stored == 1 and rep.rejected == 1 and rep.errors[0].line == 4
    got = ops.conversation("nova", "k1")
    assert got["satisfaction"] == 4 and got["messages"] == 2 and got["first_response_s"] == 20


def test_inspection_findings_and_facts(ops: OpsService) -> None:
    ops.import_records("nova", [(1, conv("g1", greet=False, first_wait_s=600), None),
                                (2, conv("g2", complaint=True), None)])
    g1 = ops.conversation("nova", "g1")
    checks = {f["check"] for f in g1["findings"]}
    assert {"greeting", "first_response"} <= checks
    assert g1["sla_met"] == 0 and g1["timeout"] == 1 and g1["qa_score"] < 100
    g2 = ops.conversation("nova", "g2")
    assert g2["complaint"] == 1 and g2["negative"] == 1 and g2["fcr"] == 0
    assert g2["predicted_satisfaction"] < g1["predicted_satisfaction"] or g2["satisfaction_reasons"]
    kp = ops.kpis("nova")[0]
    assert kp["conversations"] == 2 and kp["complaint_rate"] == 0.5


def test_repeat_contact_breaks_fcr(ops: OpsService) -> None:
    ops.import_records("nova", [(1, conv("r1", customer="same", day="2026-11-03"), None),
                                (2, conv("r2", customer="same", day="2026-11-05"), None)])
    assert ops.conversation("nova", "r1")["fcr"] == 0
    assert ops.conversation("nova", "r2")["fcr"] == 1


def test_retention_purge(ops: OpsService) -> None:
    ops.import_records("nova", [(1, conv("old", day="2024-01-03"), None), (2, conv("new"), None)])
    assert ops.purge("nova", now=datetime(2026, 11, 10, tzinfo=UTC)) == 1
    assert ops.conversations("nova")["total"] == 1
