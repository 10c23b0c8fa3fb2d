"""The knowledge loop over HTTP: golden items (add, one-click from an accepted draft, list,
delete), a blocked publication as 409 in the one envelope with the regressions, the override
recorded in the workflow history, and suggested articles from gaps.

Real e5, embedded Qdrant, SQLite; FakeChatModel for drafts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assist.config import Settings
from assist.db import Database, GapRepository, KeyRepository
from assist.llm.fake import FakeChatModel
from serving.app import create_app
from tests.conftest import MODELS_DIR

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TENANT = "nova"
FAQ_ID = "faq-general-zh-2db2b62aa3"  # 退款多久到账？ 3-7 个工作日


CONVERSATION = ["我之前在你们这买的东西申请了退款", "审核已经通过了", "那钱大概几天能退回来？"]


def _reply(messages, gen) -> str:
    """The simulated customer's conversation when one is asked for, else a reply to draft."""
    if gen.json_schema and gen.json_schema.get("title") == "simulated_conversations":
        return json.dumps({"conversations": [{"turns": CONVERSATION}]}, ensure_ascii=False)
    return "退款会在3-7个工作日内原路退回[1]。"


@pytest.fixture
def client(tmp_path: Path):
    from kb_ingest.indexing import Indexer

    settings = Settings(
        _env_file=None,
        env="test",
        home=tmp_path / "home",
        models_path=MODELS_DIR,
        tenants_dir=ROOT / "examples" / "tenants",
        llm={"provider": "fake"},
    )

    async def ingest() -> None:
        ix = Indexer.from_settings(settings)
        try:
            assert not (await ix.ingest_paths([ROOT / "examples/kb/faq"], tenant=TENANT, publish=True)).errors
        finally:
            await ix.close()
            ix.db.dispose()

    asyncio.run(ingest())
    db = Database(settings.resolved_database_url)
    keys = {
        role: KeyRepository(db).create(f"t-{role}", role, TENANT)[0]
        for role in ("knowledge_manager", "agent")
    }
    GapRepository(db).add(TENANT, "你们有礼品卡卖吗？", language="zh")
    GapRepository(db).add(TENANT, "礼品卡怎么购买", language="zh")
    db.dispose()
    app = create_app(settings, llm=FakeChatModel(reply_fn=_reply))
    with TestClient(app) as c:
        c.keys = keys  # type: ignore[attr-defined]
        yield c


def _h(c, role: str = "knowledge_manager") -> dict[str, str]:
    return {"Authorization": f"Bearer {c.keys[role]}"}


def test_kb_loop_api_gate_409_override_golden_and_suggestions(client) -> None:
    c = client
    # A golden item written by hand, and one from an accepted draft (one click).
    r = c.post(
        "/v1/kb/golden",
        headers=_h(c),
        json={
            "question": "退款一般几天能退回来？",
            "article_id": FAQ_ID,
            "reference": "退款审核通过后 3-7 个工作日原路退回。",
        },
    )
    assert r.status_code == 201, r.text
    manual = r.json()
    assert manual["expected_revision"] == 1 and manual["source"] == "manual"
    d = c.post(
        "/v1/assist/draft",
        headers=_h(c, "agent"),
        json={"turns": [{"role": "customer", "text": "钱多久能退到我卡上？"}]},
    )
    assert d.status_code == 200, d.text
    fb = c.post(
        "/v1/feedback", headers=_h(c, "agent"), json={"suggestion_id": d.json()["id"], "outcome": "accepted"}
    )
    assert fb.status_code == 201, fb.text
    one = c.post("/v1/kb/golden/from-feedback", headers=_h(c), json={"feedback_id": fb.json()["id"]})
    if d.json()["citations"]:
        assert one.status_code == 201, one.text
        assert one.json()["source"] == "accepted_draft"
    else:
        assert one.status_code == 400, one.text
    assert (
        c.post(
            "/v1/kb/golden", headers=_h(c, "agent"), json={"question": "x", "article_id": FAQ_ID}
        ).status_code
        == 403
    )

    # Simulated customers: a three-message conversation from the item and its article, drafted
    # by the pipeline, stored as a simulated item of the same article@revision.
    r = c.post(
        "/v1/kb/golden/simulate", headers=_h(c), json={"article_id": FAQ_ID, "turns": 3, "per_item": 1}
    )
    assert r.status_code == 200, r.text
    sim = r.json()
    assert sim["turns"] == 3 and sim["added"] == 1 and not sim["rejected"], sim
    (run,) = sim["runs"]
    assert (
        run["turns"] == CONVERSATION and run["parent_id"] == manual["id"] and run["expected"] == f"{FAQ_ID}@1"
    )
    assert run["status"] in ("drafted", "curated", "not_covered", "no_draft") and sim["found"] == int(
        run["rank"] is not None
    )
    assert c.post("/v1/kb/golden/simulate", headers=_h(c), json={"turns": 5}).status_code == 422
    assert c.post("/v1/kb/golden/simulate", headers=_h(c, "agent"), json={"turns": 3}).status_code == 403
    simulated = [i for i in c.get("/v1/kb/golden", headers=_h(c)).json() if i["source"] == "simulated"]
    assert [(i["question"], i["turns"], i["parent_id"]) for i in simulated] == [
        (" | ".join(CONVERSATION), CONVERSATION, manual["id"])
    ]

    # A revision that changes the refund period: 409 in the envelope, with the failing item.
    body = c.get(f"/v1/articles/{FAQ_ID}/revisions/1", headers=_h(c)).json()["text"]
    assert "3-7" in body
    r = c.put(
        f"/v1/articles/{FAQ_ID}", headers=_h(c), json={"body": body.replace("3-7", "10-15"), "publish": True}
    )
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["type"] == "conflict" and err["code"] == "publish_blocked"
    assert manual["id"] in [x["item_id"] for x in err["regressions"]]
    assert c.get(f"/v1/articles/{FAQ_ID}", headers=_h(c)).json()["live_revision"] == 1

    # Dry run, then the override with a reason, recorded in the history.
    dry = c.post(f"/v1/kb/gate/{FAQ_ID}", headers=_h(c)).json()
    assert dry["blocked"] and dry["revision"] == 2 and dry["simulations"] == 1
    r = c.post(
        f"/v1/articles/{FAQ_ID}/publish",
        headers=_h(c),
        json={"override_reason": "new refund SLA from finance"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["live_revision"] == 2
    events = c.get(f"/v1/articles/{FAQ_ID}/events", headers=_h(c)).json()
    assert any("new refund SLA from finance" in (e["note"] or "") for e in events if e["action"] == "publish")

    # Golden list and delete.
    items = c.get("/v1/kb/golden", headers=_h(c)).json()
    assert manual["id"] in [i["id"] for i in items]
    assert c.delete(f"/v1/kb/golden/{manual['id']}", headers=_h(c)).status_code == 204
    assert c.delete(f"/v1/kb/golden/{manual['id']}", headers=_h(c)).status_code == 404

    # Suggested articles from the gap log.
    run = c.post("/v1/kb/suggestions/run", headers=_h(c), json={})
    assert run.status_code == 200, run.text
    assert len(run.json()["drafts"]) == 1
    listed = c.get("/v1/kb/suggestions", headers=_h(c)).json()
    assert len(listed) == 1 and "礼品卡怎么购买" in listed[0]["questions"] and listed[0]["status"] == "draft"

    # Freshness: a live article past its review date is listed, with the questions it answered.
    r = c.post(
        "/v1/articles",
        headers=_h(c),
        json={
            "id": "kbloop-points-zh",
            "title": "会员积分",
            "language": "zh",
            "body": "# 会员积分\n\n积分有效期 12 个月。",
            "review_by": "2026-01-01",
            "effective_from": "2026-01-01",
            "publish": True,
        },
    )
    assert r.status_code == 201, r.text
    stale = c.get("/v1/kb/stale", headers=_h(c))
    assert stale.status_code == 200, stale.text
    row = next(a for a in stale.json() if a["article_id"] == "kbloop-points-zh")
    assert row["review_by"] == "2026-01-01" and not row["expired"] and isinstance(row["questions"], list)
    assert c.get("/v1/kb/stale", headers=_h(c, "agent")).status_code == 403
