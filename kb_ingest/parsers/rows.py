"""Row-oriented sources (Q&A tables, BEIR corpora): header names to article fields, row
metadata, and the text of an FAQ block."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from kb_ingest.frontmatter import merge_meta
from kb_ingest.parsers.headers import canon_header

__all__ = ["render_faq", "row_fields", "row_meta", "split_alts"]

_ALT_SPLIT = re.compile(r"\s*(?:\|\||\||\n|；)\s*")


def render_faq(question: str, alt_questions: Iterable[str], answer: str, language: str) -> str:
    """The text of an FAQ block: question, other phrasings, answer (zh or en labels)."""
    alts = [a for a in alt_questions if a]
    if language == "zh":
        parts = [f"问：{question}"] + ([f"相似问法：{'；'.join(alts)}"] if alts else []) + [f"答：{answer}"]
    else:
        parts = [f"Q: {question}"] + ([f"Also asked: {' | '.join(alts)}"] if alts else []) + [f"A: {answer}"]
    return "\n".join(parts)


def row_fields(row: Mapping[str, Any], keys: Mapping[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        c = keys.get(k) or canon_header(k)
        if c is not None and c not in out:
            out[c] = v
    return out


def split_alts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p for p in _ALT_SPLIT.split(str(value).strip()) if p]


def row_meta(f: dict[str, Any], base: dict[str, Any], where: str) -> dict[str, Any]:
    row_meta = {
        k: f[k]
        for k in (
            "product",
            "channel",
            "title",
            "language",
            "type",
            "owner",
            "status",
            "effective_from",
            "valid_until",
            "review_by",
        )
        if f.get(k) not in (None, "")
    }
    tags = list(base.get("tags", []))
    for key in ("tags", "category"):
        if f.get(key) not in (None, ""):
            tags += merge_meta({"tags": f[key]}, where=where)["tags"]
    meta = merge_meta(base, row_meta, where=where)
    if tags:
        meta["tags"] = list(dict.fromkeys(tags))
    return meta
