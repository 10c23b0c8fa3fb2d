"""Initial schema: tenants, articles and revisions, workflow events, API keys, suggestions,
feedback, knowledge gaps and evaluation runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the value lists: a migration must not change when models.py does.
ARTICLE_STATUSES = ("draft", "in_review", "published", "archived")
REVISION_STATES = ("draft", "in_review", "approved", "published", "superseded", "archived")
INDEX_STATES = ("pending", "staged", "live", "failed")
WORKFLOW_ACTIONS = ("create", "update", "submit", "approve", "publish", "archive", "rollback", "index_failed")
KEY_ROLES = ("agent", "bot", "knowledge_manager", "evaluator", "admin")
SUGGESTION_KINDS = ("draft", "escalation", "qa", "summary", "chat")
FEEDBACK_OUTCOMES = ("accepted", "edited", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )
    op.create_table(
        "articles",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("product", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("live_revision", sa.Integer(), nullable=True),
        sa.Column("latest_revision", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("review_by", sa.Date(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(_in("status", ARTICLE_STATUSES), name="ck_articles_status"),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name="fk_articles_tenant_tenants"),
        sa.PrimaryKeyConstraint("tenant", "article_id", name="pk_articles"),
    )
    op.create_index("ix_articles_tenant_status", "articles", ["tenant", "status"])
    op.create_table(
        "article_revisions",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("chunk_ids", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("index_state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint(_in("state", REVISION_STATES), name="ck_article_revisions_state"),
        sa.CheckConstraint(_in("index_state", INDEX_STATES), name="ck_article_revisions_index_state"),
        sa.CheckConstraint("revision >= 1", name="ck_article_revisions_revision_positive"),
        sa.ForeignKeyConstraint(
            ["tenant", "article_id"],
            ["articles.tenant", "articles.article_id"],
            name="fk_article_revisions_article",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant", "article_id", "revision", name="pk_article_revisions"),
    )
    op.create_table(
        "workflow_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        _ts("at"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("action", WORKFLOW_ACTIONS), name="ck_workflow_events_action"),
        sa.ForeignKeyConstraint(
            ["tenant", "article_id"],
            ["articles.tenant", "articles.article_id"],
            name="fk_workflow_events_article",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_events"),
    )
    op.create_index("ix_workflow_events_article", "workflow_events", ["tenant", "article_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
        _ts("last_used_at", nullable=True),
        sa.CheckConstraint(_in("role", KEY_ROLES), name="ck_api_keys_role"),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name="fk_api_keys_tenant_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])
    op.create_table(
        "suggestions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint(_in("kind", SUGGESTION_KINDS), name="ck_suggestions_kind"),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name="fk_suggestions_tenant_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_suggestions"),
    )
    op.create_index("ix_suggestions_tenant_created_at", "suggestions", ["tenant", "created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("suggestion_id", sa.String(36), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint(_in("outcome", FEEDBACK_OUTCOMES), name="ck_feedback_outcome"),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name="fk_feedback_suggestion_id_suggestions",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name="fk_feedback_tenant_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_suggestion_id", "feedback", ["suggestion_id"])
    op.create_index("ix_feedback_tenant_created_at", "feedback", ["tenant", "created_at"])
    op.create_table(
        "gaps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("normalized", sa.String(500), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name="fk_gaps_tenant_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_gaps"),
    )
    op.create_index("ix_gaps_tenant_normalized", "gaps", ["tenant", "normalized"])
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("model_ids", sa.JSON(), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_eval_runs"),
    )
    op.create_index("ix_eval_runs_kind_dataset", "eval_runs", ["kind", "dataset"])
    op.create_table(
        "eval_items",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["eval_runs.id"], name="fk_eval_items_run_id_eval_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "item_id", name="pk_eval_items"),
    )


def downgrade() -> None:
    op.drop_table("eval_items")
    op.drop_index("ix_eval_runs_kind_dataset", table_name="eval_runs")
    op.drop_table("eval_runs")
    op.drop_index("ix_gaps_tenant_normalized", table_name="gaps")
    op.drop_table("gaps")
    op.drop_index("ix_feedback_tenant_created_at", table_name="feedback")
    op.drop_index("ix_feedback_suggestion_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_suggestions_tenant_created_at", table_name="suggestions")
    op.drop_table("suggestions")
    op.drop_index("ix_api_keys_tenant", table_name="api_keys")
    op.drop_index("ix_api_keys_prefix", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_workflow_events_article", table_name="workflow_events")
    op.drop_table("workflow_events")
    op.drop_table("article_revisions")
    op.drop_index("ix_articles_tenant_status", table_name="articles")
    op.drop_table("articles")
    op.drop_table("tenants")
