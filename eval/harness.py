"""Shared pieces of the evaluation harness: IR metrics, run records, the pipeline context.

Every evaluation returns an :class:`EvalOutcome` (summary metrics + per-item results) that
:func:`store_outcome` writes to the database (``EvalRunRepository``) with the config, the
model ids and the git commit, so runs can be listed, compared and gated later.

Example:
    >>> agg, per_q = ir_scores({"q1": {"d1": 2.0, "d2": 1.0}}, {"q1": {"d2": 1}})
    >>> round(agg["mrr@10"], 2)
    0.5
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from assist.config import Settings
from assist.db import Database
from assist.db.evalruns import EvalItemRecord, EvalRunRepository

T = TypeVar("T")

# Names we print -> ir-measures measure objects (built lazily: importing ir_measures is slow-ish).
IR_METRICS: dict[str, str] = {
    "ndcg@10": "nDCG@10",
    "recall@1": "R@1",
    "recall@5": "R@5",
    "recall@10": "R@10",
    "recall@100": "R@100",
    "mrr@10": "RR@10",
}


def ir_scores(
    run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query IR metrics (nDCG@10, Recall@1/5/10/100, MRR@10) via ir-measures.

    Queries in ``qrels`` with no results count as 0 (ir-measures skips them otherwise, which
    would flatter a pipeline that returns nothing).

    Args:
        run: ``query id -> {doc id: score}`` (higher = better).
        qrels: ``query id -> {doc id: relevance}``.

    Returns:
        ``(means, per_query)`` keyed by the names in :data:`IR_METRICS`.
    """
    import ir_measures

    measures = {name: ir_measures.parse_measure(m) for name, m in IR_METRICS.items()}
    by_measure = {str(m): name for name, m in measures.items()}
    per_q: dict[str, dict[str, float]] = {q: {n: 0.0 for n in measures} for q in qrels}
    # ir-measures ties by doc id; make ranks explicit so ties keep our order.
    ranked = {q: {d: float(len(docs) - i) for i, d in enumerate(sorted(docs, key=lambda d: -docs[d]))}
              for q, docs in run.items() if docs}
    for m in ir_measures.iter_calc(list(measures.values()), qrels, ranked):
        if m.query_id in per_q:
            per_q[m.query_id][by_measure[str(m.measure)]] = float(m.value)
    n = max(1, len(per_q))
    means = {name: sum(v[name] for v in per_q.values()) / n for name in measures}
    return means, per_q


@dataclass
class EvalOutcome:
    """The result of one evaluation: what the CLI prints and the database keeps."""

    kind: str
    dataset: str
    metrics: dict[str, Any]
    items: list[EvalItemRecord] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    model_ids: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "dataset": self.dataset, "run_id": self.run_id, **self.metrics}


def git_commit(repo: Path | None = None) -> str | None:
    """The checked-out commit (with ``+dirty`` when the tree has changes), or None."""
    cwd = repo or Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def open_db(settings: Settings) -> Database:
    """The migrated database (:func:`assist.runtime.open_database`)."""
    from assist.runtime import open_database

    return open_database(settings)


def store_outcome(db: Database, outcome: EvalOutcome) -> int:
    """Write ``outcome`` as an eval run; sets and returns ``outcome.run_id``."""
    outcome.run_id = EvalRunRepository(db).add(
        outcome.kind,
        outcome.dataset,
        config=outcome.config,
        model_ids=outcome.model_ids,
        metrics=outcome.metrics,
        git_commit=git_commit(),
        items=outcome.items,
    )
    return outcome.run_id


def model_ids(settings: Settings, *, llm: bool = False) -> dict[str, Any]:
    ids: dict[str, Any] = {"embedder": settings.embedder.model,
                           "sparse": settings.sparse.index_id() or settings.sparse.tokenizer}
    if settings.embedder.quantize != "none":
        ids["embedder_quantize"] = settings.embedder.quantize
    if settings.retrieval.rerank_model:
        ids["reranker"] = settings.retrieval.rerank_model
    if llm:
        ids["llm"] = settings.llm.model
        ids["llm_provider"] = settings.llm.provider
    return ids


def offline_env() -> None:
    """No silent model-hub calls from an evaluation run (models are prepared offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@contextmanager
def progress(total: int, description: str, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields ``advance(n)``. Silent when not a terminal."""
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not (enabled and sys.stderr.isatty())) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def limited(rows: Sequence[T], limit: int | None) -> list[T]:
    """The first ``limit`` rows in file order (deterministic; no sampling)."""
    return list(rows[:limit]) if limit else list(rows)


def mean(values: Iterable[float]) -> float:
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from counts (0 where undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def rounded(d: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in d.items()}
