"""No personal data at rest: after the API suite (this file sorts last in tests/api, so it
runs after the others in a full run) and after driving every endpoint that stores something
with raw personal data in every field, no text or JSON column of any table holds a raw
phone number, e-mail address or ID number, in ASCII or full-width digits."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import MetaData, select

from tests.api.conftest import Service

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHONE = "13812345678"
FW_PHONE = "１５９２２２２３３３３"  # full-width digits
EMAIL = "li.lei@example.com"
ID_NUMBER = "110101199003071233"  # valid check digit
RAW = (PHONE, FW_PHONE, "15922223333", EMAIL, ID_NUMBER)
TEXT = f"我的手机{PHONE}，邮箱{EMAIL}，身份证{ID_NUMBER}，备用{FW_PHONE}，退款多久到账？"
TEXT_EN = f"My phone is {PHONE}, mail {EMAIL}, ID {ID_NUMBER}, backup {FW_PHONE}. When is my refund?"
UNCOVERED = f"我的手机{FW_PHONE}，火星上的快递柜怎么寄包裹到木星？"


def _conversation(text: str = TEXT) -> dict:
    return {"turns": [{"role": "customer", "text": text}, {"role": "agent", "text": f"已记录{PHONE}"},
                      {"role": "customer", "text": f"邮箱是{EMAIL}"}],
            "channel": f"phone {PHONE} / {FW_PHONE}", "customer": {"phone": PHONE, "email": EMAIL}}


def _drive_every_storing_endpoint(service: Service) -> None:
    with service.client(timeout=120) as c:
        ids = []
        for text in (TEXT, TEXT_EN, UNCOVERED):
            r = c.post("/v1/assist/draft", json=_conversation(text))
            assert r.status_code == 200, r.text
            ids.append(r.json()["id"])
        with c.stream("POST", "/v1/assist/draft", json={**_conversation(), "stream": True}) as s:
            assert s.status_code == 200
            list(s.iter_lines())
        for path in ("/v1/assist/summary", "/v1/assist/escalation"):
            r = c.post(path, json=_conversation())
            assert r.status_code == 200, (path, r.text)
            ids.append(r.json()["id"])
        r = c.post("/v1/assist/qa", json={"reply": f"请拨打{PHONE}或发邮件到{EMAIL}，身份证{ID_NUMBER}",
                                          "conversation": _conversation()})
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
        for stream in (False, True):
            r = c.post("/v1/chat/completions", json={"model": "assist", "stream": stream,
                                                     "messages": [{"role": "user", "content": TEXT}]})
            assert r.status_code == 200, r.text
        for q in (TEXT, UNCOVERED):
            assert c.post("/v1/search", json={"query": q}).status_code == 200
        assert c.post("/v1/feedback", json={"suggestion_id": ids[0], "outcome": "rejected",
                                            "reason": f"客户{PHONE}说不对，{FW_PHONE}"}).status_code == 201
        assert c.post("/v1/feedback", json={"suggestion_id": ids[1], "outcome": "edited",
                                            "final_text": TEXT_EN, "reason": f"fixed for {EMAIL}"}).status_code == 201


def _scan(service: Service) -> list[str]:
    db = service.app.state.db
    md = MetaData()
    with db.connection(readonly=True) as conn:
        md.reflect(conn)
        leaks = []
        for table in md.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for col, value in row.items():
                    if value is None or isinstance(value, (int, float, bool)):
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                    for raw in RAW:
                        if raw in text:
                            leaks.append(f"{table.name}.{col}: {raw}")
    return leaks


def test_no_raw_personal_data_in_any_table(service: Service) -> None:
    _drive_every_storing_endpoint(service)
    leaks = _scan(service)
    assert not leaks, sorted(set(leaks))
