"""GET/POST /v1/kb/calibration: the tenant's covered thresholds fitted from its own content
at publish time (the session's ingest of the sample KB published tenant ``nova``), for the
knowledge manager only."""

from __future__ import annotations

from tests.api.conftest import TENANT_A, TENANT_B, Service, assert_envelope


def test_calibration_after_publish(service: Service) -> None:
    with service.client("knowledge_manager") as c:
        r = c.get("/v1/kb/calibration")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tenant"] == TENANT_A and body["calibrated"] is True
    fit = body["coverage_fit"]
    assert fit["articles"] > 10 and fit["probes"]["total"] >= fit["articles"]
    assert fit["negatives"]["leave_one_article_out"] > 0 and fit["negatives"]["reference"] >= 80
    assert fit["cross_lingual"]["status"].startswith("skipped")  # a scripted model is not asked
    assert 0.5 <= body["min_dense_score"] <= 0.97
    assert 0.0 <= body["estimated_recall"] <= 1.0 and 0.0 <= body["estimated_refusal"] <= 1.0
    assert body["fitted_at"] and body["fusion_weights"] is not None
    assert set(body["by_language"]) <= {"zh", "en"}


def test_calibration_refit_on_demand_and_per_tenant(service: Service) -> None:
    with service.client("knowledge_manager", TENANT_B) as c:
        r = c.post("/v1/kb/calibration")
        assert r.status_code == 200, r.text
        b = r.json()
        assert b["tenant"] == TENANT_B and b["coverage_fit"]["articles"] == 1
        # one article: no leave-one-article-out negatives, the reference set carries the fit
        assert b["coverage_fit"]["negatives"]["leave_one_article_out"] == 0
        assert c.get("/v1/kb/calibration").json()["fitted_at"] == b["fitted_at"]


def test_calibration_needs_the_knowledge_manager(service: Service) -> None:
    with service.client("agent") as c:
        assert_envelope(c.get("/v1/kb/calibration"), 403)
    with service.client(None) as c:
        assert_envelope(c.get("/v1/kb/calibration"), 401)
