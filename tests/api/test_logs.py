"""Logs carry no personal data (PiiLogFilter installed by the app's lifespan)."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import Service

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHONE = "13812345678"
ID_NUMBER = "110101199003071233"  # valid check digit: the masker verifies it


def test_no_personal_data_in_logs(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    text = f"我的手机号是{PHONE}，身份证{ID_NUMBER}，退款多久到账？"
    with service.client() as c:
        r = c.post("/v1/assist/draft", json={"turns": [{"role": "customer", "text": text}]})
        assert r.status_code == 200
        # the agent's screen gets the values back; storage and logs do not
        c.get(f"/v1/articles/{PHONE}")  # the number lands in uvicorn's access-log path
    for name in ("serving", "assist.pipeline", "uvicorn", "uvicorn.error", "kb_ingest"):
        logging.getLogger(name).warning("customer %s id %s", PHONE, ID_NUMBER)
    logging.getLogger("serving.x").error(f"inline {PHONE}", exc_info=ValueError(ID_NUMBER))
    assert caplog.records, "nothing was captured"
    out = caplog.text + "".join(str(r.msg) + repr(r.args) for r in caplog.records)
    leaked = [line for line in out.splitlines() if PHONE in line or ID_NUMBER in line]
    assert not leaked, leaked
    assert any("uvicorn.access" == r.name for r in caplog.records)
    # uvicorn's access formatter still works (it unpacks the args tuple)
    from uvicorn.logging import AccessFormatter

    access = [r for r in caplog.records if r.name == "uvicorn.access" and isinstance(r.args, tuple)]
    assert access
    assert all(AccessFormatter("%(request_line)s %(status_code)s").format(r) for r in access)


def test_tenant_identifier_patterns_are_masked_in_logs(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    """Log records carry no tenant: the service's log masker holds every configured tenant's
    identifier patterns (nova's order numbers, the bank's customer numbers)."""
    caplog.set_level(logging.DEBUG)
    order, account = "NV202411220001", "LT1234567890"
    with service.client() as c:
        assert c.get("/healthz").status_code == 200
    logging.getLogger("serving").warning("order %s account %s", order, account)
    out = caplog.text + "".join(str(r.msg) + repr(r.args) for r in caplog.records)
    assert order not in out and account not in out, out[-500:]
