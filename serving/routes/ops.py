"""``/v1/ops``: the supervisors' API, and the ``/ops`` page.

* ``POST /v1/ops/conversations``: a ticketing system delivers a finished conversation
  (roles ``bot``, ``supervisor``, ``admin``); idempotent by id: a redelivery changes nothing,
  a changed conversation (reopened) replaces the stored one. The reply says which, with the
  conversation's QA score and findings.
* ``GET /v1/ops/summary|kpis|conversations|conversations/{id}|alerts|topics``: the dashboard
  (roles ``supervisor``, ``evaluator``, ``admin``).

Red-line alerts raised here go to ``ASSIST_OPS__WEBHOOK_URL``; ``/metrics`` counts them
(``assist_ops_alerts_total``) and shows the lines firing now (``assist_ops_red_lines_firing``).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.staticfiles import StaticFiles

from assist.ops.importer import ConversationIn
from assist.ops.service import OpsService
from serving.deps import Caller, require

router = APIRouter(prefix="/v1/ops", tags=["ops"])
STATIC = Path(__file__).resolve().parent.parent / "static" / "ops"

WriterDep = Annotated[Caller, Depends(require("bot", "supervisor"))]
ReaderDep = Annotated[Caller, Depends(require("supervisor", "evaluator"))]


def get_ops(request: Request) -> OpsService:
    app = request.app
    ops = getattr(app.state, "ops", None)
    if ops is None:
        from assist.ops.alerts import WebhookNotifier
        from assist.tenants import TenantRegistry

        settings = app.state.settings
        pipe = getattr(app.state, "pipeline", None)
        registry = getattr(pipe, "registry", None) or TenantRegistry(settings.tenants_dir)
        notifier = None
        if settings.ops.webhook_url:
            notifier = WebhookNotifier(settings.ops.webhook_url, timeout_s=settings.ops.webhook_timeout_s,
                                       attempts=settings.ops.webhook_attempts)
        metrics = getattr(app.state, "metrics", None)
        ops = OpsService(app.state.db, registry, notifier=notifier, retention_days=settings.ops.retention_days,
                         on_event=metrics.on_event if metrics is not None else None)
        app.state.ops = ops
        app.state.ops_topics = {}
    return ops


OpsDep = Annotated[OpsService, Depends(get_ops)]


@router.post("/conversations", summary="Deliver a finished conversation (idempotent by id)")
async def post_conversation(body: ConversationIn, caller: WriterDep, ops: OpsDep) -> dict[str, Any]:
    rep = await anyio.to_thread.run_sync(lambda: ops.import_one(caller.tenant, body))
    status = "stored" if rep.stored else "updated" if rep.updated else "unchanged"
    conv = await anyio.to_thread.run_sync(lambda: ops.conversation(caller.tenant, body.id))
    return {"id": body.id, "status": status, "qa_score": conv["qa_score"], "qa_passed": conv["qa_passed"],
            "findings": conv["findings"], "predicted_satisfaction": conv["predicted_satisfaction"],
            "satisfaction_reasons": conv["satisfaction_reasons"]}


@router.get("/summary", summary="Today's red lines, KPIs with trends")
async def summary(caller: ReaderDep, ops: OpsDep, day: date | None = None,
                  days: Annotated[int, Query(ge=1, le=366)] = 30) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        t = caller.tenant
        today = day or ops.last_day(t) or date.today()
        trend = ops.kpis(t, by=("day",), start=today - timedelta(days=days - 1), end=today)
        today_row = next((r for r in trend if r["day"] == today.isoformat()), None)
        month = today.strftime("%Y-%m")
        profile = ops.profile(t)
        lines = []
        for line in profile.red_lines:
            value = today_row.get(line.metric) if today_row else None
            lines.append({"metric": line.metric, "threshold": line.threshold,
                          "direction": "above" if line.above is not None else "below", "window": line.window,
                          "value": value, "crossed": line.crossed(value) and bool(today_row)
                          and today_row["conversations"] >= line.min_conversations})
        return {"tenant": t, "day": today.isoformat(), "today": today_row, "red_lines": lines,
                "firing": ops.alerts(t, state="firing"), "alerts": ops.alerts(t, month=month),
                "month": ops.kpis(t, month=month)[0], "targets": profile.targets, "trend": trend,
                "agents": ops.kpis(t, by=("agent",), month=month), "queues": ops.kpis(t, by=("queue",), month=month),
                "months": ops.months(t)}

    return await anyio.to_thread.run_sync(run)


@router.get("/kpis", summary="KPIs grouped by day/week/month/agent/queue/channel/topic")
async def get_kpis(caller: ReaderDep, ops: OpsDep, by: Annotated[list[str] | None, Query()] = None,
                   month: str | None = None, start: date | None = None, end: date | None = None,
                   agent: str | None = None, queue: str | None = None, channel: str | None = None,
                   ) -> dict[str, Any]:
    rows = await anyio.to_thread.run_sync(lambda: ops.kpis(
        caller.tenant, by=tuple(by or ()), month=month, start=start, end=end, agent=agent, queue=queue,
        channel=channel))
    return {"items": rows}


@router.get("/conversations", summary="Conversations with filters")
async def list_conversations(
    caller: ReaderDep, ops: OpsDep, day: date | None = None, month: str | None = None, agent: str | None = None,
    queue: str | None = None, channel: str | None = None, check: str | None = None,
    complaint: bool | None = None, passed: bool | None = None,
    topic: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(lambda: ops.conversations(
        caller.tenant, day=day, month=month, agent=agent, queue=queue, channel=channel, check=check,
        complaint=complaint, passed=passed, topic=topic, limit=limit, offset=offset))


@router.get("/conversations/{conversation_id}", summary="One conversation with its QA findings")
async def get_conversation(conversation_id: str, caller: ReaderDep, ops: OpsDep) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(lambda: ops.conversation(caller.tenant, conversation_id))


@router.get("/alerts", summary="Red-line alerts")
async def list_alerts(caller: ReaderDep, ops: OpsDep, state: str | None = None,
                      month: str | None = None) -> dict[str, Any]:
    return {"items": await anyio.to_thread.run_sync(lambda: ops.alerts(caller.tenant, state=state, month=month))}


@router.get("/topics", summary="Topics of a month (clustered with the embedder; cached)")
async def topics(request: Request, caller: ReaderDep, ops: OpsDep, month: str | None = None,
                 refresh: bool = False) -> dict[str, Any]:
    from assist.ops.topics import TopicModel

    months = await anyio.to_thread.run_sync(lambda: ops.months(caller.tenant))
    month = month or (months[-1] if months else None)
    if month is None:
        return {"month": None, "conversations": 0, "weeks": [], "topics": []}
    count = (await anyio.to_thread.run_sync(lambda: ops.kpis(caller.tenant, month=month)))[0]["conversations"]
    cache: dict[Any, Any] = request.app.state.ops_topics
    key = (caller.tenant, month, count)
    if refresh or key not in cache:
        pipe = getattr(request.app.state, "pipeline", None)
        if pipe is None:
            return {"month": month, "conversations": count, "weeks": [], "topics": [], "pending": True}
        lock = cache.setdefault(("lock", caller.tenant), asyncio.Lock())
        async with lock:
            if refresh or key not in cache:
                cache[key] = await TopicModel(pipe.embedder).fit_tenant(ops, caller.tenant, month=month)
    return {"month": month, **cache[key]}


def install(app: FastAPI) -> None:
    """Mount the API, the ``/ops`` page and the red-line gauge of ``/metrics``."""
    from serving import errors

    app.include_router(router, responses=errors.ERROR_RESPONSES)
    if STATIC.exists():
        app.mount("/ops", StaticFiles(directory=STATIC, html=True), name="ops")
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None and hasattr(metrics, "before_render"):
        def refresh() -> None:
            db = getattr(app.state, "db", None)
            if db is not None:
                metrics.set_ops_firing(_firing(db))

        metrics.before_render.append(refresh)


def _firing(db: Any) -> list[tuple[str, str, int]]:
    from sqlalchemy import func, select

    from assist.db.ops import OpsAlert

    a = OpsAlert.__table__.c
    try:
        with db.connection(readonly=True) as conn:
            return [(r[0], r[1], int(r[2])) for r in conn.execute(
                select(a.tenant, a.metric, func.count()).where(a.state == "firing").group_by(a.tenant, a.metric))]
    except Exception:  # /metrics must answer even when the database does not
        return []
