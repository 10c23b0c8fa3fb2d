"""Client mistakes are 4xx in the one error envelope, and nothing good in the request is lost.

The first tests drive :class:`serving.guards.BodyGuard` on a minimal app (fast, in process);
the rest go through the running service (``service`` fixture).
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI, Request

from serving import errors
from serving.guards import BodyGuard, lone_surrogate_path, redact_query
from tests.api.conftest import Service, assert_envelope

SURROGATE = '{"turns": [{"role": "customer", "text": "refund \\ud800 please"}]}'


def _mini_app(limit: int = 1000) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.add_middleware(BodyGuard, max_bytes=limit)

    @app.post("/json")
    async def echo(body: dict) -> dict:
        return {"ok": True, "keys": sorted(body)}

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        n = 0
        async for chunk in request.stream():
            n += len(chunk)
        return {"bytes": n}

    return app


async def _post(app: FastAPI, path: str, **kw) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.post(path, **kw)


@pytest.mark.unit
async def test_lone_surrogate_is_422_naming_the_field() -> None:
    r = await _post(_mini_app(), "/json", content=SURROGATE, headers={"content-type": "application/json"})
    err = assert_envelope(r, 422)
    assert "turns[0].text" in err["message"] and err["code"] == "invalid_unicode"
    # A surrogate *pair* (an emoji written as two escapes) is valid text.
    ok = await _post(_mini_app(), "/json", content='{"t": "ok \\ud83d\\ude00"}',
                     headers={"content-type": "application/json"})
    assert ok.status_code == 200, ok.text


@pytest.mark.unit
def test_lone_surrogate_path_walks_keys_lists_and_values() -> None:
    assert lone_surrogate_path({"a": [{"b": "x"}, {"c": "y\ud800"}]}) == "a[1].c"
    assert lone_surrogate_path({"a": "fine 😀"}) is None
    assert lone_surrogate_path("\udfff") == "(body)"


@pytest.mark.unit
async def test_streamed_bodies_without_length_are_limited() -> None:
    sent = 0

    async def endless():
        nonlocal sent
        for _ in range(1000):
            sent += 100
            yield b"x" * 100

    r = await _post(_mini_app(limit=1000), "/raw", content=endless())
    assert_envelope(r, 413)
    assert sent < 5000, f"read {sent} bytes of an over-limit stream"

    async def small():
        yield b"y" * 500

    ok = await _post(_mini_app(limit=1000), "/raw", content=small())
    assert ok.status_code == 200 and ok.json() == {"bytes": 500}

    async def json_stream():
        for _ in range(100):
            yield b'{"a": "' + b"z" * 100 + b'"}'

    assert_envelope(await _post(_mini_app(limit=1000), "/json", content=json_stream(),
                                headers={"content-type": "application/json"}), 413)


@pytest.mark.unit
async def test_declared_length_over_limit_is_413_at_once() -> None:
    r = await _post(_mini_app(limit=10), "/raw", content=b"x" * 11)
    assert_envelope(r, 413)


@pytest.mark.unit
def test_redact_query() -> None:
    assert redact_query("/v1/search?api_key=ak_secret&q=13812345678") == "/v1/search?api_key=[REDACTED]&q=[REDACTED]"
    assert redact_query("/healthz") == "/healthz"
    assert "ak_secret" not in redact_query("/x?ak_secret")


# ---------------------------------------------------------------- through the service



@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("path,payload", [
    ("/v1/assist/draft", {"turns": [{"role": "customer", "text": "refund \ud800 please"}]}),
    ("/v1/assist/summary", {"turns": [{"role": "customer", "text": "refund \ud800 please"}]}),
    ("/v1/assist/escalation", {"turns": [{"role": "customer", "text": "refund \ud800 please"}]}),
    ("/v1/search", {"query": "refund \ud800 please"}),
    ("/v1/chat/completions", {"model": "assist", "messages": [{"role": "user", "content": "refund \ud800 please"}]}),
    ("/v1/feedback", {"suggestion_id": None, "outcome": "rejected", "reason": "bad \ud800"}),
])
def test_lone_surrogate_anywhere_is_422(service: Service, path: str, payload: dict) -> None:
    body = json.dumps(payload)  # ensure_ascii: the surrogate travels as the escape \ud800
    assert "\\ud800" in body
    with service.client() as c:
        r = c.post(path, content=body, headers={"content-type": "application/json"})
    err = assert_envelope(r, 422)
    assert "surrogate" in err["message"] and "tokeniz" not in err["message"].lower()


@pytest.mark.integration
@pytest.mark.slow
def test_query_string_keys_are_not_logged(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    key = service.key()
    with service.client(role=None) as c:
        c.get(f"/v1/articles?api_key={key}")
    from uvicorn.logging import AccessFormatter

    lines = [AccessFormatter("%(request_line)s %(status_code)s").format(r) for r in caplog.records
             if r.name == "uvicorn.access"]
    assert any("/v1/articles?api_key=[REDACTED]" in ln for ln in lines), lines
    assert not any(key in ln or key[8:] in ln for ln in lines)
    assert key not in caplog.text


@pytest.mark.integration
@pytest.mark.slow
def test_batch_upload_reports_bad_files_ingests_the_rest_and_hides_temp_paths(service: Service) -> None:
    good = ("batch-good-en.md", b"---\nid: batch-good-en\ntitle: Parcel lockers\nlanguage: en\ntype: faq\n---\n"
            b"# Parcel lockers\n\nParcels wait in the locker for 48 hours.\n", "text/markdown")
    unsupported = ("tool.exe", b"MZ..", "application/octet-stream")
    aliases = ("bomb.md", b"---\nid: bomb\ntitle: t\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n"
               b"tags: *b\n---\n# Bomb\n\nbody\n", "text/markdown")
    dates = ("dates.md", b"---\nid: bad-dates\ntitle: t\nlanguage: en\neffective_from: 2026-05-01\n"
             b"valid_until: 2026-01-01\n---\n# Dates\n\nbody\n", "text/markdown")
    corrupt = ("broken.docx", b"PK\x03\x04 not a real docx", "application/octet-stream")
    with service.client("knowledge_manager") as c:
        r = c.post("/v1/articles/upload", files=[("files", f) for f in (good, unsupported, aliases, dates, corrupt)],
                   data={"publish": "true"})
        assert r.status_code == 200, r.text
        rep = r.json()
        assert c.get("/v1/articles/batch-good-en").json()["live_revision"] == 1
        by_file = {e["file"]: e["error"] for e in rep["errors"]}
        assert set(by_file) == {"tool.exe", "bomb.md", "dates.md", "broken.docx"}, rep
        assert "unsupported" in by_file["tool.exe"]
        assert "aliases" in by_file["bomb.md"]
        assert "valid_until" in by_file["dates.md"]
        assert "assist-upload-" not in r.text and "/tmp" not in r.text, r.text
        assert c.get("/v1/articles/bomb").status_code == 404
        preview = c.post("/v1/articles/preview", files=[("files", aliases), ("files", corrupt)])
        assert preview.status_code == 200 and "assist-preview-" not in preview.text and "/tmp" not in preview.text


@pytest.mark.integration
@pytest.mark.slow
def test_valid_until_before_effective_from_is_422(service: Service) -> None:
    with service.client("knowledge_manager") as c:
        r = c.post("/v1/articles", json={"id": "dates-api-en", "title": "Dates", "language": "en",
                                         "body": "# Dates\n\nText.", "effective_from": "2026-05-01",
                                         "valid_until": "2026-01-01"})
        assert "valid_until" in assert_envelope(r, 422)["message"]
        assert c.post("/v1/articles", json={"id": "dates-api-en", "title": "Dates", "language": "en",
                                            "body": "# Dates\n\nText.", "effective_from": "2026-05-01"}).status_code == 201
        r = c.put("/v1/articles/dates-api-en", json={"valid_until": "2026-04-30"})
        assert_envelope(r, 422)


@pytest.mark.integration
@pytest.mark.slow
def test_expired_key_is_401(service: Service) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from assist.db import KeyRepository
    from assist.db.keys import parse_expiry
    from assist.db.models import ApiKey, utcnow

    db = service.app.state.db
    plaintext, rec = KeyRepository(db).create("short-lived", "agent", "nova", expires_at=parse_expiry("1h"))
    with httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {plaintext}"}) as c:
        assert c.get("/v1/articles").status_code == 200
        with db.session() as s:
            s.execute(update(ApiKey).where(ApiKey.id == rec.id).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert "expired" in assert_envelope(c.get("/v1/articles"), 401)["message"]


@pytest.mark.unit
def test_office_zip_bomb_is_refused_before_parsing(tmp_path) -> None:
    import zipfile

    from assist.errors import InputError
    from kb_ingest.limits import check_document

    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", "<w:p/>" * 12_000_000)  # 72 MB expanded, ~70 KB packed
    with pytest.raises(InputError, match="expands to"):
        check_document(bomb, name="bomb.docx")
    ok = tmp_path / "ok.docx"
    with zipfile.ZipFile(ok, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", "<w:p>hello</w:p>")
    check_document(ok, name="ok.docx")
    check_document(tmp_path / "missing.pdf", name="missing.pdf")  # unreadable: left to the parser
