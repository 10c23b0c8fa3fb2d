"""The supervisors' side in one object: import, inspect, KPIs, alerts, browse, purge.

The CLI (``assist ops``) and the API (``/v1/ops``) both call :class:`OpsService`.

Example:
    >>> ops = OpsService(db, TenantRegistry(Path("examples/tenants")))
    >>> report = ops.import_file(Path("examples/ops/conversations.jsonl"), "nova")
    >>> ops.kpis("nova", by=("week",))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select

from assist.db.ops import OpsConversation, OpsStore
from assist.errors import NotFoundError
from assist.ops.alerts import AlertMonitor
from assist.ops.importer import ConversationIn, Importer, ImportReport, read_file
from assist.ops.inspection import Inspector, repeat_flags
from assist.ops.kpis import kpis, month_range
from assist.ops.profile import OpsProfile, load_ops_profile
from assist.privacy import PiiMasker

__all__ = ["OpsService"]

_C = OpsConversation.__table__


@dataclass
class OpsService:
    """Args:
        db: An :class:`assist.db.Database` (migrated).
        registry: The :class:`assist.tenants.TenantRegistry` (rubric, escalation matrix, folder).
        masker: Personal-data masker (default: the registry's ``masker(tenant)`` when it has
            one, else :class:`PiiMasker`).
        notifier: Red-line notices (:class:`assist.ops.alerts.WebhookNotifier`), or None.
        retention_days: Default retention when the tenant profile names none.
        on_event: Metrics hook ``(name, fields)``.
    """

    db: Any
    registry: Any
    masker: PiiMasker | None = None
    notifier: Any = None
    retention_days: int | None = None
    on_event: Callable[[str, dict[str, Any]], None] | None = None
    _profiles: dict[str, OpsProfile] = field(default_factory=dict)
    _inspectors: dict[str, Inspector] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = OpsStore(self.db)
        self.monitor = AlertMonitor(self.db, self.notifier, self.on_event)

    # -- tenant rules ---------------------------------------------------------------
    def profile(self, tenant: str) -> OpsProfile:
        if tenant not in self._profiles:
            rules = self.registry.get(tenant)
            self._profiles[tenant] = load_ops_profile(rules.directory, rules.policy.matrix.channels)
        return self._profiles[tenant]

    def _masker(self, tenant: str) -> PiiMasker:
        if self.masker is not None:
            return self.masker
        per_tenant = getattr(self.registry, "masker", None)
        if callable(per_tenant):
            return per_tenant(tenant)
        self.masker = PiiMasker()
        return self.masker

    def inspector(self, tenant: str) -> Inspector:
        if tenant not in self._inspectors:
            rules = self.registry.get(tenant)
            self._inspectors[tenant] = Inspector(
                checker=self.registry.checker(tenant, self._masker(tenant)), profile=self.profile(tenant),
                policy=rules.policy, sentiment=self.registry.sentiment)
        return self._inspectors[tenant]

    # -- import ---------------------------------------------------------------------
    def import_file(self, path: Path, tenant: str, *, inspect: bool = True) -> ImportReport:
        return self.import_records(tenant, read_file(path), inspect=inspect)

    def import_records(self, tenant: str, records: Iterable[Any], *, inspect: bool = True) -> ImportReport:
        importer = Importer(self.store, self.profile(tenant), self._masker(tenant))
        report = importer.import_records(tenant, records)
        self._after(tenant, report, inspect)
        return report

    def import_one(self, tenant: str, conv: ConversationIn, *, inspect: bool = True) -> ImportReport:
        importer = Importer(self.store, self.profile(tenant), self._masker(tenant))
        report = importer.import_one(tenant, conv)
        self._after(tenant, report, inspect)
        return report

    def _after(self, tenant: str, report: ImportReport, inspect: bool) -> None:
        if report.gaps:
            from assist.db import GapRepository

            gaps = GapRepository(self.db)
            for question, language in report.gaps:
                gaps.add(tenant, question, language=language)
        if self.on_event:
            self.on_event("ops_import", {"tenant": tenant, "stored": report.stored, "updated": report.updated,
                                         "unchanged": report.unchanged, "rejected": report.rejected})
        if not inspect or not report.ids:
            return
        t0 = time.perf_counter()
        days = self.inspect(tenant, report.ids)
        report.seconds["inspect"] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter()
        self.monitor.evaluate(tenant, self.profile(tenant), days)
        report.seconds["alerts"] = round(time.perf_counter() - t0, 4)

    # -- inspection -----------------------------------------------------------------
    def inspect(self, tenant: str, ids: list[str] | None = None, *, batch: int = 500) -> set[date]:
        """Inspect ``ids`` (default: every conversation not inspected yet); returns their days."""
        ids = ids if ids is not None else self.store.pending_inspection(tenant)
        inspector = self.inspector(tenant)
        days: set[date] = set()
        customers: set[str] = set()
        for k in range(0, len(ids), batch):
            convs, msgs = self.store.load(tenant, ids[k:k + batch])
            updates, findings = [], []
            now = datetime.now(UTC)
            for conv in convs:
                res = inspector.inspect(conv, msgs.get(conv["id"], []))
                updates.append({"id": conv["id"], "inspected_at": now, **res.facts})
                findings.extend(res.findings)
                days.add(conv["day"])
                if conv["customer"]:
                    customers.add(conv["customer"])
            self.store.save_inspections(tenant, updates, findings)
        self._repeat_contacts(tenant, customers)
        return days

    def _repeat_contacts(self, tenant: str, customers: set[str]) -> None:
        if not customers:
            return
        starts = self.store.customer_starts(tenant, sorted(customers))
        flags = repeat_flags(starts, self.profile(tenant).standards.fcr_days)
        ids = list(flags)
        with self.db.connection(readonly=True) as conn:
            rows = {}
            for k in range(0, len(ids), 500):
                part = ids[k:k + 500]
                for r in conn.execute(select(_C.c.id, _C.c.resolved, _C.c.reopened, _C.c.inspected_at)
                                      .where(_C.c.tenant == tenant, _C.c.id.in_(part))):
                    rows[r.id] = r
        out = []
        for cid, rep in flags.items():
            r = rows.get(cid)
            if r is None or r.inspected_at is None:
                continue
            fcr = None if r.resolved is None else int(bool(r.resolved) and not r.reopened and not rep)
            out.append({"id": cid, "repeat_contact": rep, "fcr": fcr})
        self.store.update_repeat_flags(tenant, out)

    # -- reading ----------------------------------------------------------------------
    def kpis(self, tenant: str, **kw: Any) -> list[dict[str, Any]]:
        return kpis(self.db, tenant, **kw)

    def conversations(self, tenant: str, *, day: date | None = None, month: str | None = None,
                      agent: str | None = None, queue: str | None = None, channel: str | None = None,
                      check: str | None = None, complaint: bool | None = None, passed: bool | None = None,
                      topic: int | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        from assist.db.ops import OpsFinding

        c = _C.c
        cond = [c.tenant == tenant]
        if day:
            cond.append(c.day == day)
        if month:
            lo, hi = month_range(month)
            cond += [c.day >= lo, c.day <= hi]
        for col, val in ((c.agent, agent), (c.queue, queue), (c.channel, channel), (c.topic, topic)):
            if val is not None:
                cond.append(col == val)
        if complaint is not None:
            cond.append(c.complaint == int(complaint))
        if passed is not None:
            cond.append(c.qa_passed == int(passed))
        if check:
            f = OpsFinding.__table__.c
            cond.append(c.id.in_(select(f.conversation_id).where(f.tenant == tenant, f.check == check)))
        cols = [c.id, c.channel, c.queue, c.agent, c.customer, c.started_at, c.day, c.messages, c.outcome,
                c.first_response_s, c.handle_s, c.sla_met, c.fcr, c.complaint, c.negative, c.qa_score, c.qa_passed,
                c.findings_count, c.satisfaction, c.predicted_satisfaction, c.topic]
        with self.db.connection(readonly=True) as conn:
            total = conn.execute(select(func.count()).select_from(_C).where(and_(*cond))).scalar_one()
            rows = [dict(r._mapping) for r in conn.execute(
                select(*cols).where(and_(*cond)).order_by(c.started_at.desc(), c.id).limit(limit).offset(offset))]
        for r in rows:
            r["started_at"] = r["started_at"].isoformat()
            r["day"] = r["day"].isoformat()
        return {"total": int(total), "items": rows}

    def conversation(self, tenant: str, conversation_id: str) -> dict[str, Any]:
        convs, msgs = self.store.load(tenant, [conversation_id])
        if not convs:
            raise NotFoundError(f"no conversation {conversation_id!r} for tenant {tenant!r}")
        conv = convs[0]
        out = {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in conv.items()}
        out["turns"] = [{"seq": m["seq"], "role": m["role"], "text": m["text"],
                         "ts": m["ts"].isoformat() if m["ts"] else None} for m in msgs.get(conversation_id, [])]
        out["findings"] = [{k: f[k] for k in ("seq", "check", "severity", "message", "span_start", "span_end")}
                           for f in self.store.findings_for(tenant, conversation_id)]
        return out

    def findings_summary(self, tenant: str, *, month: str | None = None, by: str = "agent",
                         limit: int = 200) -> list[dict[str, Any]]:
        """Finding counts per ``by`` (agent/queue) and check."""
        from assist.db.ops import OpsFinding

        f = OpsFinding.__table__.c
        c = _C.c
        key = c[by]
        q = (select(key.label(by), f.check, func.count().label("n"))
             .select_from(OpsFinding.__table__.join(_C, and_(f.tenant == c.tenant, f.conversation_id == c.id)))
             .where(f.tenant == tenant))
        if month:
            q = q.where(c.month == month)
        q = q.group_by(key, f.check).order_by(func.count().desc()).limit(limit)
        with self.db.connection(readonly=True) as conn:
            return [{by: r[0], "check": r[1], "count": int(r[2])} for r in conn.execute(q)]

    def last_day(self, tenant: str) -> date | None:
        """The latest day with conversations (the dashboard's "today" for imported history)."""
        with self.db.connection(readonly=True) as conn:
            return conn.execute(select(func.max(_C.c.day)).where(_C.c.tenant == tenant)).scalar()

    def months(self, tenant: str) -> list[str]:
        """Months with conversations, oldest first (index range probes, not a scan)."""
        c = _C.c
        with self.db.connection(readonly=True) as conn:
            lo, hi = conn.execute(select(func.min(c.day), func.max(c.day)).where(c.tenant == tenant)).one()
            if lo is None:
                return []
            out = []
            y, m = lo.year, lo.month
            while (y, m) <= (hi.year, hi.month):
                first, last = month_range(f"{y}-{m:02d}")
                if conn.execute(select(c.id).where(c.tenant == tenant, c.day >= first, c.day <= last)
                                .limit(1)).first():
                    out.append(f"{y}-{m:02d}")
                y, m = (y + 1, 1) if m == 12 else (y, m + 1)
            return out

    def alerts(self, tenant: str, **kw: Any) -> list[dict[str, Any]]:
        return self.monitor.list(tenant, **kw)

    def evaluate_alerts(self, tenant: str) -> list[dict[str, Any]]:
        return self.monitor.evaluate(tenant, self.profile(tenant))

    # -- retention ---------------------------------------------------------------------
    def purge(self, tenant: str, *, now: datetime | None = None) -> int:
        days = self.profile(tenant).retention_days or self.retention_days
        if not days:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        return self.store.purge_before(tenant, cutoff)
