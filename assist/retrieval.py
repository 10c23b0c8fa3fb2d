"""Hybrid retrieval with filters, entity carry-over and a calibrated "covered" decision.

Query → (conversation-aware query text) → dense query vector + sparse lexical vector →
one Qdrant hybrid query (both prefetched, fused with RRF or DBSF) under the tenant's
filters → per-article deduplication → optional rerank → covered or not.

Entity carry-over: customers name the product (or hotel, or restaurant) once and then
say "it". The retriever resolves the most recently mentioned known entity (the
``product`` field of the tenant's articles) from the conversation and searches within
it first, filling the rest of the list from the unscoped search.

Example:
    >>> r = Retriever(embedder=emb, sparse=SparseEncoder(s.sparse), store=store, settings=s.retrieval)
    >>> result = await r.retrieve("退款多久到账？", SearchFilter(tenant="nova"))   # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from assist.config import RetrievalSettings
from assist.embedders.base import Embedder
from assist.sparse import SparseEncoder
from assist.stores.base import VectorStore
from assist.types import RetrievedChunk, SearchFilter, Turn

Mode = Literal["hybrid", "dense", "sparse"]


class Reranker(Protocol):
    """Reorders candidates for a query (a cross-encoder, or an LLM acting as one)."""

    async def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]: ...


@dataclass
class RetrievalResult:
    query: str
    chunks: list[RetrievedChunk]
    covered: bool
    top_dense: float | None = None
    entity: str | None = None
    mode: Mode = "hybrid"
    top_sparse: float | None = None


# --------------------------------------------------------------------------- query text
def conversation_query(turns: Sequence[Turn], *, max_turns: int = 4, max_chars: int = 1200) -> str:
    """The text to search with: the last turns, most recent last, joined with `` | ``.

    Dialogue context has to be in the query: the last customer turn alone rarely names
    what it is about. Customer and agent turns both count (the agent often names it).
    """
    picked = [t.text.strip() for t in turns if t.role != "system" and t.text.strip()][-max_turns:]
    text = " | ".join(picked)
    return text[-max_chars:]


# --------------------------------------------------------------------------- entities
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _tokens(text: str) -> list[str]:
    toks = _WORD.findall(_norm(text))
    out: list[str] = []
    for i, t in enumerate(toks):
        if len(t) == 1 and "\u3400" <= t <= "\u9fff":
            # CJK: character bigrams carry names better than single characters.
            if i + 1 < len(toks) and len(toks[i + 1]) == 1 and "\u3400" <= toks[i + 1] <= "\u9fff":
                out.append(t + toks[i + 1])
        else:
            out.append(t)
    return out


@dataclass
class EntityResolver:
    """Finds the most recently mentioned known entity in a conversation.

    Each entity name is a bag of tokens weighted by how rare the token is among all the
    entity names (IDF), so "grant" identifies "GRANT HOTEL" while "hotel" identifies
    nothing. A turn mentions an entity when the matched share of the name's weight is at
    least ``min_share``; the latest mentioning turn wins, ties go to the better match.

    Example:
        >>> r = EntityResolver.from_names(["GRANT HOTEL", "A AND B GUEST HOUSE"])
        >>> r.resolve(["is the grant hotel close to the museum", "what time is check in"])
        'GRANT HOTEL'
    """

    names: dict[str, list[str]]
    min_share: float = 0.75
    _idf: dict[str, float] = field(default_factory=dict)
    _tok: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_names(cls, names: Sequence[str], aliases: dict[str, list[str]] | None = None,
                   min_share: float = 0.75) -> EntityResolver:
        table = {n: [n, *(aliases or {}).get(n, [])] for n in names if n}
        r = cls(names=table, min_share=min_share)
        r._build()
        return r

    def _build(self) -> None:
        df: Counter[str] = Counter()
        for key, forms in self.names.items():
            for form in forms:
                toks = list(dict.fromkeys(_tokens(form)))
                self._tok[f"{key}\x00{form}"] = toks
                df.update(toks)
        n = max(1, len(self._tok))
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}

    def __len__(self) -> int:
        return len(self.names)

    def match(self, text: str) -> tuple[str, float] | None:
        present = set(_tokens(text))
        best: tuple[str, float] | None = None
        for k, toks in self._tok.items():
            if not toks:
                continue
            total = sum(self._idf[t] for t in toks)
            hit = sum(self._idf[t] for t in toks if t in present)
            share = hit / total if total else 0.0
            # A single very common token ("hotel") must not count as a mention.
            if share >= self.min_share and hit >= 1.0 and (best is None or share > best[1]):
                best = (k.split("\x00", 1)[0], share)
        return best

    def resolve(self, texts: Sequence[str]) -> str | None:
        for text in reversed(texts):
            m = self.match(text)
            if m:
                return m[0]
        return None


# --------------------------------------------------------------------------- retriever
EntitySource = Callable[[str], EntityResolver | None]
"""``tenant -> EntityResolver``: the known entities of a tenant (None: no carry-over)."""


@dataclass
class Retriever:
    embedder: Embedder
    sparse: SparseEncoder
    store: VectorStore
    settings: RetrievalSettings
    reranker: Reranker | None = None
    entities: EntitySource | None = None
    max_per_article: int = 1

    async def retrieve(
        self,
        query: str,
        filters: SearchFilter,
        *,
        turns: Sequence[Turn] | None = None,
        top_k: int | None = None,
        mode: Mode = "hybrid",
        entity_scope: bool = True,
    ) -> RetrievalResult:
        """Search the tenant's live knowledge.

        Args:
            query: The customer's question (used when ``turns`` is not given).
            filters: Tenant and optional language/product/channel/type filters.
            turns: The conversation; its last turns form the query (entity carry-over).
            top_k: Results to return (default ``settings.top_k``).
            mode: ``hybrid`` (default), ``dense`` or ``sparse`` only (for evaluation).
            entity_scope: Search within the most recently mentioned entity first.
        """
        k = top_k or self.settings.top_k
        texts = [t.text for t in turns] if turns else [query]
        qtext = conversation_query(turns, max_turns=self.settings.history_turns) if turns else query
        dense = await self.embedder.embed_query(qtext) if mode != "sparse" else None
        sparse = self.sparse.encode_query(qtext) if mode != "dense" else None
        if mode == "sparse" and sparse is not None and not sparse.indices:
            return RetrievalResult(qtext, [], False, None, None, mode)

        entity = None
        if entity_scope and self.entities is not None and not filters.products:
            resolver = self.entities(filters.tenant)
            if resolver is not None and len(resolver):
                entity = resolver.resolve(texts)

        want = k * (3 if self.max_per_article else 1) + 5
        results: list[RetrievedChunk] = []
        if entity is not None:
            scoped = filters.model_copy(update={"products": [entity]})
            results = await self._search(dense, sparse, scoped, want, mode)
        unscoped: list[RetrievedChunk] = []
        if len(results) < want or dense is not None:
            unscoped = await self._search(dense, sparse, filters, want, mode)
            results = _merge(results, unscoped)
        results = _dedupe(results, self.max_per_article)
        if self.reranker is not None and results:
            results = await self.reranker.rerank(qtext, results)
        results = results[:k]

        top_dense: float | None = None
        if dense is not None:
            # The hybrid query also runs the plain dense query and reports its cosines; the
            # best of them is the coverage signal. Only a sparse-less store result lacks it.
            scores = [r.dense_score for r in unscoped if r.dense_score is not None]
            if scores:
                top_dense = max(scores)
            else:
                best = await self.store.search(dense=dense, sparse=None, filters=filters, top_k=1)
                top_dense = best[0].score if best else None
        top_sparse = max((r.sparse_score for r in unscoped if r.sparse_score is not None), default=None)
        covered = bool(results) and self.is_covered(top_dense, top_sparse)
        if mode == "sparse":
            covered = bool(results)
        return RetrievalResult(qtext, results, covered, top_dense, entity, mode, top_sparse)

    def is_covered(self, top_dense: float | None, top_sparse: float | None) -> bool:
        """The "covered" decision: a close dense match, or a strong lexical one."""
        s = self.settings
        if top_dense is None:
            return True
        if top_dense >= s.min_dense_score:
            return True
        return s.min_sparse_score is not None and top_sparse is not None and top_sparse >= s.min_sparse_score

    async def _search(self, dense, sparse, filters: SearchFilter, top_k: int, mode: Mode) -> list[RetrievedChunk]:
        return await self.store.search(
            dense=dense if mode != "sparse" else None,
            sparse=sparse if mode != "dense" else None,
            filters=filters,
            top_k=top_k,
            candidates=max(self.settings.candidates, top_k),
            fusion=self.settings.fusion,
        )


def _merge(first: list[RetrievedChunk], second: list[RetrievedChunk]) -> list[RetrievedChunk]:
    seen = {r.chunk.id for r in first}
    return first + [r for r in second if r.chunk.id not in seen]


def _dedupe(results: list[RetrievedChunk], per_article: int) -> list[RetrievedChunk]:
    if per_article <= 0:
        return results
    counts: Counter[tuple[str, str]] = Counter()
    out = []
    for r in results:
        key = (r.chunk.tenant, r.chunk.article_id)
        if counts[key] < per_article:
            counts[key] += 1
            out.append(r)
    return out
