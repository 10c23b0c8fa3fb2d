"""Request dependencies: the pipeline, the caller's API key (tenant + role) and rate limits.

The API keeps no state in process that another replica would need: keys, articles,
suggestions, feedback and gaps live in the database; rate-limit counters live in the
``limits`` storage named by ``ASSIST_SERVER__RATE_LIMIT_STORAGE`` (``memory://`` for one
process, ``redis://...`` shared by several replicas).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import Depends, HTTPException, Request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from assist.db import Database, KeyRepository
from assist.embedders.versions import REGISTRY_FILE, active_model_path, tenant_models_dir
from assist.errors import AssistError
from assist.pipeline import AssistPipeline
from assist.runtime import Runtime

log = logging.getLogger("serving")

ROLES_READ = {"agent", "bot", "knowledge_manager", "evaluator", "admin"}


@dataclass(frozen=True)
class Caller:
    key_id: int | None
    name: str
    role: str
    tenant: str


class RateLimiter:
    def __init__(self, spec: str, storage_uri: str = "memory://") -> None:
        self.limit = parse(spec)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, key: str) -> bool:
        return self.limiter.hit(self.limit, key)


class TenantRuntimes:
    """Per-tenant runtimes for tenants with an active adapted embedder (``assist models adapt``).

    A tenant without one uses the main runtime (``None`` here; the cost is one ``stat`` of its
    ``active.json`` per request). Otherwise :meth:`Runtime.for_tenant` builds, once per
    (tenant, active model), a runtime with that model and its own collection, sharing the
    database, chat model, sparse encoder and tenant rules; its indexer publishes into that
    collection. A switch or rollback (``active.json`` replaced: new mtime/inode) is picked up
    on the next request. Runtimes stay open until :meth:`close` (shutdown): a request still
    running on a switched-away model finishes on it, and switching back reuses it.
    """

    def __init__(self, main: Runtime, *, make_indexer: Callable[[Runtime], Any]) -> None:
        self.main = main
        self.make_indexer = make_indexer
        self._seen: dict[str, tuple[tuple[int, int, int] | None, tuple[Runtime, Any] | None]] = {}
        self._built: dict[tuple[str, str], tuple[Runtime, Any]] = {}
        self._lock = asyncio.Lock()

    def _stamp(self, tenant: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(tenant_models_dir(self.main.settings, tenant) / REGISTRY_FILE)
        except (OSError, AssistError):  # never adapted (or not a plain tenant id)
            return None
        return st.st_mtime_ns, st.st_ino, st.st_size

    async def get(self, tenant: str) -> tuple[Runtime, Any] | None:
        """The tenant's (runtime, indexer), or None: the main ones."""
        stamp = self._stamp(tenant)
        if stamp is None:
            return None
        seen = self._seen.get(tenant)
        if seen is not None and seen[0] == stamp:
            return seen[1]
        async with self._lock:  # one build at a time; models load in a worker thread
            seen = self._seen.get(tenant)
            if seen is not None and seen[0] == stamp:
                return seen[1]
            path = await anyio.to_thread.run_sync(active_model_path, self.main.settings, tenant)
            entry = None
            if path is not None:
                entry = self._built.get((tenant, str(path)))
                if entry is None:
                    rt = await anyio.to_thread.run_sync(self.main.for_tenant, tenant)
                    if rt is not None:
                        entry = (rt, self.make_indexer(rt))
                        self._built[(tenant, str(path))] = entry
                        log.info("tenant %s: adapted embedder %s, collection %s", tenant,
                                 rt.embedder.model_id, getattr(rt.store, "collection", "?"))
            self._seen[tenant] = (stamp, entry)
            return entry

    async def close(self) -> None:
        built, self._built, self._seen = self._built, {}, {}
        for rt, _ in built.values():
            try:
                await rt.close()
            except Exception:
                log.exception("closing the runtime of an adapted embedder")


async def _tenant_entry(request: Request, tenant: str) -> tuple[Runtime, Any] | None:
    runtimes: TenantRuntimes | None = getattr(request.app.state, "tenant_runtimes", None)
    return None if runtimes is None else await runtimes.get(tenant)


async def pipeline_for(request: Request, tenant: str) -> AssistPipeline:
    """The pipeline that serves ``tenant``: its adapted embedder's, else the main one."""
    pipe = getattr(request.app.state, "pipeline", None)
    if pipe is None:
        raise HTTPException(503, "the service is starting; retry in a moment")
    entry = await _tenant_entry(request, tenant)
    return pipe if entry is None else entry[0].pipeline


async def indexer_for(request: Request, tenant: str) -> Any:
    """The indexer that publishes ``tenant``'s articles (into its adapted model's collection)."""
    ix = getattr(request.app.state, "indexer", None)
    if ix is None:
        raise HTTPException(503, "the service is starting; retry in a moment")
    entry = await _tenant_entry(request, tenant)
    return ix if entry is None else entry[1]


def get_db(request: Request) -> Database:
    return request.app.state.db


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    # Never from the query string: URLs end up in access logs and browser history.
    return request.headers.get("x-api-key")


def get_caller(request: Request) -> Caller:
    settings = request.app.state.settings
    token = _token(request)
    if not settings.server.require_auth and not token:
        return Caller(None, "anonymous", "admin", settings.default_tenant)
    if not token:
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>' (create one with `assist keys create`)",
                            headers={"WWW-Authenticate": "Bearer"})
    record = KeyRepository(request.app.state.db).verify(token)
    if record is None:
        raise HTTPException(401, "invalid, revoked or expired API key", headers={"WWW-Authenticate": "Bearer"})
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None and not limiter.hit(f"key:{record.id}"):
        raise HTTPException(429, f"rate limit exceeded ({settings.server.rate_limit} per key)",
                            headers={"Retry-After": "1"})
    return Caller(record.id, record.name, record.role, record.tenant)


async def get_pipeline(request: Request, caller: Annotated[Caller, Depends(get_caller)]) -> AssistPipeline:
    """The caller's tenant's pipeline (FastAPI resolves ``get_caller`` once per request)."""
    return await pipeline_for(request, caller.tenant)


def require(*roles: str):
    allowed = set(roles) | {"admin"}

    def dep(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role not in allowed:
            raise HTTPException(403, f"role {caller.role!r} may not do this; needs one of {sorted(allowed)}")
        return caller

    return dep


PipelineDep = Annotated[AssistPipeline, Depends(get_pipeline)]
DbDep = Annotated[Database, Depends(get_db)]
CallerDep = Annotated[Caller, Depends(get_caller)]
AgentDep = Annotated[Caller, Depends(require("agent", "bot", "knowledge_manager", "evaluator"))]
KMDep = Annotated[Caller, Depends(require("knowledge_manager"))]
AnyReaderDep = Annotated[Caller, Depends(require(*ROLES_READ))]
