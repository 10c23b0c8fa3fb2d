"""Request dependencies: the pipeline, the caller's API key (tenant + role) and rate limits.

The API keeps no state in process that another replica would need: keys, articles,
suggestions, feedback and gaps live in the database; rate-limit counters live in the
``limits`` storage named by ``ASSIST_SERVER__RATE_LIMIT_STORAGE`` (``memory://`` for one
process, ``redis://...`` shared by several replicas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from assist.db import Database, KeyRepository
from assist.pipeline import AssistPipeline

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


def get_pipeline(request: Request) -> AssistPipeline:
    pipe = getattr(request.app.state, "pipeline", None)
    if pipe is None:
        raise HTTPException(503, "the service is starting; retry in a moment")
    return pipe


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
