"""KPIs per tenant, queue, agent, channel and day/week/month: one SQL aggregate over
``ops_conversations`` (indexed by tenant and day), the same on SQLite and PostgreSQL.

Definitions (each a share of the conversations where the fact is known):

==================== =================================================================
first_response_sla   first agent reply within the channel's standard
aht_seconds          mean handling time, first to last message
fcr                  resolved, not reopened, no new contact of the customer within N days
closed_24h           last message within the standard (``close_within_hours``)
complaint_rate       complaint outcome, flag or cue (``ops.yaml`` ``complaint:``)
timeout_rate         first response or a later reply over the standard, or no reply
negative_share       a customer turn scored negative
qa_score             mean conversation QA score (0..100)
satisfaction         mean customer rating (1..5), rated conversations only
==================== =================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select

from assist.db.ops import OpsConversation
from assist.errors import InputError

__all__ = ["DIMENSIONS", "KPI_NAMES", "kpis", "month_range"]

_C = OpsConversation.__table__
DIMENSIONS = ("day", "week", "month", "agent", "queue", "channel", "topic")
KPI_NAMES = ("conversations", "first_response_sla", "aht_seconds", "fcr", "closed_24h", "complaint_rate",
             "timeout_rate", "negative_share", "qa_score", "satisfaction", "rated", "predicted_satisfaction")


def month_range(month: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM``."""
    try:
        y, m = int(month[:4]), int(month[5:7])
        first = date(y, m, 1)
    except (ValueError, IndexError):
        raise InputError(f"month {month!r}: use YYYY-MM") from None
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


def _columns() -> list[Any]:
    c = _C.c
    return [
        func.count().label("conversations"),
        func.avg(c.sla_met * 1.0).label("first_response_sla"),
        func.avg(c.handle_s).label("aht_seconds"),
        func.avg(c.fcr * 1.0).label("fcr"),
        func.avg(c.closed_24h * 1.0).label("closed_24h"),
        func.avg(c.complaint * 1.0).label("complaint_rate"),
        func.avg(c.timeout * 1.0).label("timeout_rate"),
        func.avg(c.negative * 1.0).label("negative_share"),
        func.avg(c.qa_score).label("qa_score"),
        func.avg(c.satisfaction).label("satisfaction"),
        func.count(c.satisfaction).label("rated"),
        func.avg(func.coalesce(c.satisfaction, c.predicted_satisfaction)).label("predicted_satisfaction"),
    ]


def _clean(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row._mapping.items():
        if isinstance(v, date):
            out[k] = v.isoformat()
        elif k in ("conversations", "rated", "topic"):
            out[k] = None if v is None else int(v)
        elif k in KPI_NAMES and v is not None:
            out[k] = round(float(v), 4)
        else:
            out[k] = v
    return out


def kpis(db: Any, tenant: str, *, by: Sequence[str] = (), month: str | None = None,
         start: date | None = None, end: date | None = None, agent: str | None = None,
         queue: str | None = None, channel: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """KPI rows grouped ``by`` the given dimensions (none: one row for the whole selection).

    Args:
        db: An :class:`assist.db.Database`.
        tenant: Whose conversations.
        by: Dimensions from :data:`DIMENSIONS`, e.g. ``("agent", "week")``.
        month: ``YYYY-MM`` (tenant time zone).
        start, end: Inclusive day range.
        agent, queue, channel: Filters.
    """
    bad = [d for d in by if d not in DIMENSIONS]
    if bad:
        raise InputError(f"unknown dimension(s) {bad}: use {', '.join(DIMENSIONS)}")
    c = _C.c
    cond = [c.tenant == tenant]
    if month:
        lo, hi = month_range(month)  # the (tenant, day) index serves a day range; month has none
        cond += [c.day >= lo, c.day <= hi]
    if start:
        cond.append(c.day >= start)
    if end:
        cond.append(c.day <= end)
    for col, val in ((c.agent, agent), (c.queue, queue), (c.channel, channel)):
        if val is not None:
            cond.append(col == val)
    keys = [c[d] for d in by]
    q = select(*keys, *_columns()).where(and_(*cond))
    if keys:
        q = q.group_by(*keys).order_by(*keys)
    if limit:
        q = q.limit(limit)
    with db.connection(readonly=True) as conn:
        return [_clean(r) for r in conn.execute(q)]
