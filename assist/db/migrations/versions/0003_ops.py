"""Ops: imported conversations, their messages, QA findings and red-line alerts (assist ops),
and the ``supervisor`` API key role.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when models.py does.
OLD_ROLES = ("agent", "bot", "knowledge_manager", "evaluator", "admin")
NEW_ROLES = (*OLD_ROLES, "supervisor")
# The name 0001 gave the role check (its name went through the naming convention once more).
ROLE_CK = "ck_api_keys_ck_api_keys_role"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.SmallInteger(), nullable=True)


def _roles(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("api_keys") as b:
        b.drop_constraint(op.f(ROLE_CK), type_="check")
        b.create_check_constraint(op.f(ROLE_CK), _in("role", values))


def upgrade() -> None:
    op.create_table(
        "ops_conversations",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("customer", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        _ts("started_at"),
        _ts("ended_at", True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        _flag("resolved"),
        sa.Column("reopened", sa.SmallInteger(), nullable=False),
        sa.Column("escalated_to", sa.String(64), nullable=True),
        _ts("escalated_at", True),
        sa.Column("satisfaction", sa.Float(), nullable=True),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("handle_s", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        _ts("imported_at"),
        _ts("inspected_at", True),
        _flag("sla_met"),
        _flag("timeout"),
        _flag("closed_24h"),
        _flag("repeat_contact"),
        _flag("fcr"),
        _flag("complaint"),
        _flag("negative"),
        sa.Column("sentiment_min", sa.Float(), nullable=True),
        sa.Column("qa_score", sa.Float(), nullable=True),
        _flag("qa_passed"),
        sa.Column("findings_count", sa.Integer(), nullable=True),
        sa.Column("predicted_satisfaction", sa.Float(), nullable=True),
        sa.Column("satisfaction_reasons", sa.JSON(), nullable=True),
        sa.Column("topic", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "id", name="pk_ops_conversations"),
    )
    op.create_index("ix_ops_conversations_tenant_day", "ops_conversations", ["tenant", "day"])
    op.create_index("ix_ops_conversations_tenant_agent_day", "ops_conversations", ["tenant", "agent", "day"])
    op.create_index("ix_ops_conversations_tenant_queue_day", "ops_conversations", ["tenant", "queue", "day"])
    op.create_index("ix_ops_conversations_tenant_customer", "ops_conversations", ["tenant", "customer"])
    op.create_table(
        "ops_messages",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("ts", True),
        sa.ForeignKeyConstraint(["tenant", "conversation_id"], ["ops_conversations.tenant", "ops_conversations.id"],
                                name="fk_ops_messages_conversation", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant", "conversation_id", "seq", name="pk_ops_messages"),
    )
    op.create_table(
        "ops_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("check", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=True),
        sa.Column("span_end", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["tenant", "conversation_id"], ["ops_conversations.tenant", "ops_conversations.id"],
                                name="fk_ops_findings_conversation", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_ops_findings"),
    )
    op.create_index("ix_ops_findings_tenant_conversation", "ops_findings", ["tenant", "conversation_id"])
    op.create_index("ix_ops_findings_tenant_check", "ops_findings", ["tenant", "check"])
    op.create_table(
        "ops_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("window", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        _ts("raised_at"),
        _ts("resolved_at", True),
        sa.Column("notified", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ops_alerts"),
        sa.UniqueConstraint("tenant", "metric", "scope", "window", name="uq_ops_alerts_key"),
    )
    op.create_index("ix_ops_alerts_tenant_raised_at", "ops_alerts", ["tenant", "raised_at"])
    _roles(NEW_ROLES)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM api_keys WHERE role = 'supervisor'"))
    _roles(OLD_ROLES)
    op.drop_table("ops_alerts")
    op.drop_table("ops_findings")
    op.drop_table("ops_messages")
    op.drop_table("ops_conversations")
