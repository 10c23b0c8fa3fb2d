"""API keys can carry an expiry: refused from that instant on (401 at the API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from assist.db import Database, KeyRepository
from assist.db.keys import parse_expiry
from assist.db.models import ApiKey, utcnow
from assist.errors import InputError


def test_a_key_with_an_expiry_verifies_until_then(database: Database) -> None:
    keys = KeyRepository(database)
    plaintext, rec = keys.create("temp", "agent", "acme", expires_at=parse_expiry("30d"))
    assert rec.expires_at is not None and rec.active and not rec.expired
    assert keys.verify(plaintext) is not None
    with database.session() as s:  # time passes
        s.execute(update(ApiKey).where(ApiKey.id == rec.id).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert keys.verify(plaintext) is None
    listed = keys.list("acme")[0]
    assert listed.expired and not listed.active


def test_keys_without_expiry_never_expire(database: Database) -> None:
    keys = KeyRepository(database)
    plaintext, rec = keys.create("forever", "agent", "acme")
    assert rec.expires_at is None and keys.verify(plaintext) is not None


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "seconds"), [("12h", 43200), ("30d", 30 * 86400), ("2w", 14 * 86400),
                                               (" 90 m ", 5400)])
def test_parse_expiry_durations(spec: str, seconds: int) -> None:
    got = parse_expiry(spec)
    assert got is not None and abs((got - utcnow()).total_seconds() - seconds) < 5


@pytest.mark.unit
def test_parse_expiry_dates_and_errors() -> None:
    assert parse_expiry(None, "2099-01-31") == datetime(2099, 1, 31, tzinfo=UTC)
    assert parse_expiry(None, "2099-01-31T18:00:00+08:00") == datetime(2099, 1, 31, 10, tzinfo=UTC)
    assert parse_expiry() is None
    for bad in (("0d", None), ("30x", None), ("d", None), (None, "not a date"), (None, "2001-01-01"),
                ("1d", "2099-01-01")):
        with pytest.raises(InputError):
            parse_expiry(*bad)
