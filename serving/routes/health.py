from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

router = APIRouter(tags=["health"])
_I18N = Path(__file__).resolve().parents[1] / "static" / "i18n.js"


@router.get("/i18n.js", include_in_schema=False)
def i18n() -> FileResponse:
    """The zh/en interface strings shared by /widget and /km (which load ``../i18n.js``)."""
    return FileResponse(_I18N, media_type="text/javascript; charset=utf-8")


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def missing_index(pipe: Any, db: Any) -> str | None:
    """Why the index cannot answer although the database has knowledge, or None.

    An empty collection beside a populated database: the embedder was switched (each model
    and sparse encoding has its own collection) or the index moved or was lost. Search
    would answer "not covered" to everything; readiness and the start-up log say so.
    Store and database errors propagate (readiness reports them).
    """
    if await pipe.store.count(None):
        return None
    from assist.db import ArticleRepository

    expected = await asyncio.to_thread(ArticleRepository(db).indexed_revision_count)
    if not expected:
        return None
    return (f"the index for embedder {pipe.embedder.model_id} is empty but the database has {expected} "
            "indexed revisions (embedder switched, or index moved or lost): run `assist kb reindex --all-tenants`")


@router.get("/readyz", summary="Readiness: database, vector store and model server checked")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}

    def db_ok() -> None:
        state.db.ping()

    try:
        await asyncio.wait_for(asyncio.to_thread(db_ok), 5)
        checks["database"] = "ok"
    except Exception as e:  # readiness reports, never raises
        checks["database"] = f"error: {getattr(e, 'message', e)}"
    pipe = getattr(state, "pipeline", None)
    if pipe is None:
        checks["pipeline"] = "starting"
    else:
        try:
            problem = await asyncio.wait_for(missing_index(pipe, state.db), 5)
            checks["vector_store"] = f"error: {problem}" if problem else "ok"
        except Exception as e:
            checks["vector_store"] = f"error: {getattr(e, 'message', e)}"
        try:
            ok = await asyncio.wait_for(pipe.llm.health(), 5)
            checks["model_server"] = "ok" if ok else "error: not answering"
        except Exception as e:
            checks["model_server"] = f"error: {getattr(e, 'message', e)}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
