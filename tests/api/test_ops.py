"""``/v1/ops``: a ticketing system delivers conversations (idempotent by id), supervisors read
KPIs, conversations with findings, alerts and topics; roles, tenants and bad input answered
in the one error envelope; ``/metrics`` counts red-line notices.

A light app of its own (fake embedder and model, no knowledge base): the ops API does not
need the sample KB that tests/api/conftest.py ingests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assist.config import Settings
from assist.db import KeyRepository
from assist.llm.fake import FakeChatModel
from serving.app import create_app
from tests.api.conftest import assert_envelope
from tests.conftest import REPO
from tests.unit.ops.conftest import conv

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("ops-api")
    settings = Settings(_env_file=None, env="test", home=home, tenants_dir=REPO / "examples" / "tenants",
                        embedder={"model": "fake:16"}, llm={"provider": "fake"},
                        server={"rate_limit": "100000/minute"})
    app = create_app(settings, llm=FakeChatModel(replies=["ok"]))
    with TestClient(app) as c:
        repo = KeyRepository(app.state.db)
        c.keys = {f"{t}:{r}": repo.create(f"t-{r}", r, t)[0]  # type: ignore[attr-defined]
                  for t in ("nova", "acme") for r in ("bot", "supervisor", "agent")}
        yield c


def _h(c: TestClient, role: str, tenant: str = "nova") -> dict[str, str]:
    return {"Authorization": f"Bearer {c.keys[f'{tenant}:{role}']}"}  # type: ignore[attr-defined]


def test_delivery_is_idempotent(client: TestClient) -> None:
    body = conv("api-1", greet=False)
    r = client.post("/v1/ops/conversations", json=body, headers=_h(client, "bot"))
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["status"] == "stored" and any(f["check"] == "greeting" for f in first["findings"])
    again = client.post("/v1/ops/conversations", json=body, headers=_h(client, "bot")).json()
    assert again["status"] == "unchanged" and again["findings"] == first["findings"]
    body["reopened"] = True
    assert client.post("/v1/ops/conversations", json=body, headers=_h(client, "bot")).json()["status"] == "updated"
    got = client.get("/v1/ops/conversations/api-1", headers=_h(client, "supervisor")).json()
    assert got["reopened"] == 1 and got["turns"][0]["role"] == "customer"


def test_roles_tenants_and_bad_input(client: TestClient) -> None:
    assert_envelope(client.post("/v1/ops/conversations", json=conv("x"), headers=_h(client, "agent")), 403)
    assert_envelope(client.post("/v1/ops/conversations", json=conv("x")), 401)
    bad = conv("bad")
    bad["turns"][0]["ts"] = "2026-11-03T09:00:00"
    err = assert_envelope(client.post("/v1/ops/conversations", json=bad, headers=_h(client, "bot")), 422)
    assert "time zone" in err["message"]
    assert_envelope(client.post("/v1/ops/conversations", json={"id": "x"}, headers=_h(client, "bot")), 422)
    backwards = conv("backwards")
    backwards["turns"][1]["ts"] = "2026-11-03T08:00:00+08:00"  # before the customer's first message
    err = assert_envelope(client.post("/v1/ops/conversations", json=backwards, headers=_h(client, "bot")), 400)
    assert "time order" in err["message"]
    client.post("/v1/ops/conversations", json=conv("nova-only"), headers=_h(client, "bot"))
    assert_envelope(client.get("/v1/ops/conversations/nova-only", headers=_h(client, "supervisor", "acme")), 404)
    assert_envelope(client.get("/v1/ops/kpis?by=planet", headers=_h(client, "supervisor")), 400)


def test_dashboard_reads_and_metrics(client: TestClient) -> None:
    for i in range(12):
        client.post("/v1/ops/conversations", json=conv(f"cmp-{i}", day="2026-11-04", complaint=True),
                    headers=_h(client, "bot"))
    h = _h(client, "supervisor")
    s = client.get("/v1/ops/summary", headers=h).json()
    assert s["day"] == "2026-11-04" and any(x["metric"] == "complaint_rate" and x["crossed"] for x in s["red_lines"])
    assert any(a["metric"] == "complaint_rate" for a in s["firing"])
    listed = client.get("/v1/ops/conversations", params={"check": "greeting"}, headers=h).json()
    assert listed["total"] >= 1 and all(r["id"] for r in listed["items"])
    agents = client.get("/v1/ops/kpis", params={"by": "agent"}, headers=h).json()["items"]
    assert agents and agents[0]["agent"] == "a1"
    alerts = client.get("/v1/ops/alerts", headers=h).json()["items"]
    assert alerts[0]["state"] == "firing"
    topics = client.get("/v1/ops/topics", headers=h).json()
    assert topics["month"] == "2026-11" and sum(t["size"] for t in topics["topics"]) == topics["conversations"]
    text = client.get("/metrics").text
    assert 'assist_ops_alerts_total{metric="complaint_rate",status="firing"} 1.0' in text
    assert 'assist_ops_red_lines_firing{metric="complaint_rate",tenant="nova"} 1.0' in text
    assert "assist_ops_conversations_total" in text
