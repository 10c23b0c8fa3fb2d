"""The publish gate: nothing is published that makes the tenant's known answers worse.

Before a revision of an article goes live, the tenant's golden items (``assist.db.golden``)
are searched against two views of one index:

* **live**: what search serves now;
* **after**: the same, with the article's live chunks replaced by the staged revision's
  (the indexer wrote them before publishing, invisible to search).

The items are the tenant's golden set (``manual`` and ``accepted_draft``) and the simulated
customers (``simulated``, :func:`assist.knowledge_loop.simulate_customers`) generated from the
articles being published: a simulation is a paraphrase or a conversation of several customer
messages, searched the way the retriever searches a conversation (its last
``retrieval.history_turns`` messages joined, :func:`assist.retrieval.conversation_query`).
Simulations are written beforehand (on demand, before a publication), never here: the gate
needs no chat model. Simulations of other articles are not run (their golden items are).

Each question is embedded once (in one batch; the vectors are kept in the home's cache for the
next runs) and searched once, hybrid, with staged chunks
included; the hits are then filtered into the two views by chunk id (the database knows
which chunks each live and staged revision holds), so both views rank the same candidates
and differ only in the article being published. Only items touching the article can change:
those that expect it, and those whose results include it in either view.

Gated metrics, per item:

* ``retrieval``: the expected article is among the first ``top_k`` distinct articles live but
  not after;
* ``key_facts``: the item's reference reply states numbers, durations or amounts (found with
  :mod:`assist.text`) that the expected article's live text states and the new revision's
  text no longer does (a changed refund period, a new fee). Golden items only: a
  simulation shares its parent's reference, so it would repeat the parent's verdict.

Regressions say where they come from (``source``: ``golden`` or ``simulation``, with the
parent item and the article@revision the simulation was written from).

The publication is blocked when more items regress than the tenant's tolerance
(``<tenants_dir>/<tenant>/knowledge_loop.yaml``: ``publish_gate: {max_regressions: 0}``,
default 0). A knowledge manager may override a block with a reason
(:func:`override`); the reason and the regressed items are recorded in the note of the
publish event of the workflow history.

Example:
    >>> gate = PublishGate(db=db, store=store, embedder=embedder, sparse=sparse, settings=settings)
    >>> report = await gate.evaluate("nova", "faq-refunds", 3)      # doctest: +SKIP
    >>> report.blocked, [r.item_id for r in report.regressions]
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from assist.config import Settings
from assist.db.engine import Database
from assist.db.golden import GoldenRecord, GoldenRepository
from assist.errors import ConflictError
from assist.text import extract_amounts, extract_durations, find_numbers, mentions_number
from assist.types import Block, RetrievedChunk, SearchFilter, SparseVector

log = logging.getLogger(__name__)

Metric = Literal["retrieval", "key_facts"]


class Regression(BaseModel):
    """One golden item that the new revision answers worse than the live one."""

    item_id: int
    question: str
    expected: str | None
    metric: Metric
    before: str
    after: str
    reason: str
    source: Literal["golden", "simulation"] = "golden"
    """``simulation``: a simulated customer (paraphrase or conversation) of a golden item."""
    parent_id: int | None = None
    """The golden item a simulation was generated from."""
    turns: list[str] | None = None
    """A simulated conversation's customer messages (``question`` holds them joined)."""

    def label(self) -> str:
        """`` (simulation of #12)`` for a simulated item, else empty."""
        if self.source != "simulation":
            return ""
        return f" (simulation of #{self.parent_id})" if self.parent_id else " (simulation)"


class GateReport(BaseModel):
    tenant: str
    article_id: str
    revision: int
    items: int = 0
    """Items run: the tenant's golden items and the simulations of the articles published."""
    simulations: int = 0
    """Of which simulated customers."""
    touched: int = 0
    """Items that expect the article or whose results include it."""
    regressions: list[Regression] = Field(default_factory=list)
    improved: list[int] = Field(default_factory=list)
    """Items that miss live and hit after."""
    tolerance: int = 0
    blocked: bool = False
    overridden: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        worse = "; ".join(
            f"#{r.item_id}{r.label()} {r.question[:60]!r}: {r.reason}" for r in self.regressions[:10]
        )
        more = f" (+{len(self.regressions) - 10} more)" if len(self.regressions) > 10 else ""
        return (
            f"publishing {self.article_id}@{self.revision} makes {len(self.regressions)} golden item(s) "
            f"worse (tolerance {self.tolerance}): {worse}{more}"
        )


class PublishBlocked(ConflictError):
    """The gate refused a publication (HTTP 409, CLI exit status 3)."""

    code = "publish_blocked"

    def __init__(self, report: GateReport) -> None:
        super().__init__(
            report.summary() + "; fix the article, or override with a reason "
            "(override_reason / --override-reason)"
        )
        self.report = report


# ---------------------------------------------------------------- override (per call)
_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("publish_gate_override", default=None)


@contextlib.contextmanager
def override(reason: str | None) -> Iterator[None]:
    """Publish inside this block despite a failing gate; ``reason`` is recorded. ``None`` or
    blank: no override (the gate applies)."""
    token = _override.set(reason.strip() if reason and reason.strip() else None)
    try:
        yield
    finally:
        _override.reset(token)


# ---------------------------------------------------------------- tolerance (tenant file)
def tolerance_for(settings: Settings, tenant: str) -> int:
    """``publish_gate.max_regressions`` of ``<tenants_dir>/<tenant>/knowledge_loop.yaml`` (default 0)."""
    path = Path(settings.tenants_dir) / tenant / "knowledge_loop.yaml"
    if not path.is_file():
        return 0
    import yaml

    from assist.errors import ConfigError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        value = int((data.get("publish_gate") or {}).get("max_regressions", 0))
    except (yaml.YAMLError, AttributeError, TypeError, ValueError) as e:
        raise ConfigError(f"{path}: publish_gate.max_regressions must be a whole number ({e})") from e
    if value < 0:
        raise ConfigError(f"{path}: publish_gate.max_regressions must be 0 or more, got {value}")
    return value


# ---------------------------------------------------------------- simulated items
SIMULATION_SEP = " | "
"""Joins a simulated conversation's customer messages in the item's question (the
retriever's own separator, :func:`assist.retrieval.conversation_query`)."""

_SIM_KEY = re.compile(r"^sim:(\d+):(?:t(\d+):)?")


def simulation_key(parent_id: int, turns: int, question: str) -> str:
    """The ``external_id`` of a simulated item: ``sim:<parent id>:t<messages>:<hash>``."""
    import hashlib

    return f"sim:{parent_id}:t{turns}:{hashlib.sha1(question.encode()).hexdigest()[:12]}"


def simulation_parent(item: GoldenRecord) -> int | None:
    """The golden item a simulated item was generated from (None: not a simulation)."""
    m = _SIM_KEY.match(item.external_id or "") if item.source == "simulated" else None
    return int(m.group(1)) if m else None


def simulation_turns(item: GoldenRecord) -> list[str]:
    """The customer messages of an item: several for a simulated conversation, else the question."""
    m = _SIM_KEY.match(item.external_id or "") if item.source == "simulated" else None
    if m and m.group(2) and int(m.group(2)) > 1:
        return [t.strip() for t in item.question.split(SIMULATION_SEP)]
    return [item.question]


# ---------------------------------------------------------------- key facts
def key_facts(text: str) -> list[tuple[float, str]]:
    """The checkable facts of a reference reply: ``(value, as written)`` for each number,
    duration and amount (a range contributes both ends).

    Example:
        >>> [w for _, w in key_facts("签收后 7 天内可退货，运费 10 元")]
        ['7 天内', '10 元']
    """
    out: dict[float, str] = {}
    spans: list[tuple[int, int]] = []
    for d in extract_durations(text):
        spans.append((d.start, d.end))
        for v in {d.low, d.high}:
            out.setdefault(v, text[d.start : d.end].strip())
    for a in extract_amounts(text):
        spans.append((a.start, a.end))
        out.setdefault(float(a.value), text[a.start : a.end].strip())
    for value, s, e in find_numbers(text):
        if not any(a <= s < b for a, b in spans):
            out.setdefault(value, text[s:e].strip())
    return list(out.items())


def _blocks_text(blocks: Sequence[Block]) -> str:
    return "\n".join(" ".join([*b.heading_path, b.text]) for b in blocks)


# ---------------------------------------------------------------- the gate
@dataclass
class _Views:
    live_ids: set[str]
    after_ids: set[str]


Change = tuple[str, int, Sequence[str] | None]
"""``(article_id, revision, chunk_ids)`` of a revision about to go live."""


@dataclass
class PublishGate:
    """Runs a tenant's golden set against the live index and the index after a publish."""

    db: Database
    store: Any
    embedder: Any
    sparse: Any
    settings: Settings
    top_k: int | None = None
    _golden: GoldenRepository = field(init=False)

    def __post_init__(self) -> None:
        self._golden = GoldenRepository(self.db)

    @classmethod
    def of(cls, indexer: Any) -> PublishGate:
        """The gate of an indexer (``kb_ingest.indexing.Indexer``: same db, store, models)."""
        return cls(
            db=indexer.db,
            store=indexer.store,
            embedder=indexer.embedder,
            sparse=indexer.sparse,
            settings=indexer.settings,
        )

    async def evaluate(self, tenant: str, article_id: str, revision: int) -> GateReport:
        """The gate's verdict on making ``revision`` of ``article_id`` live (nothing changes)."""
        return await self.evaluate_changes(tenant, [(article_id, revision, None)])

    async def evaluate_changes(self, tenant: str, changes: Sequence[Change]) -> GateReport:
        """The verdict on making several revisions live at once: ``(article_id, revision,
        chunk_ids)``, chunk ids None to read them from the database (a staged revision)."""
        started = time.perf_counter()
        first = changes[0]
        report = GateReport(
            tenant=tenant,
            article_id=", ".join(c[0] for c in changes),
            revision=first[1],
            tolerance=tolerance_for(self.settings, tenant),
        )
        every = self._golden.list(tenant)
        changed = {c[0] for c in changes}
        items = [i for i in every if i.source != "simulated" or i.expected_article in changed]
        report.items = len(items)
        report.simulations = sum(i.source == "simulated" for i in items)
        if not items:
            report.seconds = round(time.perf_counter() - started, 3)
            return report
        views, texts = self._views(tenant, changes)
        k = self.top_k or self.settings.retrieval.top_k
        hits = await self._search(tenant, items, k)
        for item, found in zip(items, hits, strict=True):
            before = _ranking(found, views.live_ids)
            after = _ranking(found, views.after_ids)
            touches = item.expected_article in changed or bool(changed & set(before[:k] + after[:k]))
            if not touches:
                continue
            report.touched += 1
            regression = _compare(item, before, after, k, texts)
            if regression is not None:
                report.regressions.append(regression)
            elif (
                item.expected_article
                and item.expected_article not in before[:k]
                and item.expected_article in after[:k]
            ):
                report.improved.append(item.id)
        report.blocked = len(report.regressions) > report.tolerance
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    async def check_new(
        self,
        tenant: str,
        changes: Sequence[Change],
        *,
        staged: Sequence[Change] = (),
        actor: str | None = None,
        note: str | None = None,
    ) -> str | None:
        """:meth:`check` for articles published for the first time in one ingest (their chunk
        ids are given: the indexer records them later). Blocked, the ingest's revisions
        (``staged``: all of it) are recorded as indexed and staged before
        :class:`PublishBlocked` is raised, so they can be published later (fixed, or with
        an override)."""
        if not changes:
            return note
        report = await self.evaluate_changes(tenant, changes)
        try:
            return self._verdict(report, actor=actor, note=note)
        except PublishBlocked:
            from assist.db import ArticleRepository

            repo = ArticleRepository(self.db)
            for aid, rev, ids in staged:
                repo.mark_index_state(tenant, aid, rev, "staged", chunk_ids=list(ids or []))
            raise

    async def check(
        self,
        tenant: str,
        article_id: str,
        revision: int,
        *,
        actor: str | None = None,
        note: str | None = None,
    ) -> str | None:
        """Evaluate; raise :class:`PublishBlocked` when blocked and not overridden. Returns the
        note for the publish event (``note``, plus the override and its regressions)."""
        from assist.db import ArticleRepository

        rev = ArticleRepository(self.db).get_revision(tenant, article_id, revision)
        if rev is None or rev.index_state not in ("staged", "live"):
            return note  # nothing to compare; the publish itself says why it cannot go ahead
        report = await self.evaluate(tenant, article_id, revision)
        return self._verdict(report, actor=actor, note=note)

    def _verdict(self, report: GateReport, *, actor: str | None, note: str | None) -> str | None:
        if not report.blocked:
            if report.items:
                log.info(
                    "publish gate passed for %s/%s@%s: %d touched, %d regressed, %.2fs",
                    report.tenant,
                    report.article_id,
                    report.revision,
                    report.touched,
                    len(report.regressions),
                    report.seconds,
                )
            return note
        reason = _override.get()
        if reason is None:
            raise PublishBlocked(report)
        log.warning(
            "publish gate overridden by %s for %s/%s@%s: %s",
            actor,
            report.tenant,
            report.article_id,
            report.revision,
            reason,
        )
        report.overridden = reason
        ids = ", ".join(f"#{r.item_id}" for r in report.regressions)
        extra = f"publish gate overridden: {reason} ({len(report.regressions)} regressed: {ids})"
        return f"{note}; {extra}" if note else extra

    # ------------------------------------------------------------ internals
    def _views(self, tenant: str, changes: Sequence[Change]) -> tuple[_Views, dict[str, dict[str, str]]]:
        """Chunk ids of the live view and the after view, and per changed article its live and
        new text (``{"live": ..., "after": ...}``)."""
        from assist.db import ArticleRepository
        from assist.db.models import Article, ArticleRevision
        from assist.stores._payload import point_id

        ids_of: dict[str, set[str]] = {}
        with self.db.session(readonly=True) as s:
            q = (
                select(ArticleRevision.article_id, ArticleRevision.chunk_ids)
                .join(
                    Article,
                    (Article.tenant == ArticleRevision.tenant)
                    & (Article.article_id == ArticleRevision.article_id)
                    & (Article.live_revision == ArticleRevision.revision),
                )
                .where(ArticleRevision.tenant == tenant)
            )
            for aid, chunk_ids in s.execute(q):
                ids_of[aid] = {point_id(c) for c in (chunk_ids or [])}
        live_ids = set().union(*ids_of.values()) if ids_of else set()
        after = dict(ids_of)
        repo = ArticleRepository(self.db)
        texts: dict[str, dict[str, str]] = {}
        for aid, rev, chunk_ids in changes:
            new = repo.get_revision(tenant, aid, rev)
            ids = chunk_ids if chunk_ids is not None else (new.chunk_ids if new else [])
            after[aid] = {point_id(c) for c in ids}
            texts[aid] = {}
            art = repo.get_article(tenant, aid)
            if art is not None and art.live_revision is not None:
                live = repo.get_revision(tenant, aid, art.live_revision)
                if live is not None:
                    texts[aid]["live"] = _blocks_text(live.blocks)
            if new is not None:
                texts[aid]["after"] = _blocks_text(new.blocks)
        after_ids = set().union(*after.values()) if after else set()
        return _Views(live_ids, after_ids), texts

    async def _search(self, tenant: str, items: Sequence[GoldenRecord], k: int) -> list[list[RetrievedChunk]]:
        from assist.retrieval import conversation_query
        from assist.types import Turn

        cache = _QueryCache(self._cache_path(tenant))
        history = self.settings.retrieval.history_turns
        questions = [
            i.question
            if len(t := simulation_turns(i)) == 1
            else conversation_query([Turn(role="customer", text=x) for x in t], max_turns=history)
            for i in items
        ]
        missing = [q for q in dict.fromkeys(questions) if q not in cache]
        if missing:  # embed in one batch only what no earlier gate run embedded
            dense = await self.embedder.embed_queries(missing)
            for q, vec in zip(missing, dense, strict=True):
                sp = self.sparse.encode_query(q)
                cache.put(q, vec, sp.indices, sp.values)
            cache.save()
        r = self.settings.retrieval
        want = k * 3 + 10  # room for per-article de-duplication and staged chunks of other drafts
        out: list[list[RetrievedChunk]] = []
        for item, q in zip(items, questions, strict=True):
            vec, sparse = cache.get(q)
            flt = SearchFilter(
                tenant=tenant, include_staged=True, languages=[item.language] if item.language else None
            )
            found = await self.store.search(
                dense=vec,
                sparse=sparse,
                filters=flt,
                top_k=want,
                candidates=max(r.candidates, want),
                fusion=r.fusion,
            )
            out.append(found)
        return out

    def _cache_path(self, tenant: str) -> Path:
        import hashlib

        key = f"{self.embedder.model_id}|{self.settings.sparse.model_dump_json()}"
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        return Path(self.settings.home) / "cache" / "publish_gate" / f"{tenant}-{digest}.npz"


class _QueryCache:
    """The golden questions' query vectors (dense and sparse) of one tenant and one pair of
    encoders, kept between gate runs in ``<home>/cache/publish_gate/`` (keys are hashes of
    the masked questions; a lost or corrupt file is rebuilt)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rows: dict[str, tuple[list[float], list[int], list[float]]] = {}
        self._dirty = False
        if path.is_file():
            try:
                import numpy as np

                with np.load(path, allow_pickle=False) as z:
                    keys, dense = z["keys"].tolist(), z["dense"]
                    sparse = json.loads(str(z["sparse"]))
                for key, vec, (idx, val) in zip(keys, dense, sparse, strict=True):
                    self._rows[key] = (vec.tolist(), idx, val)
            except Exception:  # a cache is never worth failing a publish for
                log.warning("ignoring an unreadable publish-gate cache %s", path)
                self._rows = {}

    @staticmethod
    def _key(question: str) -> str:
        import hashlib

        return hashlib.sha256(question.encode()).hexdigest()

    def __contains__(self, question: str) -> bool:
        return self._key(question) in self._rows

    def put(self, question: str, dense: list[float], indices: list[int], values: list[float]) -> None:
        self._rows[self._key(question)] = (list(dense), list(indices), list(values))
        self._dirty = True

    def get(self, question: str) -> tuple[list[float], SparseVector]:
        dense, idx, val = self._rows[self._key(question)]
        return dense, SparseVector(indices=idx, values=val)

    def save(self) -> None:
        if not self._dirty:
            return
        import os
        import tempfile

        import numpy as np

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self._rows)
            dense = np.asarray([self._rows[k][0] for k in keys], dtype=np.float32)
            sparse = json.dumps([[self._rows[k][1], self._rows[k][2]] for k in keys])
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
            with os.fdopen(fd, "wb") as f:
                np.savez(f, keys=np.asarray(keys), dense=dense, sparse=np.asarray(sparse))
            os.replace(tmp, self.path)
        except OSError as e:
            log.warning("could not write the publish-gate cache %s: %s", self.path, e)


def _ranking(found: Sequence[RetrievedChunk], allowed: set[str]) -> list[str]:
    """Distinct article ids, best first, of the hits a view can see."""
    ranked = sorted(
        (h for h in found if h.chunk.id in allowed),
        key=lambda h: (-round(h.score, 9), -(h.dense_score or 0.0), h.chunk.id),
    )
    seen: dict[str, None] = {}
    for h in ranked:
        seen.setdefault(h.chunk.article_id, None)
    return list(seen)


def _rank(ranking: list[str], article: str | None) -> int | None:
    return ranking.index(article) + 1 if article in ranking else None


def _compare(
    item: GoldenRecord, before: list[str], after: list[str], k: int, texts: dict[str, dict[str, str]]
) -> Regression | None:
    exp = item.expected_article
    if exp is None:
        return None
    rb, ra = _rank(before, exp), _rank(after, exp)
    common: dict[str, Any] = {"item_id": item.id, "question": item.question, "expected": item.expected}
    simulated = item.source == "simulated"
    if simulated:
        turns = simulation_turns(item)
        common.update(
            source="simulation", parent_id=simulation_parent(item), turns=turns if len(turns) > 1 else None
        )
    if rb is not None and rb <= k and (ra is None or ra > k):
        top = after[0] if after else "nothing"
        return Regression(
            **common,
            metric="retrieval",
            before=f"rank {rb}",
            after=f"rank {ra or '>' + str(k)}",
            reason=f"{exp} drops out of the top {k} (rank {rb} -> {ra or 'missing'}); "
            f"the top result becomes {top}",
        )
    t = texts.get(exp, {})
    if not simulated and item.reference and "live" in t and "after" in t:
        facts = key_facts(item.reference)
        lost = list(
            dict.fromkeys(
                w
                for v, w in facts
                if mentions_number(v, [t["live"]]) and not mentions_number(v, [t["after"]])
            )
        )
        if lost:
            return Regression(
                **common,
                metric="key_facts",
                before="states " + ", ".join(lost),
                after="no longer states " + ", ".join(lost),
                reason=f"the new revision no longer states {', '.join(lost)} "
                f"(the reference answer: {item.reference[:120]})",
            )
    return None
