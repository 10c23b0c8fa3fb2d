"""The tenant's retrieval calibration for knowledge managers: the covered thresholds fitted
from its own content at publish time (``assist/coverage.py``), with the fit's report, and
the fusion weights; POST re-fits the thresholds now.

Mounted in ``serving.app`` with the other routers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from assist.calibration import CalibrationStore, TenantCalibration
from assist.errors import NotFoundError
from serving.deps import KMDep, PipelineDep

router = APIRouter(prefix="/v1/kb", tags=["knowledge loop"])


class CalibrationPublic(BaseModel):
    tenant: str
    calibrated: bool = Field(description="False: no fit yet, the configured thresholds apply.")
    min_dense_score: float = Field(description="Covered when the best dense cosine reaches this.")
    min_sparse_score: float | None = Field(description="...or the best BM25 score reaches this (None: off).")
    by_language: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="Thresholds for questions in one language (zh, en)."
    )
    fusion_weights: list[int] | None = Field(
        description="DBSF weights (dense, sparse) of the tenant's searches."
    )
    fusion_source: str = Field(description="tenant (fitted) or configured.")
    estimated_recall: float | None = Field(None, description="Share of the probe questions covered.")
    estimated_refusal: float | None = Field(None, description="Share of the negatives refused.")
    fitted_at: str | None = None
    updated_at: str | None = None
    coverage_fit: dict[str, Any] = Field(
        default_factory=dict, description="The fit's report (assist/coverage.py)."
    )
    fusion_fit: dict[str, Any] = Field(default_factory=dict)


def _public(tenant: str, cal: TenantCalibration | None, pipe: Any) -> CalibrationPublic:
    r = pipe.retriever
    s = r.settings
    dense, sparse = s.min_dense_score, s.min_sparse_score
    if cal is not None:
        dense, sparse = cal.coverage_thresholds(dense, sparse, embedder=getattr(r.embedder, "model_id", None))
    fit = cal.coverage_fit if cal is not None else {}
    est = fit.get("estimates", {})
    weights = r.fusion_weights(tenant)
    return CalibrationPublic(
        tenant=tenant,
        calibrated=bool(fit),
        min_dense_score=dense,
        min_sparse_score=sparse,
        by_language={
            k: {"min_dense_score": v.min_dense_score, "min_sparse_score": v.min_sparse_score}
            for k, v in (cal.coverage_by_language.items() if cal is not None else [])
        },
        fusion_weights=list(weights) if weights is not None else None,
        fusion_source="tenant" if cal is not None and cal.fusion_weights is not None else "configured",
        estimated_recall=est.get("answerable_recall"),
        estimated_refusal=est.get("refusal"),
        fitted_at=fit.get("fitted_at"),
        updated_at=cal.updated_at.isoformat() if cal is not None else None,
        coverage_fit=fit,
        fusion_fit=cal.fusion_fit if cal is not None else {},
    )


def _store(pipe: Any) -> CalibrationStore:
    cal = pipe.retriever.calibration
    if isinstance(cal, CalibrationStore):
        return cal
    return CalibrationStore(pipe.settings.home / "calibration")


@router.get(
    "/calibration",
    response_model=CalibrationPublic,
    summary="The tenant's covered thresholds (fitted from its content at publish) and fusion weights",
)
async def get_calibration(caller: KMDep, pipe: PipelineDep) -> CalibrationPublic:
    return _public(caller.tenant, _store(pipe).get(caller.tenant), pipe)


@router.post(
    "/calibration",
    response_model=CalibrationPublic,
    summary="Fit the tenant's covered thresholds from its live content now",
)
async def post_calibration(caller: KMDep, pipe: PipelineDep, request: Request) -> CalibrationPublic:
    ix = getattr(request.app.state, "indexer", None)
    calibrator = getattr(ix, "coverage", None)
    if calibrator is None:
        raise NotFoundError("coverage calibration is not available in this service")
    cal = await calibrator.schedule(caller.tenant)
    if cal is None:
        raise NotFoundError(f"tenant {caller.tenant!r} has no published article to calibrate on")
    return _public(caller.tenant, cal, pipe)
