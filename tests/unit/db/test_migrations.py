"""Models and migrations agree: the standard Alembic check that catches a forgotten migration."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect

from assist.db import Database, alembic_config
from assist.db.models import Base


def _diff(db: Database, metadata: MetaData) -> list[object]:
    with db.connection() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(ctx, metadata))


def test_models_match_migrations(database: Database) -> None:
    diff = _diff(database, Base.metadata)
    assert diff == [], (
        "models.py and the migrations disagree; write a migration, e.g. "
        "command.revision(alembic_config(db), 'what changed', autogenerate=True):\n"
        + "\n".join(map(repr, diff))
    )


def test_the_check_sees_a_forgotten_migration(database: Database) -> None:
    # Guard against a vacuous check: a column only in the models must show up as a diff.
    md = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(md)
    md.tables["gaps"].append_column(Column("forgotten", String(10), nullable=True))
    diff = _diff(database, md)
    assert any(d[0] == "add_column" and d[3].name == "forgotten" for d in diff if isinstance(d, tuple))


def test_downgrade_to_base_and_up_again(database: Database) -> None:
    cfg = alembic_config(database)
    with database.connection() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with database.connection() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    database.migrate()
    from alembic.script import ScriptDirectory

    assert database.current_revision() == ScriptDirectory.from_config(cfg).get_current_head()


@pytest.mark.unit
def test_one_head() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must form a single line; merge the heads {heads}"
