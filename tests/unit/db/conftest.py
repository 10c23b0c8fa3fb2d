"""Database fixtures for the assist.db tests (shared with other suites via tests/db_fixtures.py)."""

from __future__ import annotations

import pytest

from assist.db import ArticleRepository, Database
from tests.db_fixtures import database  # noqa: F401 - re-exported pytest fixture


@pytest.fixture
def articles(database: Database) -> ArticleRepository:  # noqa: F811
    return ArticleRepository(database)
