"""EvalRunRepository: runs with items round-trip intact; list and latest."""

from __future__ import annotations

import pytest

from assist.db import Database, EvalItemRecord, EvalRunRepository
from assist.errors import InputError


def test_eval_run_round_trip(database: Database) -> None:
    runs = EvalRunRepository(database)
    items = [
        EvalItemRecord(item_id="q2", metrics={"ndcg@5": 0.5}, detail={"retrieved": ["c3", "c1"]}),
        EvalItemRecord(item_id="q1", metrics={"ndcg@5": 1.0}, detail={"answer": "三天内到账"}),
    ]
    run_id = runs.add(
        "retrieval",
        "golden-zh",
        config={"top_k": 5, "fusion": "rrf"},
        model_ids={"embedder": "e5-small", "llm": None},
        metrics={"ndcg@5": 0.75, "n": 2},
        git_commit="abc123",
        items=items,
    )
    got = runs.get(run_id)
    assert got is not None
    assert (got.kind, got.dataset, got.git_commit) == ("retrieval", "golden-zh", "abc123")
    assert got.config == {"top_k": 5, "fusion": "rrf"} and got.model_ids == {
        "embedder": "e5-small",
        "llm": None,
    }
    assert got.metrics == {"ndcg@5": 0.75, "n": 2}
    assert got.items == sorted(items, key=lambda i: i.item_id)
    assert got.created_at.tzinfo is not None
    assert runs.get(run_id + 1000) is None


def test_list_and_latest(database: Database) -> None:
    runs = EvalRunRepository(database)
    assert runs.latest() is None
    a = runs.add("retrieval", "d1", config={}, model_ids={}, metrics={"m": 1})
    b = runs.add("drafting", "d1", config={}, model_ids={}, metrics={"m": 2})
    c = runs.add(
        "retrieval", "d2", config={}, model_ids={}, metrics={"m": 3}, items=[EvalItemRecord(item_id="x")]
    )
    assert [r.id for r in runs.list()] == [c, b, a]
    assert [r.id for r in runs.list(kind="retrieval")] == [c, a]
    assert [r.id for r in runs.list(dataset="d1")] == [b, a]
    latest = runs.latest(kind="retrieval")
    assert latest is not None and latest.id == c and [i.item_id for i in latest.items] == ["x"]
    assert runs.list()[0].items == []  # lists stay light


def test_duplicate_item_ids_are_refused(database: Database) -> None:
    with pytest.raises(InputError):
        EvalRunRepository(database).add(
            "k",
            "d",
            config={},
            model_ids={},
            metrics={},
            items=[EvalItemRecord(item_id="a"), EvalItemRecord(item_id="a")],
        )
