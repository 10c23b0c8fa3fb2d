"""Reusable database fixtures: one migrated, empty database per test, on SQLite and PostgreSQL.

Use it from any conftest or test module::

    from tests.db_fixtures import database  # noqa: F401  (a pytest fixture)

    def test_something(database: Database) -> None: ...

The PostgreSQL case is marked ``postgres``. It reads ``ASSIST_TEST_PG_URL``
(``export ASSIST_TEST_PG_URL=$(scripts/pg_test_db.sh)``): unset, it is skipped with that hint;
set but unreachable, it FAILS, so CI cannot go green without PostgreSQL. Each PostgreSQL test
gets its own schema (created, migrated, dropped), which is faster than a database per test
and lets tests run in parallel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assist.db import Database
from assist.errors import DatabaseError

PG_ENV = "ASSIST_TEST_PG_URL"
BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.unit, id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
]


def pg_url_or_skip() -> str:
    """The test PostgreSQL URL, or skip the test when ASSIST_TEST_PG_URL is unset."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"{PG_ENV} is not set: run `export {PG_ENV}=$(scripts/pg_test_db.sh)` to test on PostgreSQL"
        )
    return url


def make_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """Yield a freshly migrated database for ``backend`` and clean it up afterwards."""
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'db' / 'assist.db'}")
        db.migrate()
        try:
            yield db
        finally:
            db.dispose()
        return

    url = pg_url_or_skip()
    admin = Database(url)
    try:
        admin.ping()
    except DatabaseError as e:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {e.message}")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    db = Database(url, schema=schema)
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.connection() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty :class:`Database`, once on SQLite and once on PostgreSQL."""
    yield from make_database(request.param, tmp_path)
