"""`assist kb reindex` end to end through the CLI: ingest with the float embedder, switch to
its int8 variant (a new, empty collection), rebuild it from the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import MODELS_DIR
from tests.unit.pipeline.conftest import FAQ_ZH, REFUND_EN, write

pytestmark = pytest.mark.slow


def test_reindex_after_switching_to_the_int8_embedder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSIST_MODELS_PATH", str(MODELS_DIR))
    monkeypatch.setenv("ASSIST_LLM__PROVIDER", "fake")
    write(tmp_path / "kb" / "refund.md", REFUND_EN)
    write(tmp_path / "kb" / "faq.csv", FAQ_ZH)
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(tmp_path / "kb"), "--tenant", "t", "--publish", "--json"])
    assert ingested.exit_code == 0, ingested.output

    monkeypatch.setenv("ASSIST_EMBEDDER__QUANTIZE", "int8")
    before = runner.invoke(app, ["search", "退款多久到账？", "--tenant", "t", "--json"])
    assert before.exit_code == 0 and json.loads(before.output)["results"] == []  # the empty collection

    rebuilt = runner.invoke(app, ["kb", "reindex", "--all-tenants", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    out = json.loads(rebuilt.output)
    assert out["embedder"] == "e5-small-int8"
    (t,) = out["tenants"]
    assert t["tenant"] == "t" and t["live"] == 3 and t["chunks_embedded"] == t["chunks_total"] > 0
    after = json.loads(runner.invoke(app, ["search", "退款多久到账？", "--tenant", "t", "--json"]).output)
    assert after["covered"] and after["results"][0]["article_id"].startswith("faq-")

    again = json.loads(runner.invoke(app, ["kb", "reindex", "--tenant", "t", "--prune", "--json"]).output)
    assert again["tenants"][0]["chunks_embedded"] == 0
    assert again["tenants"][0]["chunks_pruned"] == 0  # every point belongs to a revision
    unknown = runner.invoke(app, ["kb", "reindex", "--tenant", "nobody"])
    assert unknown.exit_code == 2 and "unknown tenant" in unknown.output
