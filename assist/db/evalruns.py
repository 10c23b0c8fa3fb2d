"""Evaluation runs and their per-item results, to compare configurations over time."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from assist.errors import InputError

from .engine import Database
from .models import EvalItem, EvalRun, utcnow


class EvalItemRecord(BaseModel):
    """One evaluated sample: its metrics and whatever detail the harness keeps (answers, ids)."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    metrics: dict[str, Any] = Field(default_factory=dict)
    detail: dict[str, Any] = Field(default_factory=dict)


class EvalRunRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    dataset: str
    config: dict[str, Any]
    model_ids: dict[str, Any]
    git_commit: str | None
    metrics: dict[str, Any]
    created_at: datetime
    items: list[EvalItemRecord] = Field(default_factory=list)
    """Filled by :meth:`EvalRunRepository.get`; empty in lists."""


class EvalRunRepository:
    """Stores evaluation runs with their items (one transaction per run).

    Example:
        >>> runs = EvalRunRepository(db)
        >>> run_id = runs.add("retrieval", "golden-zh", config={"top_k": 5},
        ...                   model_ids={"embedder": "e5-small"}, metrics={"ndcg@5": 0.81},
        ...                   items=[EvalItemRecord(item_id="q1", metrics={"ndcg@5": 1.0})])
        >>> runs.latest(kind="retrieval").metrics["ndcg@5"]
        0.81
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        kind: str,
        dataset: str,
        *,
        config: dict[str, Any],
        model_ids: dict[str, Any],
        metrics: dict[str, Any],
        git_commit: str | None = None,
        items: Sequence[EvalItemRecord] = (),
    ) -> int:
        """Store a run and its items; returns the run id."""
        ids = [i.item_id for i in items]
        if len(set(ids)) != len(ids):
            raise InputError("eval items must have unique item_id values within a run")
        with self.db.session() as s:
            run = EvalRun(
                kind=kind,
                dataset=dataset,
                config=config,
                model_ids=model_ids,
                git_commit=git_commit,
                metrics=metrics,
                created_at=utcnow(),
            )
            s.add(run)
            s.flush()
            s.add_all(
                EvalItem(run_id=run.id, item_id=i.item_id, metrics=i.metrics, detail=i.detail) for i in items
            )
            return run.id

    def get(self, run_id: int) -> EvalRunRecord | None:
        """A run with all its items (ordered by item id), or None."""
        with self.db.session(readonly=True) as s:
            run = s.get(EvalRun, run_id)
            if run is None:
                return None
            items = s.scalars(select(EvalItem).where(EvalItem.run_id == run_id).order_by(EvalItem.item_id))
            return _record(run, [EvalItemRecord.model_validate(i, from_attributes=True) for i in items])

    def list(
        self, *, kind: str | None = None, dataset: str | None = None, limit: int = 50
    ) -> builtins.list[EvalRunRecord]:
        """Runs without their items, newest first."""
        q = select(EvalRun)
        if kind is not None:
            q = q.where(EvalRun.kind == kind)
        if dataset is not None:
            q = q.where(EvalRun.dataset == dataset)
        with self.db.session(readonly=True) as s:
            return [_record(r, []) for r in s.scalars(q.order_by(EvalRun.id.desc()).limit(limit))]

    def latest(self, *, kind: str | None = None, dataset: str | None = None) -> EvalRunRecord | None:
        """The newest run (with items) matching the filters, or None."""
        runs = self.list(kind=kind, dataset=dataset, limit=1)
        return self.get(runs[0].id) if runs else None


def _record(run: EvalRun, items: builtins.list[EvalItemRecord]) -> EvalRunRecord:
    return EvalRunRecord(
        id=run.id,
        kind=run.kind,
        dataset=run.dataset,
        config=run.config,
        model_ids=run.model_ids,
        git_commit=run.git_commit,
        metrics=run.metrics,
        created_at=run.created_at,
        items=items,
    )
