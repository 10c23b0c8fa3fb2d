"""Benchmark of the supervisors' side (assist ops) on PostgreSQL.

1. **Import rate**: the nova sample month (``examples/ops/conversations.jsonl``), replicated
   with new ids to ``--import N`` conversations, through :class:`assist.ops.importer.Importer`
   (validation, masking, clock facts, bulk write) into an empty schema. The storage step (the
   executemany writes) is timed apart from parsing and masking, as the target asks.
2. **Inspection rate**: the QA inspection of ``--inspect N`` of those conversations (rubric on
   every agent reply, response times, escalation compliance), measured separately.
3. **Dashboard queries at scale**: synthetic inspected conversations bulk-loaded until the
   messages table holds ``--messages`` rows, then p50/p95 of the queries the /ops page and
   the report run (``--runs`` each, after one warm-up): today's summary pieces (KPIs by day
   over 30 days, the month, by agent, by queue), the filtered conversation list, a finding
   filter, one conversation with its findings, and the alert list.

Usage:
    export ASSIST_TEST_PG_URL=$(bash scripts/pg_test_db.sh)
    .venv/bin/python bench/ops.py --import 20000 --inspect 2000 --messages 1000000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assist.db import Database  # noqa: E402
from assist.ops.importer import read_file  # noqa: E402
from assist.ops.service import OpsService  # noqa: E402
from assist.tenants import TenantRegistry  # noqa: E402

SAMPLE = REPO / "examples" / "ops" / "conversations.jsonl"


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def _replicated(n: int) -> list[tuple[int, dict[str, Any], None]]:
    base = [obj for _, obj, _ in read_file(SAMPLE)]
    out = []
    for i in range(n):
        c = dict(base[i % len(base)])
        c["id"] = f"{c['id']}-r{i // len(base)}"
        out.append((i + 1, c, None))
    return out


def bench_import(ops: OpsService, n: int, inspect_n: int) -> dict[str, Any]:
    records = _replicated(n)
    t0 = time.perf_counter()
    rep = ops.import_records("nova", records, inspect=False)
    total = time.perf_counter() - t0
    store = rep.seconds.get("store", 0.0)
    ids = ops.store.pending_inspection("nova", limit=inspect_n)
    t0 = time.perf_counter()
    ops.inspect("nova", ids)
    inspect_s = time.perf_counter() - t0
    return {
        "conversations": rep.stored, "messages": rep.messages, "seconds": rep.seconds,
        "storage_conversations_per_s": round(rep.stored / store, 1) if store else None,
        "storage_messages_per_s": round(rep.messages / store, 1) if store else None,
        "end_to_end_conversations_per_s": round(rep.stored / total, 1),
        "inspected": len(ids), "inspection_conversations_per_s": round(len(ids) / inspect_s, 1),
    }


def seed(ops: OpsService, target_messages: int, *, batch: int = 5000, seed_: int = 7) -> dict[str, Any]:
    """Synthetic, already-inspected conversations (4-8 messages) over 12 months, 40 agents,
    6 queues, with findings on about half of them."""
    rng = random.Random(seed_)
    store = ops.store
    start = datetime(2025, 12, 1, tzinfo=UTC)
    n = msgs = 0
    t0 = time.perf_counter()
    checks = ["greeting", "empathy", "first_response", "reply_time", "closing", "promises"]
    while msgs < target_messages:
        convs, messages, findings = [], [], []
        for _ in range(batch):
            n += 1
            cid = f"s{n:08d}"
            at = start + timedelta(seconds=rng.randint(0, 365 * 86400))
            local = at.date()
            k = rng.randint(4, 8)
            complaint = int(rng.random() < 0.06)
            convs.append({
                "tenant": "nova", "id": cid, "channel": rng.choice(["chat", "phone", "messaging", "email"]),
                "queue": rng.choice(["orders", "billing", "devices", "repairs", "vip", "returns"]),
                "agent": f"A{rng.randint(1, 40):02d}", "customer": f"C{rng.randint(1, 200000):06d}", "language": "zh",
                "started_at": at, "ended_at": at + timedelta(seconds=60 * k), "day": local,
                "week": local - timedelta(days=local.weekday()), "month": local.strftime("%Y-%m"),
                "messages": k, "outcome": "resolved", "resolved": 1, "reopened": 0, "escalated_to": None,
                "escalated_at": None, "satisfaction": float(rng.randint(1, 5)) if rng.random() < 0.4 else None,
                "first_response_s": float(rng.randint(5, 300)), "handle_s": float(60 * k), "content_hash": "x" * 64,
                "meta": {}, "imported_at": at, "inspected_at": at, "sla_met": int(rng.random() < 0.9),
                "timeout": int(rng.random() < 0.15), "closed_24h": 1, "repeat_contact": 0,
                "fcr": int(rng.random() < 0.8), "complaint": complaint, "negative": int(complaint or rng.random() < 0.15),
                "sentiment_min": -0.3, "qa_score": float(rng.randint(60, 100)), "qa_passed": 1, "findings_count": 0,
                "predicted_satisfaction": 4.0, "satisfaction_reasons": [], "topic": rng.randint(0, 9),
            })
            for s in range(k):
                messages.append({"tenant": "nova", "conversation_id": cid, "seq": s,
                                 "role": "customer" if s % 2 == 0 else "agent",
                                 "text": "您好，请问订单什么时候发货？" if s % 2 == 0 else "您好，预计明天发出。",
                                 "ts": at + timedelta(seconds=60 * s)})
            if rng.random() < 0.5:
                findings.append({"tenant": "nova", "conversation_id": cid, "seq": 1, "check": rng.choice(checks),
                                 "severity": "minor", "message": "synthetic", "span_start": None, "span_end": None})
            msgs += k
        store.write("nova", convs, messages)
        with ops.db.connection() as conn:
            conn.execute(store.findings.insert(), findings)
    with ops.db.connection() as conn:
        conn.exec_driver_sql("ANALYZE")
    return {"conversations": n, "messages": msgs, "seconds": round(time.perf_counter() - t0, 1)}


def bench_queries(ops: OpsService, runs: int) -> dict[str, Any]:
    month = "2026-06"
    end = date(2026, 6, 30)
    one = ops.conversations("nova", month=month, limit=1)["items"][0]["id"]
    queries = {
        "kpis_by_day_30d": lambda: ops.kpis("nova", by=("day",), start=end - timedelta(days=29), end=end),
        "kpis_month": lambda: ops.kpis("nova", month=month),
        "kpis_by_agent_month": lambda: ops.kpis("nova", by=("agent",), month=month),
        "kpis_by_queue_month": lambda: ops.kpis("nova", by=("queue",), month=month),
        "kpis_by_week_all": lambda: ops.kpis("nova", by=("week",)),
        "conversation_list_filtered": lambda: ops.conversations("nova", month=month, agent="A07", limit=25),
        "conversation_list_by_finding": lambda: ops.conversations("nova", month=month, check="greeting", limit=25),
        "conversation_detail": lambda: ops.conversation("nova", one),
        "alerts": lambda: ops.alerts("nova", month=month),
        "summary_endpoint_all_queries": lambda: _summary(ops, month, end),
    }
    out = {}
    for name, fn in queries.items():
        fn()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_pct(times, 95), 1)}
    return out


def _summary(ops: OpsService, month: str, end: date) -> None:
    """Every query GET /v1/ops/summary runs (the /ops overview), in sequence."""
    ops.last_day("nova")
    ops.kpis("nova", by=("day",), start=end - timedelta(days=29), end=end)
    ops.kpis("nova", month=month)
    ops.kpis("nova", by=("agent",), month=month)
    ops.kpis("nova", by=("queue",), month=month)
    ops.alerts("nova", state="firing")
    ops.alerts("nova", month=month)
    ops.months("nova")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg", default=os.environ.get("ASSIST_TEST_PG_URL"), help="PostgreSQL URL (default ASSIST_TEST_PG_URL)")
    ap.add_argument("--import", dest="import_n", type=int, default=20000)
    ap.add_argument("--inspect", type=int, default=2000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--keep", action="store_true", help="Keep the bench schema (default: dropped)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.pg:
        sys.exit("set ASSIST_TEST_PG_URL (bash scripts/pg_test_db.sh) or pass --pg")
    registry = TenantRegistry(REPO / "examples" / "tenants")
    result: dict[str, Any] = {"database": "postgresql", "cpu_count": os.cpu_count(),
                              "load_avg": os.getloadavg()}
    schemas = []
    admin = Database(args.pg)
    try:
        schema = f"bench_ops_{uuid.uuid4().hex[:8]}"
        schemas.append(schema)
        db = Database(args.pg, schema=schema)
        db.migrate()
        result["import"] = bench_import(OpsService(db, registry), args.import_n, args.inspect)
        db.dispose()

        schema = f"bench_ops_{uuid.uuid4().hex[:8]}"
        schemas.append(schema)
        db = Database(args.pg, schema=schema)
        db.migrate()
        ops = OpsService(db, registry)
        result["scale"] = seed(ops, args.messages)
        result["queries"] = bench_queries(ops, args.runs)
        result["queries_p95_max_ms"] = max(q["p95_ms"] for q in result["queries"].values())
        db.dispose()
    finally:
        if not args.keep:
            with admin.connection() as conn:
                for s in schemas:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
        admin.dispose()
    print(json.dumps(result, indent=2) if args.json else result)


if __name__ == "__main__":
    main()
