"""Payload layout and filter semantics shared by both Qdrant stores.

Both stores write the same payload and apply the same filter, expressed here in plain
Python; each adapter only translates the neutral :class:`Condition` list into its own
SDK's types. Keeping one definition is what makes the contract tests meaningful.

Payload of a point (``id`` = ``Chunk.id``):
    every ``Chunk`` field (enums as their values), plus ``staged: bool``, with
    ``effective_from`` / ``valid_until`` stored as integers ``YYYYMMDD`` (no date: ``0`` /
    ``99991231``) so that a numeric range filter decides "in effect on date D".
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np

from assist.errors import InputError
from assist.types import Chunk, SearchFilter

NO_EFFECTIVE_FROM = 0
NO_VALID_UNTIL = 99991231
DATE_FIELDS = ("effective_from", "valid_until")

TENANT_FIELD = "tenant"
STAGED_FIELD = "staged"
KEYWORD_INDEXES: tuple[str, ...] = ("article_id", "type", "language", "product", "channel", "tags")
"""Keyword-indexed fields besides the tenant (which gets a tenant-optimised index)."""
BOOL_INDEXES: tuple[str, ...] = (STAGED_FIELD,)
INTEGER_INDEXES: tuple[str, ...] = DATE_FIELDS

DENSE = "dense"
SPARSE = "sparse"


@dataclass(frozen=True)
class Condition:
    """One ``must`` condition in SDK-neutral form.

    ``kind``: ``value`` (field == value), ``any`` (field in values), ``any_or_empty``
    (field in values, or the field is null/missing: an article without a product or
    channel applies to all of them), ``range`` (``gte <= field <= lte``).
    """

    kind: Literal["value", "any", "any_or_empty", "range"]
    key: str
    value: Any = None
    gte: int | None = None
    lte: int | None = None


def date_to_int(d: date | None, default: int) -> int:
    """``2025-03-01`` -> ``20250301``; ``None`` -> ``default``."""
    return default if d is None else d.year * 10000 + d.month * 100 + d.day


def int_to_date(v: Any, default: int) -> date | None:
    if v is None or int(v) == default:
        return None
    v = int(v)
    return date(v // 10000, (v // 100) % 100, v % 100)


def point_id(chunk_id: str) -> str:
    """The canonical point id of a chunk id (Qdrant accepts only UUIDs and integers)."""
    try:
        return str(uuid.UUID(str(chunk_id)))
    except ValueError as e:
        raise InputError(
            f"chunk id {chunk_id!r} is not a UUID: Qdrant point ids must be UUIDs "
            "(chunk ids are UUIDv5 of tenant, article and content; build chunks with the chunker)"
        ) from e


def _jsonable(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def normalise_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Payload update values in stored form: dates as ``YYYYMMDD`` ints, enums as values.

    Example:
        >>> normalise_payload({"valid_until": date(2025, 1, 31), "revision": 2})
        {'valid_until': 20250131, 'revision': 2}
    """
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "effective_from" and (value is None or isinstance(value, date)):
            out[key] = date_to_int(value, NO_EFFECTIVE_FROM)
        elif key == "valid_until" and (value is None or isinstance(value, date)):
            out[key] = date_to_int(value, NO_VALID_UNTIL)
        else:
            out[key] = _jsonable(value)
    return out


def chunk_to_payload(chunk: Chunk, *, staged: bool) -> dict[str, Any]:
    """The stored payload of ``chunk``."""
    payload = chunk.model_dump(mode="json", exclude={"id", "effective_from", "valid_until"})
    payload["effective_from"] = date_to_int(chunk.effective_from, NO_EFFECTIVE_FROM)
    payload["valid_until"] = date_to_int(chunk.valid_until, NO_VALID_UNTIL)
    payload[STAGED_FIELD] = staged
    return payload


_CHUNK_FIELDS = frozenset(Chunk.model_fields)


def payload_to_chunk(pid: Any, payload: dict[str, Any] | None) -> Chunk:
    """Rebuild a ``Chunk`` from a stored point (unknown payload keys are ignored)."""
    data = {k: v for k, v in (payload or {}).items() if k in _CHUNK_FIELDS}
    data["id"] = str(pid)
    data["effective_from"] = int_to_date(data.get("effective_from"), NO_EFFECTIVE_FROM)
    data["valid_until"] = int_to_date(data.get("valid_until"), NO_VALID_UNTIL)
    return Chunk.model_validate(data)


def filter_conditions(f: SearchFilter, *, today: date | None = None) -> list[Condition]:
    """The ``must`` conditions of a search filter.

    Tenant always matches exactly; each given list becomes a match-any; staged chunks are
    excluded unless ``include_staged``; only chunks in effect on ``on_date`` (default
    today) pass: ``effective_from <= D <= valid_until``.
    """
    conds = [Condition("value", TENANT_FIELD, f.tenant)]
    lists: Sequence[tuple[str, Sequence[Any] | None]] = (
        ("language", f.languages),
        ("product", f.products),
        ("channel", f.channels),
        ("type", [_jsonable(t) for t in f.types] if f.types is not None else None),
        ("article_id", f.article_ids),
    )
    for key, values in lists:
        if values is not None:
            # General articles (no product, no channel) apply to every product and channel.
            kind: Literal["any", "any_or_empty"] = "any_or_empty" if key in ("product", "channel") else "any"
            conds.append(Condition(kind, key, list(values)))
    if not f.include_staged:
        conds.append(Condition("value", STAGED_FIELD, False))
    on = date_to_int(f.on_date or today or date.today(), 0)
    conds.append(Condition("range", "effective_from", lte=on))
    conds.append(Condition("range", "valid_until", gte=on))
    return conds


def tenant_conditions(tenant: str) -> list[Condition]:
    """Every point of one tenant, staged or not, whatever its dates."""
    return [Condition("value", TENANT_FIELD, tenant)]


def article_conditions(tenant: str, article_id: str) -> list[Condition]:
    """Every point of one article, staged or not, whatever its dates."""
    return [*tenant_conditions(tenant), Condition("value", "article_id", article_id)]


def cosines(query: Sequence[float] | None, vectors: Sequence[Any]) -> list[float | None]:
    """Cosine of the query and each point's stored dense vector (a list, or the engine's
    ``{name: list}`` form), in one matrix product; None for a point that came back
    without one."""
    rows = [v.get(DENSE) if isinstance(v, dict) else v for v in vectors]
    if query is None or not rows:
        return [None] * len(rows)
    have = [i for i, v in enumerate(rows) if v is not None]
    out: list[float | None] = [None] * len(rows)
    if not have:
        return out
    m = np.asarray([rows[i] for i in have], dtype=np.float32)
    q = np.asarray(query, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1) * float(np.linalg.norm(q))
    sims = (m @ q) / np.where(norms > 0, norms, 1.0)
    for i, sim in zip(have, sims.tolist(), strict=True):
        out[i] = sim
    return out
