"""Per-tenant retrieval calibration: the fusion weights (and coverage thresholds) that fit
one tenant's knowledge, stored as one JSON file per tenant under ``HOME/calibration``.

What fits one corpus does not fit another: on a phone manual the lexical list is the
better one (``en_emanual_qa``: sparse nDCG@10 0.879, dense 0.795), on colloquial bank
questions the dense one (``zh_bq_faq``: dense 0.224, sparse 0.165). A tenant's weights
are chosen on labelled questions of that tenant (:func:`fit_fusion`, e.g. ``assist eval
retrieval --fit-fusion`` on the first half of a set) and every search of the tenant then
uses them; without a calibration the configured ``retrieval.fusion_weights`` apply.

The covered thresholds (``min_dense_score``, ``min_sparse_score``, per query language in
``coverage_by_language``) are fitted from the tenant's own content after each publish by
:mod:`assist.coverage` (``assist kb calibrate`` on demand); the report of that fit is
``coverage_fit``, shown to knowledge managers on GET /v1/kb/calibration and in /km.

Example:
    >>> store = CalibrationStore(Path("/tmp/home/calibration"))              # doctest: +SKIP
    >>> store.save(TenantCalibration(tenant="nova", fusion_weights=(2, 1)))
    >>> store.get("nova").fusion_weights
    (2, 1)
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assist.errors import InputError
from assist.stores.base import MAX_DBSF_WEIGHT, dbsf_prefetches

log = logging.getLogger(__name__)

__all__ = ["FUSION_GRID", "CalibrationSource", "CalibrationStore", "CoverageThresholds", "TenantCalibration",
           "fit_fusion", "ndcg_at_10"]

FUSION_GRID: tuple[tuple[int, int], ...] = ((1, 0), (4, 1), (3, 1), (2, 1), (1, 1), (1, 2), (1, 3), (1, 4), (0, 1))
"""The DBSF weights (dense, sparse) a fit chooses among: from dense only to sparse only."""

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class CoverageThresholds(BaseModel):
    """The covered thresholds for one query language (``min_sparse_score`` None: the lexical rule off)."""

    min_dense_score: float
    min_sparse_score: float | None = None


class TenantCalibration(BaseModel):
    """One tenant's calibration (what the knowledge manager sees on GET /v1/kb/calibration)."""

    tenant: str
    fusion_weights: tuple[int, int] | None = None
    """DBSF weights (dense, sparse) for this tenant's searches; None: the configured ones."""
    fusion_fit: dict[str, Any] = Field(default_factory=dict)
    """How the weights were chosen: source, questions, nDCG@10 of every candidate."""
    min_dense_score: float | None = None
    """Covered when the best dense cosine reaches this (None: ``retrieval.min_dense_score``)."""
    min_sparse_score: float | None = None
    """...or the best BM25 score reaches this. Without a coverage fit None means the
    configured ``retrieval.min_sparse_score``; with one (``coverage_fit``), the rule off."""
    coverage_by_language: dict[str, CoverageThresholds] = Field(default_factory=dict)
    """Thresholds fitted for questions in one language (``zh``, ``en``; cross-lingual
    questions score lower), over ``min_dense_score``/``min_sparse_score``."""
    coverage_fit: dict[str, Any] = Field(default_factory=dict)
    """How the coverage thresholds were fitted (``assist/coverage.py``): probes, score
    distributions, chosen thresholds, estimated recall/refusal, when, revisions, embedder."""
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


    def coverage_thresholds(self, default_dense: float, default_sparse: float | None, *,
                            language: str | None = None, embedder: str | None = None) -> tuple[float, float | None]:
        """(min_dense, min_sparse) for a question in ``language``: the fitted ones of that
        language, else the tenant's, else the configured defaults. A fit made with another
        embedder (``coverage_fit.embedder``) does not apply: its cosines are another scale."""
        fitted_with = self.coverage_fit.get("embedder")
        if fitted_with and embedder and fitted_with != embedder:
            return default_dense, default_sparse
        if language and language in self.coverage_by_language:
            th = self.coverage_by_language[language]
            return th.min_dense_score, th.min_sparse_score
        dense = self.min_dense_score if self.min_dense_score is not None else default_dense
        if self.coverage_fit:
            return dense, self.min_sparse_score
        return dense, self.min_sparse_score if self.min_sparse_score is not None else default_sparse


CalibrationSource = Callable[[str], TenantCalibration | None]
"""``tenant -> calibration`` (None: the configured defaults)."""


class CalibrationStore:
    """Tenant calibrations as JSON files, re-read when a file changes (another process, the
    CLI, may recalibrate while the service runs).

    Args:
        root: The folder (``HOME/calibration``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[str, tuple[float, TenantCalibration | None]] = {}
        self._lock = threading.Lock()

    def _path(self, tenant: str) -> Path:
        if not _TENANT.match(tenant):
            raise InputError(f"invalid tenant id {tenant!r}")
        return self.root / f"{tenant}.json"

    def get(self, tenant: str) -> TenantCalibration | None:
        path = self._path(tenant)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            hit = self._cache.get(tenant)
            if hit is not None and hit[0] == mtime:
                return hit[1]
        try:
            cal: TenantCalibration | None = TenantCalibration.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:  # a broken file must not break the tenant's searches
            log.warning("ignoring the calibration %s (the configured defaults apply): %s", path, e)
            cal = None
        with self._lock:
            self._cache[tenant] = (mtime, cal)
        return cal

    __call__ = get

    def save(self, cal: TenantCalibration) -> Path:
        """Write (replace) the tenant's calibration atomically."""
        if cal.fusion_weights is not None:
            dbsf_prefetches(cal.fusion_weights)  # refuse weights the stores cannot run
        path = self._path(cal.tenant)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(cal.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)
        return path

    def update(self, tenant: str, **fields: Any) -> TenantCalibration:
        """Change some fields of the tenant's calibration (creating it), keep the others."""
        current = self.get(tenant) or TenantCalibration(tenant=tenant)
        cal = current.model_copy(update={**fields, "updated_at": datetime.now(UTC)})
        self.save(cal)
        return cal


def ndcg_at_10(ranked: Sequence[str], gold: Mapping[str, int]) -> float:
    """nDCG@10 with linear gains (trec_eval's, as ir-measures computes it)."""
    dcg = sum(gold.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(gold.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal) if g > 0)
    return dcg / idcg if idcg else 0.0


def fit_fusion(scores: Mapping[tuple[int, int], Sequence[float]], *, default: tuple[int, int] = (1, 1),
               min_gain: float = 0.0) -> tuple[tuple[int, int], dict[str, Any]]:
    """Choose the DBSF weights with the best mean per-question score (nDCG@10).

    ``scores`` maps each candidate of :data:`FUSION_GRID` to its per-question scores on the
    fitting questions. The configured ``default`` is kept unless a candidate beats it by
    more than ``min_gain``; ties go to the candidate nearer equal weights.

    Returns:
        The weights and a report (``{"questions", "means": {"2:1": 0.51, ...}, "chosen"}``).
    """
    if not scores:
        raise InputError("no fusion candidates to fit")
    for w in scores:
        if not all(0 <= x <= MAX_DBSF_WEIGHT for x in w):
            raise InputError(f"fusion weights {w} outside 0..{MAX_DBSF_WEIGHT}")
    means = {w: (sum(v) / len(v) if v else 0.0) for w, v in scores.items()}
    best = max(means, key=lambda w: (round(means[w], 9), -abs(math.log((w[0] + 0.5) / (w[1] + 0.5)))))
    chosen = best if default not in means or means[best] > means[default] + min_gain else default
    report = {"questions": max((len(v) for v in scores.values()), default=0),
              "means": {f"{w[0]}:{w[1]}": round(m, 4) for w, m in means.items()},
              "chosen": f"{chosen[0]}:{chosen[1]}"}
    return chosen, report

