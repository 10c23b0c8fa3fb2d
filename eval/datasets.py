"""Readers for the evaluation data layouts (BEIR, intents, RGB QA, DSTC10 dialogues).

The data sets live outside the repository (``../shared/data`` or any folder with the
same layout); nothing here copies them.

Example:
    >>> ds = BeirDataset.load(Path("../shared/data/zh_bq_faq"))   # doctest: +SKIP
    >>> len(ds.queries), len(ds.qrels)
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assist.errors import InputError
from assist.types import Turn


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All JSON objects of a JSONL file (blank lines skipped)."""
    if not path.exists():
        raise InputError(f"{path} does not exist: point --dataset at a folder holding it")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query-id -> {corpus-id: relevance}`` from a BEIR ``qrels.tsv`` (header optional)."""
    out: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            out.setdefault(row[0], {})[row[1]] = int(float(row[2]))
    return out


def dataset_slug(path: Path) -> str:
    """``zh_bq_faq`` -> ``zh-bq-faq`` (tenant ids use dashes)."""
    return path.resolve().name.replace("_", "-").lower()


def split_context(text: str) -> list[Turn]:
    """Turn a ``" | "``-joined dialogue window into turns.

    The window alternates speakers and ends with the customer, so roles are assigned from
    the end: last = customer, the one before = agent, and so on.

    Example:
        >>> [t.role for t in split_context("hi | hello, how can I help | is it open late")]
        ['customer', 'agent', 'customer']
    """
    parts = [p.strip() for p in text.split(" | ") if p.strip()]
    n = len(parts)
    return [Turn(role="customer" if (n - 1 - i) % 2 == 0 else "agent", text=p) for i, p in enumerate(parts)]


@dataclass
class BeirDataset:
    """A BEIR-layout folder: ``corpus.jsonl``, ``queries.jsonl``, ``qrels.tsv``."""

    path: Path
    queries: list[dict[str, Any]]
    qrels: dict[str, dict[str, int]]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def corpus_path(self) -> Path:
        return self.path / "corpus.jsonl"

    @classmethod
    def load(cls, path: Path) -> BeirDataset:
        for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
            if not (path / name).exists():
                raise InputError(f"{path} is not a BEIR folder: {name} is missing")
        qrels = read_qrels(path / "qrels.tsv")
        queries = [q for q in read_jsonl(path / "queries.jsonl") if str(q["id"]) in qrels]
        return cls(path=path, queries=queries, qrels=qrels)
