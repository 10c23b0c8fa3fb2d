"""Hardening: API keys may expire; an article records a publish in flight.

- ``api_keys.expires_at``: a key is refused (401) from this instant on; NULL never expires.
- ``articles.publishing_revision``: the revision a publish is switching the index to. Set in
  its own committed transaction before the index is touched and cleared together with the
  live pointer, so a publish killed half way leaves a mark that ``Indexer.recover`` finds and
  repairs (the index is made to serve exactly the live revision again).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite has both since 3.35): a batch table copy would have to
    # rebuild every named constraint of these tables for nothing.
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("articles", sa.Column("publishing_revision", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("articles", "publishing_revision")
    op.drop_column("api_keys", "expires_at")
