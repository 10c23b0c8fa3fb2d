"""Column-header aliases of Q&A tables and BEIR corpora, from a resource file.

``kb_ingest/resources/faq_headers.yaml`` maps each article field to the header names
that mean it (``question: [question, q, 问题, 标准问题, ...]``). It is loaded and
validated when this module is imported, so a malformed file stops ingestion at start
with ``ConfigError("FILE:LINE: reason")``, not at the first upload.

Example:
    >>> canon_header("标准问题"), canon_header("Alt Questions"), canon_header("remarks")
    ('question', 'alt_questions', None)
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assist.rules_loader import load_yaml_model

__all__ = ["FAQ_HEADERS_FILE", "FaqHeaders", "canon_header", "header_index", "load_faq_headers"]

FAQ_HEADERS_FILE = Path(__file__).resolve().parents[1] / "resources" / "faq_headers.yaml"

_Aliases = list[str]


def _required() -> _Aliases:
    return Field(min_length=1)


class FaqHeaders(BaseModel):
    """Header names per article field; ``question``, ``answer``, ``id`` and ``text`` are required."""

    model_config = ConfigDict(extra="forbid")

    question: _Aliases = _required()
    answer: _Aliases = _required()
    id: _Aliases = _required()
    text: _Aliases = _required()
    alt_questions: _Aliases = Field(default_factory=list)
    category: _Aliases = Field(default_factory=list)
    product: _Aliases = Field(default_factory=list)
    channel: _Aliases = Field(default_factory=list)
    tags: _Aliases = Field(default_factory=list)
    title: _Aliases = Field(default_factory=list)
    language: _Aliases = Field(default_factory=list)
    type: _Aliases = Field(default_factory=list)
    owner: _Aliases = Field(default_factory=list)
    status: _Aliases = Field(default_factory=list)
    effective_from: _Aliases = Field(default_factory=list)
    valid_until: _Aliases = Field(default_factory=list)
    review_by: _Aliases = Field(default_factory=list)

    @field_validator("*", mode="after")
    @classmethod
    def _non_empty(cls, names: _Aliases) -> _Aliases:
        for name in names:
            if not normalise_header(name):
                raise ValueError(f"header {name!r} is empty once spaces, '_' and '-' are removed")
        return names

    @model_validator(mode="after")
    def _unambiguous(self) -> FaqHeaders:
        owner: dict[str, str] = {}
        for field, names in self:
            for name in names:
                key = normalise_header(name)
                if owner.setdefault(key, field) != field:
                    raise ValueError(
                        f"header {name!r} is listed under both {owner[key]!r} and {field!r}; keep it under one"
                    )
        return self


def normalise_header(name: object) -> str:
    """Lower case without white space, ``_`` and ``-``: the form headers are matched in."""
    return re.sub(r"[\s_\-]", "", str(name).strip().lower())


def load_faq_headers(path: str | Path = FAQ_HEADERS_FILE) -> FaqHeaders:
    """Load and validate a header-alias file.

    Raises:
        ConfigError: ``FILE:LINE: reason`` for a missing file, bad YAML, an unknown field,
            a required field without headers, or a header listed under two fields.
    """
    return load_yaml_model(path, FaqHeaders)


def header_index(headers: FaqHeaders) -> dict[str, str]:
    """Normalised header name -> article field."""
    return {normalise_header(name): field for field, names in headers for name in names}


_INDEX = header_index(load_faq_headers())


def canon_header(name: object) -> str | None:
    """The article field a column header names, or None for an unknown column."""
    return _INDEX.get(normalise_header(name))
