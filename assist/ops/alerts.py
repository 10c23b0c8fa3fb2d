"""Red-line monitors: a KPI crossing a tenant threshold raises an alert, once, and a recovery
notice when it goes back.

For each red line of the tenant (``ops.yaml`` ``red_lines:``) the monitor computes the metric
per window (day, week or month in the tenant's zone) with at least ``min_conversations``,
in time order, and keeps one open alert per (tenant, metric, scope):

* over the line and no open alert: an alert opens for that window (one row per (tenant,
  metric, scope, window): the de-duplication key) and a ``firing`` notice is sent, unless the
  crossing belongs to an episode already alerted (the same window, or only windows over the
  line since that alert's window), so re-evaluating past data raises nothing twice;
* over the line with an alert open: nothing (de-duplicated);
* back under the line in the alert's window or a later one: the alert is resolved and a
  ``resolved`` notice is sent.

Notices go to a webhook (JSON ``POST``, retried with exponential backoff by tenacity on
connection errors, timeouts, 429 and 5xx). A notice that still fails stays ``notified=0``
and is sent again by the next evaluation, so none is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

import httpx
from sqlalchemy import Table, select, update
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from assist.db.ops import OpsAlert
from assist.errors import ConflictError
from assist.ops.kpis import kpis
from assist.ops.profile import OpsProfile, RedLine

__all__ = ["AlertMonitor", "WebhookNotifier"]

log = logging.getLogger(__name__)
_A = cast(Table, OpsAlert.__table__)  # typed as Table for mypy


def _retryable(e: BaseException) -> bool:
    if isinstance(e, httpx.HTTPStatusError):
        return e.response.status_code == 429 or e.response.status_code >= 500
    return isinstance(e, (httpx.TransportError,))


@dataclass
class WebhookNotifier:
    """POSTs alert notices as JSON to ``url``; retries transient failures."""

    url: str
    timeout_s: float = 5.0
    attempts: int = 4
    backoff_s: float = 0.2
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, payload: dict[str, Any]) -> bool:
        @retry(stop=stop_after_attempt(self.attempts), reraise=True,
               wait=wait_exponential(multiplier=self.backoff_s, max=5), retry=retry_if_exception(_retryable))
        def _post() -> None:
            with httpx.Client(timeout=self.timeout_s) as client:
                r = client.post(self.url, json=payload, headers=self.headers)
                r.raise_for_status()

        try:
            _post()
            return True
        except (httpx.HTTPError, OSError) as e:
            log.warning("alert webhook %s failed after %d attempts: %s", self.url, self.attempts, e)
            return False


def _window_key(kind: str, row: dict[str, Any]) -> str:
    return f"{kind}:{row[kind]}"


@dataclass
class AlertMonitor:
    """Evaluates a tenant's red lines over the stored conversations.

    Args:
        db: An :class:`assist.db.Database`.
        notifier: Where notices go (anything with ``send(payload) -> bool``); None: stored only.
        on_event: Hook ``(name, fields)`` for metrics: ``ops_alert`` with ``metric`` and ``status``.
    """

    db: Any
    notifier: Any = None
    on_event: Callable[[str, dict[str, Any]], None] | None = None

    def evaluate(self, tenant: str, profile: OpsProfile, days: Iterable[date] | None = None) -> list[dict[str, Any]]:
        """Evaluate every red line over the windows holding ``days`` (None: all data).

        Returns:
            The notices this evaluation produced (``firing`` / ``resolved``).
        """
        days = sorted(set(days)) if days is not None else None
        notices: list[dict[str, Any]] = []
        for line in profile.red_lines:
            rows = self._series(tenant, line, days)
            for row in rows:
                if row["conversations"] < line.min_conversations or row.get(line.metric) is None:
                    continue
                notices += self._step(tenant, line, _window_key(line.window, row), row)
        notices += self.retry_pending(tenant)
        return notices

    def _series(self, tenant: str, line: RedLine, days: list[date] | None) -> list[dict[str, Any]]:
        if days is None:
            return kpis(self.db, tenant, by=(line.window,))
        if line.window == "month":
            months = sorted({d.strftime("%Y-%m") for d in days})
            return [r for m in months for r in kpis(self.db, tenant, by=("month",), month=m)]
        rows = kpis(self.db, tenant, by=(line.window,), start=min(days) if line.window == "day" else None,
                    end=max(days))
        if line.window == "day":
            wanted = {d.isoformat() for d in days}
            return [r for r in rows if r["day"] in wanted]
        weeks = {(d.toordinal() - d.weekday()) for d in days}
        return [r for r in rows if date.fromisoformat(r["week"]).toordinal() in weeks]

    def _open(self, conn: Any, tenant: str, metric: str) -> Any:
        return conn.execute(select(_A).where(_A.c.tenant == tenant, _A.c.metric == metric, _A.c.scope == "tenant",
                                             _A.c.state == "firing").order_by(_A.c.window.desc())).first()

    def _step(self, tenant: str, line: RedLine, window: str, row: dict[str, Any]) -> list[dict[str, Any]]:
        value = float(row[line.metric])
        crossed = line.crossed(value)
        now = datetime.now(UTC)
        with self.db.connection(readonly=True) as conn:
            current = self._open(conn, tenant, line.metric)
            last = conn.execute(select(_A.c.id, _A.c.window).where(
                _A.c.tenant == tenant, _A.c.metric == line.metric, _A.c.scope == "tenant",
                _A.c.window <= window).order_by(_A.c.window.desc())).first()
        if crossed and current is None:
            if last is not None and (last.window == window or self._same_episode(tenant, line, last.window, window)):
                return []  # this crossing belongs to an alert already raised (and resolved)
            try:
                with self.db.connection() as conn:
                    alert_id = conn.execute(_A.insert().values(
                        tenant=tenant, metric=line.metric, scope="tenant", window=window, state="firing", value=value,
                        threshold=line.threshold, conversations=row["conversations"], raised_at=now,
                        resolved_at=None, notified=0)).inserted_primary_key[0]
            except ConflictError:
                return []  # a concurrent evaluation raised it (the unique key de-duplicates)
            status = "firing"
        elif crossed and current is not None:
            worst = max(value, current.value) if line.above is not None else min(value, current.value)
            if worst != current.value:  # the alert keeps the worst value it saw
                with self.db.connection() as conn:
                    conn.execute(update(_A).where(_A.c.id == current.id).values(value=worst))
            return []
        elif not crossed and current is not None and window >= current.window:
            with self.db.connection() as conn:
                conn.execute(update(_A).where(_A.c.id == current.id).values(
                    state="resolved", resolved_at=now, notified=0))
            alert_id = current.id
            status = "resolved"
        else:
            return []
        if self.on_event:
            self.on_event("ops_alert", {"tenant": tenant, "metric": line.metric, "status": status})
        notice = {"status": status, "tenant": tenant, "metric": line.metric, "scope": "tenant", "window": window,
                  "value": round(value, 4), "threshold": line.threshold,
                  "direction": "above" if line.above is not None else "below",
                  "conversations": row["conversations"], "at": now.isoformat(), "alert_id": alert_id}
        self._deliver(alert_id, notice)
        return [notice]

    def _same_episode(self, tenant: str, line: RedLine, first: str, window: str) -> bool:
        """True when every judged window strictly between ``first`` and ``window`` was over the
        line too: re-evaluating the days of an alert already resolved must not raise it again."""
        kind = line.window
        a, b = first.partition(":")[2], window.partition(":")[2]
        if kind == "day":
            lo, hi = date.fromisoformat(a), date.fromisoformat(b)
            rows = kpis(self.db, tenant, by=("day",), start=lo, end=hi) if hi > lo else []
        else:
            rows = kpis(self.db, tenant, by=(kind,))
        between = [r for r in rows if a < str(r[kind]) < b and r["conversations"] >= line.min_conversations]
        return all(line.crossed(r.get(line.metric)) for r in between)

    def _deliver(self, alert_id: int, notice: dict[str, Any]) -> None:
        if self.notifier is None:
            return
        if self.notifier.send(notice):
            with self.db.connection() as conn:
                conn.execute(update(_A).where(_A.c.id == alert_id).values(notified=1))

    def retry_pending(self, tenant: str) -> list[dict[str, Any]]:
        """Send again the notices a failed webhook left undelivered."""
        if self.notifier is None:
            return []
        with self.db.connection(readonly=True) as conn:
            rows = list(conn.execute(select(_A).where(_A.c.tenant == tenant, _A.c.notified == 0)))
        out = []
        for r in rows:
            notice = {"status": r.state, "tenant": tenant, "metric": r.metric, "scope": r.scope, "window": r.window,
                      "value": r.value, "threshold": r.threshold, "conversations": r.conversations,
                      "at": (r.resolved_at or r.raised_at).isoformat(), "alert_id": r.id, "redelivery": True}
            self._deliver(r.id, notice)
            out.append(notice)
        return out

    def list(self, tenant: str, *, state: str | None = None, since: datetime | None = None,
             month: str | None = None) -> list[dict[str, Any]]:
        q = select(_A).where(_A.c.tenant == tenant)
        if state:
            q = q.where(_A.c.state == state)
        if since:
            q = q.where(_A.c.raised_at >= since)
        with self.db.connection(readonly=True) as conn:
            rows = [dict(r._mapping) for r in conn.execute(q.order_by(_A.c.window, _A.c.metric))]
        if month:
            rows = [r for r in rows if r["window"].split(":", 1)[1].startswith(month)
                    or (r["window"].startswith("week:") and r["window"][5:12] == month)]
        for r in rows:
            for k in ("raised_at", "resolved_at"):
                if r[k] is not None:
                    r[k] = r[k].isoformat()
        return rows
