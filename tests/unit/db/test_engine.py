"""Database: engine setup, sessions, error translation, migrations from empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from assist.config import Settings
from assist.db import Database
from assist.db.models import Tenant
from assist.errors import ConfigError, DatabaseError


def _head() -> str:
    """The newest migration (the one every fresh database ends at)."""
    from alembic.script import ScriptDirectory

    from assist.db import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


EXPECTED_TABLES = {
    "tenants",
    "articles",
    "article_revisions",
    "workflow_events",
    "api_keys",
    "suggestions",
    "feedback",
    "gaps",
    "eval_runs",
    "eval_items",
}


def test_migrate_creates_every_table_and_is_idempotent(database: Database) -> None:
    assert database.current_revision() == _head()
    with database.connection() as conn:
        assert EXPECTED_TABLES <= set(inspect(conn).get_table_names())
    database.migrate()  # a second run is a no-op, not an error
    assert database.current_revision() == _head()


@pytest.mark.unit
def test_migrate_from_empty_sqlite_creates_parent_dir(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "assist.db"
    db = Database(f"sqlite:///{path}")
    try:
        assert db.current_revision() is None
        db.migrate()
        assert path.exists()
        assert db.current_revision() == _head()
        with db.connection() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


@pytest.mark.unit
def test_from_settings_defaults_to_sqlite_in_home(settings: Settings) -> None:
    db = Database.from_settings(settings)
    try:
        assert db.dialect == "sqlite"
        assert db.url.database == str((settings.home / "assist.db").resolve())
    finally:
        db.dispose()


def test_timestamps_round_trip_tz_aware_utc(database: Database) -> None:
    beijing = timezone(timedelta(hours=8))
    created = datetime(2026, 3, 1, 9, 30, tzinfo=beijing)
    with database.session() as s:
        s.add(Tenant(id="acme", name="Acme", created_at=created))
    with database.session() as s:
        got = s.scalars(select(Tenant.created_at).where(Tenant.id == "acme")).one()
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == created
    assert got.hour == 1  # 09:30 +08:00 is 01:30 UTC


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), database.session() as s:
        s.add(Tenant(id="acme", name="Acme", created_at=datetime(2026, 1, 1)))
        s.flush()


def test_session_rolls_back_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as s:
        s.add(Tenant(id="acme", name="Acme", created_at=datetime.now(UTC)))
        s.flush()
        raise RuntimeError("boom")
    with database.session() as s:
        assert s.get(Tenant, "acme") is None


def test_ping(database: Database) -> None:
    database.ping()


@pytest.mark.unit
def test_unreachable_postgres_is_a_retryable_database_error_without_password() -> None:
    # Port 1 on localhost refuses at once: no network wait.
    db = Database("postgresql+psycopg://assist:s3cr3t-pw@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseError) as info:
        db.ping()
    err = info.value
    assert err.retryable is True
    assert err.backend == "database"
    assert "s3cr3t-pw" not in err.message
    assert "127.0.0.1:1/nowhere" in err.message
    assert "***" in err.message


@pytest.mark.unit
def test_sqlite_under_a_file_is_a_config_error(tmp_path: Path) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("a file where a folder should be")
    with pytest.raises(ConfigError, match="writable folder"):
        Database(f"sqlite:///{target / 'sub' / 'x.db'}")


@pytest.mark.unit
def test_unopenable_sqlite_is_a_retryable_database_error(tmp_path: Path) -> None:
    (tmp_path / "a-dir.db").mkdir()  # a folder where the database file should be
    with pytest.raises(DatabaseError) as info:
        Database(f"sqlite:///{tmp_path / 'a-dir.db'}").ping()
    assert info.value.retryable


@pytest.mark.unit
@pytest.mark.parametrize("url", ["not a url", "mysql+nosuchdriver://x@y/z"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        Database(url)


@pytest.mark.unit
def test_schema_is_postgres_only() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL only"):
        Database("sqlite://", schema="x")


@pytest.mark.unit
def test_in_memory_sqlite_keeps_one_database_across_sessions() -> None:
    db = Database("sqlite://")
    db.migrate()
    with db.session() as s:
        s.add(Tenant(id="acme", name="Acme", created_at=datetime.now(UTC)))
    with db.session() as s:
        assert s.execute(text("SELECT count(*) FROM tenants")).scalar() == 1
