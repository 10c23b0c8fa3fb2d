"""Knowledge loop: each tenant's golden set (``golden_items``), the publish gate's yardstick.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy: a migration must not change when assist/db/golden.py does.
GOLDEN_SOURCES = ("manual", "accepted_draft", "simulated")


def upgrade() -> None:
    op.create_table(
        "golden_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("expected_article", sa.String(200), nullable=True),
        sa.Column("expected_revision", sa.Integer(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('manual', 'accepted_draft', 'simulated')", name="ck_golden_items_source"),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name="fk_golden_items_tenant_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_golden_items"),
    )
    op.create_index("ix_golden_items_tenant_article", "golden_items", ["tenant", "expected_article"])


def downgrade() -> None:
    op.drop_index("ix_golden_items_tenant_article", table_name="golden_items")
    op.drop_table("golden_items")
