"""The small real stack of tests/unit/pipeline (e5-small, the embedded Qdrant engine, SQLite)."""

from tests.unit.pipeline.conftest import e5, stack  # noqa: F401
