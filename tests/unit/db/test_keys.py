"""KeyRepository: keys are stored hashed, verified in constant time, revocable, tenant-scoped."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from assist.db import Database, KeyRepository
from assist.errors import InputError, NotFoundError


@pytest.fixture
def keys(database: Database) -> KeyRepository:
    return KeyRepository(database)


def test_create_and_verify(keys: KeyRepository) -> None:
    plaintext, rec = keys.create("support bot", "bot", "acme")
    assert plaintext.startswith("ak_") and len(plaintext) > 40
    assert rec.prefix == plaintext[:8] and rec.role == "bot" and rec.tenant == "acme" and rec.active
    got = keys.verify(plaintext)
    assert got is not None and got.id == rec.id and got.last_used_at is not None
    assert got.last_used_at.tzinfo is not None


def test_plaintext_is_never_stored(database: Database, keys: KeyRepository) -> None:
    plaintext, _ = keys.create("k", "agent", "acme")
    with database.connection() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).mappings().all()
    dumped = repr([dict(r) for r in rows])
    assert plaintext not in dumped
    assert plaintext[8:] not in dumped  # not even the secret part
    assert rows[0]["key_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()


@pytest.mark.parametrize("candidate", ["", "nope", "ak_", "ak_wrong-but-well-formed-key-000000000000000"])
def test_wrong_keys_do_not_verify(keys: KeyRepository, candidate: str) -> None:
    keys.create("k", "agent", "acme")
    assert keys.verify(candidate) is None


def test_same_prefix_different_key_does_not_verify(keys: KeyRepository) -> None:
    plaintext, _ = keys.create("k", "agent", "acme")
    forged = plaintext[:8] + "x" * (len(plaintext) - 8)
    assert keys.verify(forged) is None


def test_revoke(keys: KeyRepository) -> None:
    plaintext, rec = keys.create("k", "admin", "acme")
    with pytest.raises(NotFoundError):
        keys.revoke(rec.id, tenant="other")  # another tenant's admin cannot revoke it
    revoked = keys.revoke(rec.id)
    assert revoked.revoked_at is not None and not revoked.active
    assert keys.verify(plaintext) is None
    assert keys.revoke(rec.id).revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(NotFoundError):
        keys.revoke(999_999)


def test_list_by_tenant(keys: KeyRepository) -> None:
    _, a = keys.create("a", "agent", "tenant-a")
    _, b = keys.create("b", "knowledge_manager", "tenant-b")
    keys.revoke(b.id)
    assert [k.name for k in keys.list("tenant-a")] == ["a"]
    assert [k.name for k in keys.list("tenant-b")] == ["b"]
    assert keys.list("tenant-b", include_revoked=False) == []
    assert [k.id for k in keys.list()] == [a.id, b.id]


def test_bad_role_and_name(keys: KeyRepository) -> None:
    with pytest.raises(InputError, match="role"):
        keys.create("k", "superuser", "acme")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="name"):
        keys.create("  ", "agent", "acme")
