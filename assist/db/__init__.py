"""The SQL source of truth: articles and their revisions, workflow, API keys, suggestions,
feedback, knowledge gaps and evaluation runs, on SQLite (embedded) or PostgreSQL.

Example:
    >>> from assist.db import Database, ArticleRepository
    >>> db = Database.from_settings(settings)
    >>> db.migrate()
    >>> ArticleRepository(db).list_articles("default")
    []
"""

from __future__ import annotations

from . import golden as _golden  # noqa: F401  - registers the golden set (knowledge loop) on the metadata
from . import ops as _ops  # noqa: F401  - registers the ops tables (assist ops) on the metadata
from .engine import Database, alembic_config
from .repository import *  # noqa: F403 - the repository API is this package's API
from .repository import __all__ as _repository_all

__all__ = ["Database", "alembic_config", *_repository_all]
