"""Tenant rows: created on first use, so callers never have to register a tenant first."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from assist.errors import InputError

from .models import Tenant, utcnow

_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def check_tenant(tenant: str) -> str:
    """Validate a tenant id (it ends up in filters, logs and collection names)."""
    if not isinstance(tenant, str) or not _TENANT_RE.match(tenant):
        raise InputError(
            f"invalid tenant id {tenant!r}: use 1-64 letters, digits, '_', '.' or '-', starting "
            "with a letter or digit"
        )
    return tenant


def ensure_tenant(session: Session, tenant: str) -> None:
    """Insert the tenant row if it is missing; safe under concurrent first writes."""
    check_tenant(tenant)
    if session.execute(select(Tenant.id).where(Tenant.id == tenant)).first() is not None:
        return
    values = {"id": tenant, "name": tenant, "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    # ON CONFLICT DO NOTHING: two first writes for a new tenant must not fail each other.
    if dialect == "postgresql":
        session.execute(pg_insert(Tenant).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    elif dialect == "sqlite":
        session.execute(sqlite_insert(Tenant).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    else:
        session.add(Tenant(**values))
        session.flush()
