"""The real stack of the pipeline tests (e5-small, embedded Qdrant, SQLite)."""

from tests.unit.pipeline.conftest import e5, stack  # noqa: F401 - fixtures shared with the pipeline tests
