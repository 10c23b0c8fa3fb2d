"""``assist kb golden import`` / ``assist kb gate`` / ``assist kb publish`` on the sample
tenant: a contradicting FAQ revision is refused with exit status 3 and the JSON verdict;
``--override-reason`` publishes it. Real e5, embedded Qdrant, SQLite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import MODELS_DIR

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
FAQ = ROOT / "examples" / "kb" / "faq"
ARTICLE = "faq-general-zh-2db2b62aa3"  # 退款多久能到账？ 3-7 个工作日


def test_kb_publish_blocked_exits_3_with_json_then_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in {
        "ASSIST_HOME": str(tmp_path / "home"),
        "ASSIST_MODELS_PATH": str(MODELS_DIR),
        "ASSIST_DEFAULT_TENANT": "nova",
        "ASSIST_TENANTS_DIR": str(ROOT / "examples" / "tenants"),
        "ASSIST_ENV": "test",
    }.items():
        monkeypatch.setenv(k, v)
    kb = tmp_path / "kb"
    kb.mkdir()
    for name in ("faq-zh.csv", "faq-zh.csv.meta.yaml"):
        shutil.copy(FAQ / name, kb / name)
    cli = CliRunner()
    r = cli.invoke(app, ["ingest", str(kb), "--publish"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["kb", "golden", "import", str(ROOT / "eval" / "golden")])
    assert r.exit_code == 0 and "imported" in r.output, r.output

    # Simulated customers, three messages each, drafted by the pipeline (a scripted model writes them).
    conv = ["我之前在你们这买的东西申请了退款", "审核已经通过了", "那钱大概几天能退回来？"]
    import assist.llm
    from assist.llm.fake import FakeChatModel

    scripted = FakeChatModel(
        reply_fn=lambda m, g: (
            json.dumps({"conversations": [{"turns": conv}]}, ensure_ascii=False)
            if g.json_schema and g.json_schema.get("title") == "simulated_conversations"
            else "退款审核通过后 3-7 个工作日原路退回[1]。"
        )
    )
    monkeypatch.setattr(assist.llm, "make_chat_model", lambda *a, **k: scripted)
    monkeypatch.setenv("ASSIST_LLM__PROVIDER", "fake")
    r = cli.invoke(
        app, ["kb", "golden", "simulate", "--article", ARTICLE, "--turns", "3", "--per-item", "1", "--json"]
    )
    assert r.exit_code == 0, r.output
    sim = json.loads(r.stdout)
    assert (
        sim["turns"] == 3 and sim["added"] == 1 and len(sim["runs"]) == 1 and sim["runs"][0]["turns"] == conv
    )
    r = cli.invoke(app, ["kb", "golden", "simulate", "--article", ARTICLE, "--turns", "3", "--per-item", "1"])
    assert r.exit_code == 0 and "0 3-message conversations added" in r.output, r.output  # topped up already
    assert cli.invoke(app, ["kb", "golden", "simulate", "--turns", "5"]).exit_code == 2
    r = cli.invoke(app, ["kb", "golden", "list", "--article", ARTICLE])
    assert "simulated" in r.output and " | ".join(conv) in r.output, r.output

    csv = kb / "faq-zh.csv"
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [
        ln.replace("3-7 个工作日原路退回到您的支付账户", "10-15 个工作日原路退回到您的支付账户")
        for ln in lines
    ]
    csv.write_text("".join(lines), encoding="utf-8")
    # The FAQ file says "status: published": ingesting it is a publication, and the gate refuses
    # it; the new revision stays indexed and staged.
    r = cli.invoke(app, ["ingest", str(kb)])
    assert r.exit_code == 2 and "golden item" in r.output and "3-7" in r.output, r.output

    r = cli.invoke(app, ["kb", "gate", ARTICLE, "--json"])
    assert r.exit_code == 3, r.output
    r = cli.invoke(app, ["kb", "publish", ARTICLE, "--json"])
    assert r.exit_code == 3, r.output
    verdict = json.loads(r.stdout)
    assert verdict["blocked"] is True and verdict["regressions"]
    assert all(x["expected"].startswith(ARTICLE) for x in verdict["regressions"])
    assert any("3-7" in x["reason"] for x in verdict["regressions"])

    r = cli.invoke(app, ["kb", "publish", ARTICLE, "--json", "--override-reason", "新的退款时效"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["blocked"] is False
    r = cli.invoke(app, ["kb", "show", ARTICLE])
    assert "新的退款时效" in r.stdout
