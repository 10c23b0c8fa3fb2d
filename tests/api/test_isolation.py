"""Tenant isolation: tenant A's keys never see tenant B's data (seeded random probes)."""

from __future__ import annotations

import random

import pytest

from tests.api.conftest import TENANT_A, TENANT_B, Service, assert_envelope

pytestmark = [pytest.mark.integration, pytest.mark.slow]

B_ARTICLE = "acme-secret-refund-en"
MARKER = "ACME-ONLY-MARKER"
WORDS = ["Acme", "refund", "wallet", "退款", "ACME-ONLY-MARKER", "policy", "2 days", "到账", "Acme wallet refunds"]


def test_random_probes_never_cross_tenants(service: Service) -> None:
    rng = random.Random(20261122)
    # Tenant B writes a suggestion (a draft) and a gap; tenant A then probes.
    with service.client("agent", TENANT_B) as b:
        d = b.post("/v1/assist/draft", json={"turns": [{"role": "customer", "text": "How fast are Acme refunds?"}]})
        assert d.status_code == 200, d.text
        b_suggestion = d.json()["id"]
        b_fb = b.post("/v1/feedback", json={"suggestion_id": b_suggestion, "outcome": "accepted"})
        assert b_fb.status_code == 201
    with service.client("knowledge_manager", TENANT_A) as a:
        for _ in range(15):
            q = " ".join(rng.sample(WORDS, rng.randint(1, 3)))
            mode = rng.choice(["hybrid", "dense", "sparse"])
            r = a.post("/v1/search", json={"query": q, "top_k": rng.randint(1, 20), "mode": mode})
            assert r.status_code == 200, r.text
            assert all(s["article_id"] != B_ARTICLE and MARKER not in s["text"] for s in r.json()["results"])
        assert_envelope(a.get(f"/v1/articles/{B_ARTICLE}"), 404)
        assert_envelope(a.get(f"/v1/articles/{B_ARTICLE}/revisions"), 404)
        assert_envelope(a.get(f"/v1/articles/{B_ARTICLE}/revisions/1"), 404)
        assert_envelope(a.get(f"/v1/articles/{B_ARTICLE}/events"), 404)
        assert_envelope(a.get(f"/v1/articles/{B_ARTICLE}/diff", params={"from": 1, "to": 1}), 404)
        assert_envelope(a.post(f"/v1/articles/{B_ARTICLE}/archive", json={}), 404)
        assert all(x["tenant"] == TENANT_A for x in a.get("/v1/articles").json())
        assert B_ARTICLE not in {x["id"] for x in a.get("/v1/articles").json()}
        assert_envelope(a.post("/v1/feedback", json={"suggestion_id": b_suggestion, "outcome": "accepted"}), 404)
        assert all("Acme" not in g["question"] for g in a.get("/v1/kb/gaps").json())
        d = a.post("/v1/assist/draft", json={"turns": [{"role": "customer", "text": "How fast are Acme refunds?"}]})
        assert d.status_code == 200
        assert all(s["article_id"] != B_ARTICLE for s in d.json()["sources"])
    # And the other way round: B sees only its own article.
    with service.client("agent", TENANT_B) as b:
        ids = {x["id"] for x in b.get("/v1/articles").json()}
        assert ids == {B_ARTICLE}
        assert_envelope(b.get("/v1/articles/sop-refund-return-zh"), 404)
