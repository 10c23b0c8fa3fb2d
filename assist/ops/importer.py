"""Import finished conversations (JSONL, CSV or API records) into the ops store.

Each conversation is validated, its personal data masked (the tenant's :class:`PiiMasker`,
one placeholder mapping per conversation; the mapping itself is not stored), its clock facts
derived (first response, handling time, day/week/month in the tenant's zone) and written in
bulk. Idempotent by conversation id: a redelivery with the same content changes nothing; a
changed one (a reopened ticket) replaces the stored copy and is inspected again.

Bad rows are reported with their line and reason; the rest is stored.

Formats:

* JSONL, one conversation per line::

    {"id": "c1", "channel": "chat", "queue": "orders", "agent": "a01", "customer": "u-77",
     "turns": [{"role": "customer", "text": "...", "ts": "2026-11-03T09:00:00+08:00"}, ...],
     "outcome": "resolved", "reopened": false, "satisfaction": 4}

* CSV, one turn per row, conversations grouped by ``id`` (conversation fields are taken
  from the first row of each conversation): ``id,channel,queue,agent,customer,role,text,ts,
  outcome,resolved,reopened,satisfaction,escalated_to,escalated_at``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assist.errors import InputError
from assist.ops.profile import OpsProfile
from assist.privacy import PiiMasker

__all__ = ["ConversationIn", "ImportReport", "Importer", "RowError", "TurnIn", "read_file"]

MAX_TURNS = 5000


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["customer", "agent", "bot", "system"]
    text: str = Field(max_length=20000)
    ts: datetime

    @field_validator("ts")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("timestamp without a time zone: write e.g. 2026-11-03T09:00:00+08:00")
        return v.astimezone(UTC)


class ConversationIn(BaseModel):
    """One finished conversation as a ticketing system delivers it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=32)
    queue: str = Field(default="", max_length=100)
    agent: str = Field(default="", max_length=100)
    customer: str = Field(default="", max_length=200)
    """A pseudonymous customer id (used for repeat contacts), never a phone number."""
    language: Literal["zh", "en"] | None = None
    turns: list[TurnIn] = Field(min_length=1, max_length=MAX_TURNS)
    outcome: str | None = Field(default=None, max_length=32)
    resolved: bool | None = None
    reopened: bool = False
    satisfaction: float | None = None
    """The customer's rating on 1..``satisfaction_scale`` of the tenant profile."""
    escalated_to: str | None = Field(default=None, max_length=64)
    escalated_at: datetime | None = None
    complaint: bool | None = None
    kb_gap: bool = False
    """The agent found no knowledge article for the customer's question: the first customer
    turn (masked) goes to the knowledge-gap log."""
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("escalated_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("timestamp without a time zone")
        return v.astimezone(UTC) if v else v


class RowError(BaseModel):
    line: int
    id: str | None = None
    reason: str


class ImportReport(BaseModel):
    tenant: str
    received: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    messages: int = 0
    errors: list[RowError] = Field(default_factory=list)
    ids: list[str] = Field(default_factory=list, exclude=True)
    """Stored or updated conversation ids (to inspect next)."""
    gaps: list[tuple[str, str | None]] = Field(default_factory=list, exclude=True)
    """(masked question, language) of newly stored conversations flagged ``kb_gap``."""
    seconds: dict[str, float] = Field(default_factory=dict)
    """Wall time per step: parse, mask, store (and inspect, when the caller runs it)."""


def _err(e: ValidationError) -> str:
    parts = []
    for x in e.errors()[:3]:
        loc = ".".join(str(p) for p in x["loc"])
        parts.append(f"{loc}: {x['msg']}" if loc else x["msg"])
    return "; ".join(parts)


# ------------------------------------------------------------------ file readers
def _jsonl(text: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, None, f"not valid JSON ({e.msg} at column {e.colno})"
            continue
        if not isinstance(obj, dict):
            yield n, None, "a line must be one JSON object (a conversation)"
            continue
        yield n, obj, None


_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": None}
_CONV_FIELDS = ("channel", "queue", "agent", "customer", "language", "outcome", "resolved", "reopened",
                "satisfaction", "escalated_to", "escalated_at", "complaint")


def _csv(text: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"id", "role", "text", "ts"} - set(reader.fieldnames or [])
    if missing:
        raise InputError(f"CSV header lacks column(s) {sorted(missing)}: need id, channel, role, text, ts, ...")
    groups: dict[str, tuple[int, dict[str, Any]]] = {}
    order: list[str] = []
    for row in reader:
        line = reader.line_num
        cid = (row.get("id") or "").strip()
        if not cid:
            yield line, None, "id: empty conversation id"
            continue
        if cid not in groups:
            conv: dict[str, Any] = {"id": cid, "turns": []}
            for f in _CONV_FIELDS:
                v = (row.get(f) or "").strip()
                if f in ("resolved", "reopened", "complaint"):
                    if v.lower() not in _BOOL:
                        yield line, None, f"{f}: {v!r} is not true/false"
                        conv["_bad"] = True
                        continue
                    if _BOOL[v.lower()] is not None:
                        conv[f] = _BOOL[v.lower()]
                elif v:
                    conv[f] = v
            groups[cid] = (line, conv)
            order.append(cid)
        groups[cid][1]["turns"].append({"role": (row.get("role") or "").strip(), "text": row.get("text") or "",
                                        "ts": (row.get("ts") or "").strip()})
    for cid in order:
        line, conv = groups[cid]
        if conv.pop("_bad", False):
            continue
        yield line, conv, None


def read_file(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line, record, error)`` per conversation of a ``.jsonl``/``.json`` or ``.csv`` file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv(text)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl(text)
    raise InputError(f"{path}: unknown format {suffix!r}; use .jsonl (one conversation per line) or .csv")


# ------------------------------------------------------------------ importer
@dataclass
class Importer:
    """Validates, masks and stores conversations of one tenant.

    Args:
        store: An :class:`assist.db.ops.OpsStore`.
        profile: The tenant's :class:`OpsProfile` (time zone, rating scale).
        masker: The tenant's personal-data masker.
    """

    store: Any
    profile: OpsProfile
    masker: PiiMasker = field(default_factory=PiiMasker)
    batch_size: int = 1000

    def import_records(self, tenant: str, records: Iterable[tuple[int, dict[str, Any] | None, str | None]],
                       ) -> ImportReport:
        report = ImportReport(tenant=tenant)
        batch: list[tuple[int, ConversationIn]] = []
        seen: set[str] = set()
        t0 = time.perf_counter()
        for line, obj, error in records:
            report.received += 1
            if error is not None or obj is None:
                report.errors.append(RowError(line=line, reason=error or "empty record"))
                continue
            try:
                conv = ConversationIn.model_validate(obj)
                self._check(conv)
            except ValidationError as e:
                report.errors.append(RowError(line=line, id=str(obj.get("id")) if obj.get("id") else None,
                                              reason=_err(e)))
                continue
            except ValueError as e:
                report.errors.append(RowError(line=line, id=str(obj.get("id")), reason=str(e)))
                continue
            if conv.id in seen:
                report.errors.append(RowError(line=line, id=conv.id, reason="duplicate id in this file"))
                continue
            seen.add(conv.id)
            batch.append((line, conv))
            if len(batch) >= self.batch_size:
                report.seconds["parse"] = report.seconds.get("parse", 0.0) + time.perf_counter() - t0
                self._flush(tenant, batch, report)
                batch = []
                t0 = time.perf_counter()
        report.seconds["parse"] = report.seconds.get("parse", 0.0) + time.perf_counter() - t0
        if batch:
            self._flush(tenant, batch, report)
        report.rejected = len(report.errors)
        report.seconds = {k: round(v, 4) for k, v in report.seconds.items()}
        return report

    def import_one(self, tenant: str, conv: ConversationIn) -> ImportReport:
        """Store one conversation (the live endpoint). A conversation that fails the checks is
        an :class:`InputError` (a 4xx for the sender), not a server error."""
        try:
            self._check(conv)
        except ValueError as e:
            raise InputError(str(e)) from e
        report = ImportReport(tenant=tenant, received=1)
        self._flush(tenant, [(1, conv)], report)
        return report

    def _check(self, conv: ConversationIn) -> None:
        scale = self.profile.satisfaction_scale
        if conv.satisfaction is not None and not 1 <= conv.satisfaction <= scale:
            raise ValueError(f"satisfaction: {conv.satisfaction} is outside 1..{scale}")
        stamps = [t.ts for t in conv.turns]
        if any(b < a for a, b in zip(stamps, stamps[1:], strict=False)):
            raise ValueError("turns: timestamps go backwards; send the turns in time order")

    # -- one batch ----------------------------------------------------------------
    def _flush(self, tenant: str, batch: Sequence[tuple[int, ConversationIn]], report: ImportReport) -> None:
        t0 = time.perf_counter()
        hashes = {c.id: _hash(c) for _, c in batch}
        existing = self.store.existing_hashes(tenant, list(hashes))
        todo = [(ln, c) for ln, c in batch if existing.get(c.id) != hashes[c.id]]
        report.unchanged += len(batch) - len(todo)
        replace = [c.id for _, c in todo if c.id in existing]
        rows: list[dict[str, Any]] = []
        msgs: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        for _, c in todo:
            row, turns = self._rows(tenant, c, hashes[c.id], now)
            rows.append(row)
            msgs.extend(turns)
            if c.kb_gap and c.id not in existing:
                question = next((t["text"] for t in turns if t["role"] == "customer"), "")
                if question.strip():
                    report.gaps.append((question, c.language))
        t1 = time.perf_counter()
        self.store.write(tenant, rows, msgs, replace=replace)
        t2 = time.perf_counter()
        report.seconds["mask"] = report.seconds.get("mask", 0.0) + t1 - t0
        report.seconds["store"] = report.seconds.get("store", 0.0) + t2 - t1
        report.updated += len(replace)
        report.stored += len(todo) - len(replace)
        report.messages += len(msgs)
        report.ids.extend(c.id for _, c in todo)

    def _rows(self, tenant: str, c: ConversationIn, digest: str, now: datetime,
              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        mapping: dict[str, str] = {}
        masked = self.masker.mask_many([t.text for t in c.turns], mapping)
        started = c.turns[0].ts
        ended = c.turns[-1].ts
        first_customer = next((t.ts for t in c.turns if t.role == "customer"), None)
        first_agent = next((t.ts for t in c.turns if t.role == "agent"), None)
        first_response = ((first_agent - first_customer).total_seconds()
                          if first_customer and first_agent and first_agent >= first_customer else None)
        local = started.astimezone(self.profile.zone).date()
        resolved = c.resolved
        if resolved is None and c.outcome is not None:
            resolved = c.outcome in self.profile.resolved_outcomes
        sat = c.satisfaction
        if sat is not None and self.profile.satisfaction_scale != 5:
            sat = 1 + (sat - 1) * 4 / (self.profile.satisfaction_scale - 1)
        row = {
            "tenant": tenant, "id": c.id, "channel": c.channel, "queue": c.queue, "agent": c.agent,
            "customer": self.masker.redact(c.customer) if c.customer else "",
            "language": c.language, "started_at": started, "ended_at": ended,
            "day": local, "week": local - timedelta(days=local.weekday()), "month": local.strftime("%Y-%m"),
            "messages": len(c.turns), "outcome": c.outcome,
            "resolved": None if resolved is None else int(resolved), "reopened": int(c.reopened),
            "escalated_to": c.escalated_to, "escalated_at": c.escalated_at,
            "satisfaction": sat, "first_response_s": first_response,
            "handle_s": (ended - started).total_seconds(), "content_hash": digest,
            "meta": {**c.meta, **({"complaint": c.complaint} if c.complaint is not None else {})},
            "imported_at": now,
            # a changed redelivery is inspected again
            "inspected_at": None,
        }
        turns = [{"tenant": tenant, "conversation_id": c.id, "seq": i, "role": t.role, "text": m.text, "ts": t.ts}
                 for i, (t, m) in enumerate(zip(c.turns, masked, strict=True))]
        return row, turns


def _hash(c: ConversationIn) -> str:
    data = c.model_dump(mode="json")
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
