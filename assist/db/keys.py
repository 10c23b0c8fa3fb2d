"""API keys: created once (the plaintext is shown to the caller and never stored), verified by hash.

Why SHA-256 and not scrypt/bcrypt: slow password hashes exist to make guessing *low-entropy*
secrets expensive. Our keys are ``secrets.token_urlsafe(32)``: 256 random bits, which no amount
of guessing recovers from a SHA-256 digest, so a slow hash would add nothing but tens of
milliseconds to every authenticated request. The digest is compared with
``hmac.compare_digest`` (constant time), after a lookup by the non-secret 8-character prefix.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update

from assist.errors import InputError, NotFoundError

from .engine import Database
from .models import ApiKey, utcnow
from .tenants import check_tenant, ensure_tenant

Role = Literal["agent", "bot", "knowledge_manager", "evaluator", "admin", "supervisor"]
KEY_PREFIX = "ak_"
_PREFIX_LEN = 8
# Writing last_used_at on every request would turn each read into a write; a minute is enough.
_LAST_USED_RESOLUTION = timedelta(seconds=60)


class ApiKeyRecord(BaseModel):
    """An API key as stored: never the key itself, only its prefix (to recognise it in lists)."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    prefix: str
    role: Role
    tenant: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    """The key is refused from this instant on; None: it never expires."""

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired


_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(expires_in: str | None = None, expires_at: str | datetime | None = None) -> datetime | None:
    """The expiry instant from ``--expires-in 30d`` (s/m/h/d/w) or ``--expires-at`` (ISO 8601
    date or time; a date means its start, UTC; a time without a zone is UTC), or None.

    Example:
        >>> parse_expiry("30d") - utcnow() > timedelta(days=29)
        True
    """
    if expires_in and expires_at:
        raise InputError("give --expires-in or --expires-at, not both")
    if expires_in:
        m = _DURATION.match(expires_in)
        if not m or int(m.group(1)) == 0:
            raise InputError(f"expires-in {expires_in!r}: write a positive number and a unit, e.g. 12h, 30d or 8w")
        return utcnow() + timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()])
    if expires_at is None or expires_at == "":
        return None
    if isinstance(expires_at, datetime):
        when = expires_at
    else:
        try:
            when = datetime.fromisoformat(expires_at.strip().replace("Z", "+00:00"))
        except ValueError as e:
            raise InputError(f"expires-at {expires_at!r}: write an ISO date or time, e.g. 2027-01-31 or "
                             "2027-01-31T18:00:00+08:00") from e
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when <= utcnow():
        raise InputError(f"expires-at {when.isoformat()} is in the past")
    return when


def hash_key(plaintext: str) -> str:
    """The hex SHA-256 stored for a key (see the module docstring for why SHA-256 suffices)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


class KeyRepository:
    """Creates, verifies, lists and revokes API keys.

    Example:
        >>> keys = KeyRepository(db)
        >>> plaintext, record = keys.create("support-bot", "bot", "acme")
        >>> keys.verify(plaintext).role
        'bot'
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, role: Role, tenant: str, *,
               expires_at: datetime | None = None) -> tuple[str, ApiKeyRecord]:
        """Create a key. Returns the plaintext (show it once; it cannot be recovered) and its record.

        ``expires_at`` (tz-aware; see :func:`parse_expiry`): refused from then on; None never expires.
        """
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= utcnow()):
            raise InputError("expires_at must be a tz-aware instant in the future")
        if role not in get_args(Role):
            raise InputError(f"unknown role {role!r}: use one of {', '.join(get_args(Role))}")
        if not name.strip():
            raise InputError("an API key needs a name (who or what uses it)")
        check_tenant(tenant)
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as s:
            ensure_tenant(s, tenant)
            row = ApiKey(
                name=name.strip(),
                prefix=plaintext[:_PREFIX_LEN],
                key_hash=hash_key(plaintext),
                role=role,
                tenant=tenant,
                created_at=utcnow(),
                expires_at=expires_at,
            )
            s.add(row)
            s.flush()
            return plaintext, ApiKeyRecord.model_validate(row, from_attributes=True)

    def verify(self, plaintext: str) -> ApiKeyRecord | None:
        """The active key matching ``plaintext``, or None (unknown, malformed, revoked or expired)."""
        if not isinstance(plaintext, str) or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
            return None
        digest = hash_key(plaintext)
        with self.db.session(readonly=True) as s:
            candidates = s.scalars(
                select(ApiKey).where(ApiKey.prefix == plaintext[:_PREFIX_LEN], ApiKey.revoked_at.is_(None))
            ).all()
            match = None
            for row in candidates:  # no early exit: timing does not depend on which one matches
                if hmac.compare_digest(row.key_hash, digest):
                    match = row
            if match is None:
                return None
            record = ApiKeyRecord.model_validate(match, from_attributes=True)
        if record.expired:
            return None
        now = utcnow()
        if record.last_used_at is None or now - record.last_used_at >= _LAST_USED_RESOLUTION:
            # A separate, rare write: the hot path of every request stays read-only.
            with self.db.session() as s:
                s.execute(update(ApiKey).where(ApiKey.id == record.id).values(last_used_at=now))
            record = record.model_copy(update={"last_used_at": now})
        return record

    def list(self, tenant: str | None = None, *, include_revoked: bool = True) -> builtins.list[ApiKeyRecord]:
        """Keys of ``tenant`` (all tenants when None: for admins), oldest first."""
        q = select(ApiKey).order_by(ApiKey.id)
        if tenant is not None:
            q = q.where(ApiKey.tenant == check_tenant(tenant))
        if not include_revoked:
            q = q.where(ApiKey.revoked_at.is_(None))
        with self.db.session(readonly=True) as s:
            return [ApiKeyRecord.model_validate(r, from_attributes=True) for r in s.scalars(q)]

    def revoke(self, key_id: int, *, tenant: str | None = None) -> ApiKeyRecord:
        """Revoke a key (idempotent). With ``tenant``, only that tenant's keys can be revoked."""
        with self.db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None or (tenant is not None and row.tenant != tenant):
                raise NotFoundError(f"no API key with id {key_id}: list them with `assist keys list`")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            s.flush()
            return ApiKeyRecord.model_validate(row, from_attributes=True)
