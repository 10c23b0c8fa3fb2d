"""Nested sessions join one transaction: a batch commits or rolls back as a whole."""

from __future__ import annotations

import pytest

from assist.db import ArticleRepository
from assist.types import ArticleMeta, Block


def _meta(i: int) -> ArticleMeta:
    return ArticleMeta(id=f"a{i}", title=f"A{i}", language="en")


def test_batch_commits_together(database) -> None:
    repo = ArticleRepository(database)
    with database.session():
        for i in range(3):
            repo.create_revision("t", _meta(i), [Block(text="x")], f"h{i}", "me")
    assert len(repo.list_articles("t")) == 3


def test_batch_rolls_back_together(database) -> None:
    repo = ArticleRepository(database)
    with pytest.raises(RuntimeError), database.session():
        repo.create_revision("t", _meta(1), [Block(text="x")], "h1", "me")
        repo.create_revision("t", _meta(2), [Block(text="x")], "h2", "me")
        raise RuntimeError("killed mid-batch")
    assert repo.list_articles("t") == []
