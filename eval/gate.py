"""Regression gate and run comparison.

A baseline is a stored run id or a JSON file (``{"metrics": {...}}`` as written by
``--save-baseline``, or a plain metrics object). Nested metric dicts are flattened with
dots (``modes.dense.ndcg@10``). Higher is better except for the names in
:data:`LOWER_IS_BETTER`.

Example:
    >>> r = check_gate({"hit@5": 0.80}, {"hit@5": 0.90}, tolerance=0.02)
    >>> r.passed, r.failures[0].metric
    (False, 'hit@5')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assist.db.evalruns import EvalRunRepository
from assist.errors import InputError, NotFoundError

LOWER_IS_BETTER = ("false_escalation", "fake_rate", "seconds", "latency")
# Counts and settings are reported, not gated.
NOT_GATED = ("queries", "items", "answerable", "unanswerable", "turns", "questions", "n", "knowledge_seeking",
             "current_threshold", "min_dense_score", "oos_threshold", "run_id")


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested metrics dict, keyed by dotted path."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[key] = float(v)
        elif isinstance(v, dict):
            out.update(flatten(v, key + "."))
    return out


def lower_is_better(name: str) -> bool:
    return any(tag in name for tag in LOWER_IS_BETTER)


@dataclass(frozen=True)
class GateRow:
    metric: str
    baseline: float
    current: float | None
    delta: float | None
    failed: bool


@dataclass
class GateResult:
    passed: bool
    rows: list[GateRow] = field(default_factory=list)

    @property
    def failures(self) -> list[GateRow]:
        return [r for r in self.rows if r.failed]

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "rows": [r.__dict__ for r in self.rows]}


def check_gate(current: dict[str, Any], baseline: dict[str, Any], *, tolerance: float = 0.02,
               metrics: list[str] | None = None) -> GateResult:
    """Fail when a gated metric got worse than the baseline by more than ``tolerance``
    (absolute). A metric in the baseline but missing now fails too (a silently dropped
    metric is a regression of the harness)."""
    cur = flatten(current)
    base = flatten(baseline)
    names = metrics or [k for k in base if k.split(".")[-1] not in NOT_GATED and k not in NOT_GATED]
    unknown = [m for m in names if m not in base]
    if unknown:
        raise InputError(f"metrics not in the baseline: {unknown}; known: {sorted(base)}")
    rows = []
    for name in names:
        b = base[name]
        c = cur.get(name)
        if c is None:
            rows.append(GateRow(name, b, None, None, True))
            continue
        delta = c - b
        worse = (delta > tolerance) if lower_is_better(name) else (delta < -tolerance)
        rows.append(GateRow(name, b, c, round(delta, 6), worse))
    return GateResult(passed=not any(r.failed for r in rows), rows=rows)


def load_metrics(ref: str, runs: EvalRunRepository | None) -> dict[str, Any]:
    """Metrics of a run id (needs ``runs``) or of a JSON file."""
    if ref.isdigit():
        if runs is None:
            raise InputError("a run id needs the database")
        run = runs.get(int(ref))
        if run is None:
            raise NotFoundError(f"no eval run {ref}: see `assist eval history`")
        return run.metrics
    path = Path(ref)
    if not path.exists():
        raise InputError(f"{ref} is neither a run id nor a file")
    data = json.loads(path.read_text(encoding="utf-8"))
    return data.get("metrics", data) if isinstance(data, dict) else {}


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Side-by-side numeric metrics of two runs with ``b - a``."""
    fa, fb = flatten(a), flatten(b)
    return [{"metric": k, "a": fa.get(k), "b": fb.get(k),
             "delta": round(fb[k] - fa[k], 6) if k in fa and k in fb else None}
            for k in sorted(set(fa) | set(fb))]
