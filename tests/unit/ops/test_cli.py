"""``assist ops`` through typer's runner: import --json, a second import changes nothing,
a file of bad rows exits 1 with the reasons, report --format json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

from .conftest import TENANTS, conv

pytestmark = [pytest.mark.fast, pytest.mark.unit]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASSIST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSIST_TENANTS_DIR", str(TENANTS))
    monkeypatch.delenv("ASSIST_DATABASE_URL", raising=False)
    monkeypatch.delenv("ASSIST_OPS__WEBHOOK_URL", raising=False)
    return tmp_path


def test_import_report_and_idempotency(env: Path) -> None:
    path = env / "c.jsonl"
    path.write_text("\n".join(json.dumps(conv(f"c{i}", greet=i % 2 == 0), ensure_ascii=False) for i in range(6))
                    + "\n{broken\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["ops", "import", str(path), "--tenant", "nova", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["stored"], out["rejected"]) == (6, 1) and out["errors"][0]["line"] == 7
    again = json.loads(runner.invoke(app, ["ops", "import", str(path), "--tenant", "nova", "--json"]).stdout)
    assert (again["stored"], again["unchanged"]) == (0, 6)
    rep = runner.invoke(app, ["ops", "report", "--tenant", "nova", "--format", "json", "--no-topics"])
    assert rep.exit_code == 0, rep.output
    data = json.loads(rep.stdout)
    assert data["month"] == "2026-11" and data["conversations"] == 6
    assert {"tenant", "month", "conversations", "kpis", "red_line_events", "topics", "agents", "gaps"} <= set(data)
    html = runner.invoke(app, ["ops", "report", "--tenant", "nova", "--no-topics", "-o", str(env / "r.html")])
    assert html.exit_code == 0 and (env / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")


def test_all_rows_bad_exits_1(env: Path) -> None:
    path = env / "bad.jsonl"
    path.write_text('{"id": "x"}\n', encoding="utf-8")
    r = CliRunner().invoke(app, ["ops", "import", str(path), "--tenant", "nova"])
    assert r.exit_code == 1 and "line 1" in r.output
    missing = CliRunner().invoke(app, ["ops", "import", str(env / "nope.jsonl"), "--tenant", "nova"])
    assert missing.exit_code == 2 and "no such file" in missing.output
