"""The FastAPI application.

``create_app(settings)`` assembles everything once in the lifespan with
:func:`assist.runtime.open_runtime` (database, embedder, vector store, pipeline and, on
embedded defaults, the local model server as a child process) plus the indexer, into
``app.state``; routers stay thin.

Example:
    >>> app = create_app(Settings())          # then: uvicorn.run(app)
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from assist.config import Settings
from assist.db import Database
from assist.llm.base import ChatModel
from assist.runtime import open_runtime
from serving import errors
from serving.deps import RateLimiter, TenantRuntimes
from serving.guards import BodyGuard, redact_query
from serving.metrics import Metrics, MetricsMiddleware
from serving.routes import articles, assist, calibration, chat, feedback, health, kb_loop, ops, search, tenant

log = logging.getLogger("serving")
STATIC = Path(__file__).resolve().parent / "static"


class _ServicePiiFilter(logging.Filter):
    """``PiiLogFilter`` that keeps ``uvicorn.access`` records' args tuple intact.

    uvicorn's access formatter unpacks ``record.args`` (client, method, path, version,
    status); ``PiiLogFilter`` clears args, which made every access line a "Logging error".
    Here each string arg is redacted in place instead.
    """

    def __init__(self, inner: logging.Filter) -> None:
        super().__init__()
        self.inner = inner

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_assist_pii_masked", False):
            return True
        record._assist_pii_masked = True  # type: ignore[attr-defined]
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            redact = self.inner.masker.redact  # type: ignore[attr-defined]
            record.msg = redact(str(record.msg))
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            if len(record.args) >= 3 and isinstance(record.args[2], str):  # the request target
                record.args = (*record.args[:2], redact_query(record.args[2]), *record.args[3:])
            return True
        return self.inner.filter(record)


def _install_log_filter(masker: Any = None) -> None:
    """Mask personal data in every log record of the process.

    A filter on the root logger does not see records propagated from child loggers, and
    handlers added later (log shippers, pytest's caplog) would miss a per-handler filter;
    so the record factory masks each record as it is created, whichever logger or handler
    it goes to. The filter is also put on existing handlers and uvicorn's loggers.
    """
    try:
        from assist.privacy import PiiLogFilter
    except ImportError:  # pragma: no cover
        return
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_assist_pii", False):
        if masker is not None:  # installed before the tenants were known: widen its patterns
            factory._assist_filter.inner.masker = masker  # type: ignore[attr-defined]
        return
    f = _ServicePiiFilter(PiiLogFilter(masker))

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            f.filter(record)
        except Exception:  # logging must never fail because of masking
            record.msg, record.args = "<log message dropped: PII masking failed>", None
        return record

    masking_factory._assist_pii = True  # type: ignore[attr-defined]
    masking_factory._assist_filter = f  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
    root = logging.getLogger()
    for h in root.handlers:
        h.addFilter(f)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(f)


async def _warn_if_index_missing(pipe: Any, db: Database) -> None:
    """Log once at start-up what /readyz reports: an empty index beside a populated database."""
    try:
        problem = await health.missing_index(pipe, db)
    except Exception:  # /readyz reports store and database errors; this is advice only
        return
    if problem:
        log.warning("%s", problem)


def create_app(settings: Settings, *, llm: ChatModel | None = None, pipeline: Any = None,
               indexer: Any = None) -> FastAPI:
    """Build the app. ``llm``/``pipeline``/``indexer`` override the configured ones (tests)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        _install_log_filter()
        from kb_ingest.indexing import Indexer

        async with open_runtime(settings, llm=llm, pipeline=pipeline) as rt:
            pipe = rt.pipeline
            pipe.on_event = metrics.on_event
            _install_log_filter(pipe.registry.log_masker())  # every tenant's identifier patterns
            app.state.runtime = rt
            app.state.db = rt.db
            app.state.pipeline = pipe
            app.state.indexer = indexer or Indexer.from_runtime(rt, batch_size=256)
            # Tenants switched to an adapted embedder get their own runtime (serving.deps).
            app.state.tenant_runtimes = TenantRuntimes(
                rt, make_indexer=lambda trt: Indexer.from_runtime(trt, batch_size=256))
            try:  # finish publishes a killed process left half done (index = live pointer)
                await app.state.indexer.recover()
            except Exception:
                log.exception("could not recover interrupted publishes; `assist reindex` repairs them")
            # Models, tenant rules and entity resolvers live as long as the process: move them
            # out of the cyclic collector's generations, so a collection triggered by a request
            # does not walk them (tens of ms per full collection with a large heap).
            gc.collect()
            gc.freeze()
            log.info("ready: embedder=%s llm=%s store=%s", rt.embedder.model_id, rt.llm.model_id,
                     type(rt.store).__name__)
            await _warn_if_index_missing(pipe, rt.db)
            try:
                yield
            finally:
                await app.state.tenant_runtimes.close()

    app = FastAPI(
        title="Agent-assist and knowledge service",
        version="0.1.0",
        description="Hybrid search, cited reply drafts, escalation, quality checks and knowledge publishing "
                    "for customer-service centres. Every error, JSON or in a stream, uses one envelope "
                    '`{"error": {"type", "code", "message"}}` (`ErrorEnvelope`).',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.rate_limiter = RateLimiter(settings.server.rate_limit, settings.server.rate_limit_storage)
    errors.install(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.server.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.server.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT"], allow_headers=["Authorization", "Content-Type",
                                                                                 "X-API-Key"])

    # Body limit, declared or streamed (counted while read), and invalid Unicode in JSON: 413/422.
    app.add_middleware(BodyGuard, max_bytes=settings.server.max_request_bytes)

    for r in (search.router, assist.router, chat.router, articles.router, feedback.router, health.router,
              tenant.router, calibration.router):
        app.include_router(r, responses=errors.ERROR_RESPONSES)
    kb_loop.install(app)  # /v1/kb/golden|gate|suggestions|stale, and the 409 of a blocked publish
    ops.install(app)  # /v1/ops/*, the /ops page and the red-line gauge of /metrics
    if (STATIC / "widget").exists():
        app.mount("/widget", StaticFiles(directory=STATIC / "widget", html=True), name="widget")
    if (STATIC / "km").exists():
        app.mount("/km", StaticFiles(directory=STATIC / "km", html=True), name="km")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
