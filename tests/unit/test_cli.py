"""The ``assist`` command line (cli/): every group mounted, commands that need no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

pytestmark = pytest.mark.fast

runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASSIST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSIST_MODELS_PATH", str(tmp_path / "no-models"))
    monkeypatch.setenv("ASSIST_LLM__PROVIDER", "fake")
    monkeypatch.setenv("ASSIST_EMBEDDER__MODEL", "fake")
    return tmp_path


@pytest.mark.parametrize("path", [
    ["ingest"], ["search"], ["draft"], ["escalate"], ["qa"], ["summarize"], ["serve"],
    ["kb", "list"], ["kb", "show"], ["kb", "publish"], ["kb", "archive"], ["kb", "rollback"],
    ["kb", "reindex"], ["kb", "stats"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"],
    ["models", "prepare"], ["models", "list"], ["models", "export-onnx"],
    ["eval", "golden"], ["eval", "retrieval"], ["eval", "gate"], ["eval", "history"],
])
def test_every_command_is_mounted(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output


def test_keys_round_trip() -> None:
    created = runner.invoke(app, ["keys", "create", "--name", "alice", "--role", "agent", "--tenant", "t1", "--json"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.output)
    assert key["key"] and key["role"] == "agent" and key["tenant"] == "t1"
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).output)
    assert [k["name"] for k in listed] == ["alice"] and "key" not in listed[0]
    revoked = runner.invoke(app, ["keys", "revoke", str(key["id"])])
    assert revoked.exit_code == 0 and "revoked" in revoked.output


def test_ingest_search_and_publish_on_fakes(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "refund.md").write_text(
        "---\nid: sop-refund-en\ntype: sop\ntitle: Refunds\nlanguage: en\n---\n# Refunds\n\n"
        "Refunds reach the original payment method within 3-7 business days.\n", encoding="utf-8")
    ingested = runner.invoke(app, ["ingest", str(kb), "--tenant", "t1", "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.output)["articles"] == 1
    published = runner.invoke(app, ["kb", "publish", "sop-refund-en", "--tenant", "t1"])
    assert published.exit_code == 0, published.output
    assert "published sop-refund-en@1" in published.output
    found = json.loads(runner.invoke(app, ["search", "refunds business days", "--tenant", "t1", "--json"]).output)
    assert found["results"][0]["article_id"] == "sop-refund-en"
    listed = runner.invoke(app, ["kb", "list", "--tenant", "t1"])
    assert "sop-refund-en" in listed.output


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    unknown = runner.invoke(app, ["kb", "publish", "nope", "--tenant", "t1"])
    assert unknown.exit_code == 2 and "no article 'nope'" in unknown.output
    bad_conv = tmp_path / "conv.json"
    bad_conv.write_text("not json", encoding="utf-8")
    result = runner.invoke(app, ["escalate", "--conversation", str(bad_conv), "--no-llm"])
    assert result.exit_code == 2 and "not a conversation JSON file" in result.output
