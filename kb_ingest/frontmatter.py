"""Article metadata from YAML front matter, sidecar files and defaults.

Metadata is merged lowest-first: caller ``defaults`` < sidecar ``<file>.meta.yaml`` <
Markdown front matter (or a Q&A table's own columns). Every failure is an
:class:`~assist.errors.InputError` that names the field and the offending value.

Example:
    >>> body, data = split_front_matter("---\\nid: refund\\ntype: sop\\n---\\n# Refund\\n", where="a.md")
    >>> build_meta({**data, "title": "Refund"}, where="a.md").id
    'refund'
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assist.errors import InputError
from assist.types import ArticleMeta, ArticleStatus, ArticleType

META_FIELDS: frozenset[str] = frozenset(ArticleMeta.model_fields)
_DATE_FIELDS = ("effective_from", "valid_until", "review_by")
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_ID_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")


MAX_TAGS = 50
MAX_TAG_CHARS = 100


class _AliasRefused(yaml.MarkedYAMLError):
    """An anchor (``&a``) or alias (``*a``): refused, a few bytes of them expand to megabytes."""


class _MetaLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings, so an impossible date like 2026-02-30
    reaches our validation (which names the field) instead of crashing inside PyYAML,
    and refuses anchors and aliases: article metadata never needs them, and a chain of
    aliases turns a few hundred bytes into megabytes (the "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _AliasRefused(
                problem="YAML anchors and aliases (&name, *name) are not allowed in article metadata; "
                        "write each value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


_MetaLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def split_front_matter(text: str, *, where: str) -> tuple[str, dict[str, Any]]:
    """Split ``---``-delimited YAML front matter from a Markdown body.

    Args:
        text: The whole decoded file.
        where: The file name, for error messages.

    Returns:
        The body without front matter and the parsed mapping (empty when there is none).

    Raises:
        InputError: The front matter is not valid YAML or not a mapping.
    """
    m = _FRONT_MATTER.match(text)
    if not m:
        return text, {}
    data = load_yaml_mapping(m.group(1), where=f"{where} (front matter)")
    return text[m.end() :], data


def load_yaml_mapping(source: str, *, where: str) -> dict[str, Any]:
    """Parse YAML that must be a mapping (front matter or a ``.meta.yaml`` sidecar)."""
    try:
        data = yaml.load(source, Loader=_MetaLoader)  # noqa: S506 - a SafeLoader subclass
    except _AliasRefused as e:
        mark = e.problem_mark
        raise InputError(f"{where}: line {mark.line + 1}: {e.problem}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise InputError(f"{where}: malformed YAML{at}: {problem}. Fix the YAML syntax.") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: metadata must be a YAML mapping of field: value, got {type(data).__name__}"
        )
    return {str(k): v for k, v in data.items()}


def read_sidecar(path: Path) -> dict[str, Any]:
    """Metadata from ``<file>.meta.yaml`` (or ``.meta.yml``) next to ``path``, if present."""
    for suffix in (".meta.yaml", ".meta.yml"):
        side = path.with_name(path.name + suffix)
        if side.is_file():
            return load_yaml_mapping(side.read_text(encoding="utf-8-sig"), where=str(side.name))
    return {}


def slug_id(name: str) -> str:
    """A stable, valid article id from a (relative) file name or any label.

    ASCII letters and digits are kept; when anything else (e.g. Chinese) was dropped,
    a short hash of the original is appended, so ``退款流程.md`` and ``开户流程.md``
    get different ids without needing a pinyin dictionary.

    Example:
        >>> slug_id("sop/Refund Process.md")
        'sop-refund-process'
    """
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", name.replace("\\", "/"))
    norm = unicodedata.normalize("NFKD", stem)
    ascii_part = re.sub(r"[^A-Za-z0-9]+", "-", norm.encode("ascii", "ignore").decode()).strip("-").lower()
    lossy = bool(re.search(r"[^\x00-\x7f]", norm))
    if not ascii_part or lossy:
        digest = hashlib.sha256(stem.encode("utf-8")).hexdigest()[:10]
        ascii_part = f"{ascii_part}-{digest}" if ascii_part else f"doc-{digest}"
    return ascii_part[:200]


def sanitize_id(raw: str) -> str:
    """Make an external id (e.g. a BEIR row id) a valid ArticleMeta id, stably."""
    raw = str(raw).strip()
    if _ID_OK.match(raw) and len(raw) <= 200:
        return raw
    cleaned = re.sub(r"[^A-Za-z0-9_.:\-]+", "-", raw).strip("-_.:")
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:10]
    return f"{cleaned[:180]}-{digest}" if cleaned else f"doc-{digest}"


def _normalise(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        key = key.strip().lower()
        if key not in META_FIELDS or value is None or value == "":
            continue
        if key == "tags":
            if isinstance(value, str):
                value = [t.strip() for t in re.split(r"[,，;；|]", value) if t.strip()]
            elif isinstance(value, (list, tuple)):
                value = [str(t).strip() for t in value if str(t).strip()]
            else:
                value = [str(value)]
            if len(value) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in value):
                raise InputError(f"{where}: field 'tags' has {len(value)} tags; at most {MAX_TAGS} tags of "
                                 f"at most {MAX_TAG_CHARS} characters each")
        elif key in _DATE_FIELDS:
            value = _parse_date(key, value, where)
        elif key in ("type", "status", "language") and isinstance(value, str):
            value = value.strip().lower()
        elif key in ("id", "title", "product", "channel", "owner", "tenant"):
            value = str(value).strip()
        out[key] = value
    return out


def _parse_date(field: str, value: Any, where: str) -> date:
    if isinstance(value, date):
        return value.date() if hasattr(value, "date") and callable(value.date) else value
    s = str(value).strip()
    for fmt_re in (
        r"^(\d{4})-(\d{1,2})-(\d{1,2})$",
        r"^(\d{4})/(\d{1,2})/(\d{1,2})$",
        r"^(\d{4})年(\d{1,2})月(\d{1,2})日$",
    ):
        m = re.match(fmt_re, s)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    raise InputError(f"{where}: field '{field}' has unparsable date {value!r}; write it as YYYY-MM-DD")


def merge_meta(*layers: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """Merge metadata layers, later ones winning, normalising each (tags, dates, case)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged.update(_normalise(layer, where))
    return merged


def build_meta(data: Mapping[str, Any], *, where: str) -> ArticleMeta:
    """Validate merged metadata into an :class:`ArticleMeta`.

    Raises:
        InputError: naming the field and value (unknown type, bad id, bad language...).
    """
    data = _normalise(data, where)
    start, end = data.get("effective_from"), data.get("valid_until")
    if start and end and end < start:
        raise InputError(f"{where}: field 'valid_until' ({end}) is before 'effective_from' ({start}): "
                         "an article cannot expire before it takes effect")
    try:
        return ArticleMeta.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "?"
        value = err.get("input")
        hint = {
            "type": f"use one of {[t.value for t in ArticleType]}",
            "status": f"use one of {[s.value for s in ArticleStatus]}",
            "language": "use 'zh' or 'en'",
            "id": "use letters, digits and _ . : - (starting with a letter or digit), at most 200 characters",
        }.get(field, err["msg"])
        raise InputError(f"{where}: field '{field}' has invalid value {value!r}: {hint}") from e
