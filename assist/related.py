"""Related content: the articles and FAQ entries a customer could be sent, beside a draft.

A draft answers the question; related content points to what else in the tenant's live
knowledge bears on the conversation (the seeds' content recommendation): the FAQ entry on
the next thing customers ask, the manual's section, the policy. It is never one of the
draft's citations, and never padded: when nothing passes the relevance floor the list is
empty.

Candidates:

* the draft's own retrieval results (already computed: free), and
* with ``draft.related_search`` one extra hybrid search by the same :class:`Retriever`
  (tenant filter, effective dates, entity scoping) over the customer's side of the
  conversation (the last ``related_customer_turns`` customer turns, not only the last
  question), in the conversation's language and the sendable article types, keeping every
  FAQ entry of an FAQ article as its own candidate (the draft's search keeps one chunk per
  article).

Kept: one entry per article (per FAQ entry for FAQ articles, whose entries are separate
answers); not an article the draft cites (not the cited entry, for an FAQ article); of a
sendable type (``related_types``) and the conversation's language; relevant (its dense
cosine reaches the tenant's coverage threshold, or its lexical score does, and the cosine is
within ``related_margin`` of the conversation's best match). At most ``related_max``,
best first.

Example:
    >>> finder = RelatedFinder(retriever, settings.draft)                     # doctest: +SKIP
    >>> await finder.find(tenant="nova", language="zh", turns=turns, result=result,
    ...                   citations=draft.citations, sources=draft.sources)   # doctest: +SKIP
    [RelatedArticle(article_id='faq-general-zh', question='订单可以取消吗？', score=0.91, ...)]
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assist.config import DraftSettings
from assist.retrieval import RetrievalResult, Retriever
from assist.types import (
    ArticleType,
    BlockKind,
    Chunk,
    Citation,
    RelatedArticle,
    RetrievedChunk,
    SearchFilter,
    Turn,
)

__all__ = ["RelatedFinder", "customer_side", "matched_terms", "snippet"]

_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")
_HEADING = re.compile(r"^\s*#{1,6}\s+.*$", re.M)
_SENTENCE_END = re.compile(r"[。！？!?]|\.(?=\s|$)")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")  # "hasn't" is one word (and no match)
_EDGE_CHARS = "的了是在我您你们他她它这那和与及或就都也还而并被把给让请吗呢吧啊哦嗯个"


def customer_side(turns: Sequence[Turn], n: int, *, max_chars: int = 1200) -> str:
    """The last ``n`` customer turns, oldest first, joined with `` | `` (the text the
    related search reads: what the customer has raised, not only the last question)."""
    said = [t.text.strip() for t in turns if t.role == "customer" and t.text.strip()][-n:]
    return " | ".join(said)[-max_chars:]


def snippet(text: str, limit: int) -> str:
    """``text`` without headings and runs of white space, cut to about ``limit`` characters
    at a sentence end when one falls in the second half, else with an ellipsis."""
    flat = " ".join(_HEADING.sub(" ", text).split())
    if len(flat) <= limit:
        return flat
    head = flat[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 2:
        return head[: ends[-1]].strip()
    return head[: limit - 1].rstrip() + "…"


def matched_terms(
    tokenize: Callable[[str], list[str]], asked: str, chunk: Chunk, limit: int = 4
) -> list[str]:
    """Why a suggestion is related: the phrases of the customer's text that the chunk (its
    question, phrasings, title, text) holds too, longest first, shown in the customer's order.

    Chinese phrases are the longest common runs of characters (two or more, holding a
    content word); other words count alone (three letters or more, or a number), stop words
    never (``tokenize``: the sparse encoder's).
    """
    said = _PLACEHOLDER.sub(" ", asked).lower()
    held = " ".join([chunk.title, chunk.question or "", *chunk.alt_questions, chunk.text]).lower()
    words = set(tokenize(held))
    found: list[tuple[int, str]] = []
    for run in _CJK_RUN.finditer(said):
        text, i = run.group(), 0
        while i < len(text) - 1:
            j = i + 1
            while j < len(text) and text[i : j + 1] in held:
                j += 1
            phrase = text[i:j].strip(_EDGE_CHARS)  # "的订单" -> "订单", "能取消吗" -> "能取消"
            if len(phrase) >= 2 and tokenize(phrase):
                found.append((run.start() + i, phrase))
                i = j
            else:
                i += 1
    for m in _WORD.finditer(said):
        w = m.group()
        if "'" not in w and (len(w) >= 3 or w.isdigit()) and w in words and tokenize(w):
            found.append((m.start(), w))
    best = sorted(found, key=lambda f: (-len(f[1]), f[0]))
    kept: list[tuple[int, str]] = []
    for pos, phrase in best:
        if not any(phrase in p for _, p in kept):  # not again, nor inside a longer one
            kept.append((pos, phrase))
        if len(kept) == limit:
            break
    return [p for _, p in sorted(kept)]


def _entry(chunk: Chunk) -> tuple[str, str | None]:
    """What one suggestion stands for: the article, or one FAQ entry of it."""
    return chunk.article_id, chunk.question if chunk.kind == BlockKind.FAQ and chunk.question else None


@dataclass
class RelatedFinder:
    """Finds related content for a draft (see the module docs).

    Holds a view of ``retriever`` that keeps several chunks per article (FAQ entries), with
    no reranker or query rewriter (no model call); its entity cache is the retriever's own,
    so the indexer's publish event clears both.
    """

    retriever: Retriever
    settings: DraftSettings
    _search: Retriever = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._search = dataclasses.replace(self.retriever, max_per_article=0, reranker=None, rewriter=None)
        self._search._entity_cache = self.retriever._entity_cache

    @property
    def enabled(self) -> bool:
        return self.settings.related_max > 0

    def _filters(self, tenant: str, language: str) -> SearchFilter:
        return SearchFilter(
            tenant=tenant, languages=[language], types=[ArticleType(t) for t in self.settings.related_types]
        )

    async def candidates(self, tenant: str, language: str, turns: Sequence[Turn]) -> list[RetrievedChunk]:
        """The extra search over the customer's side (empty when ``related_search`` is off)."""
        if not self.settings.related_search:
            return []
        asked = customer_side(turns, self.settings.related_customer_turns)
        if not asked:
            return []
        k = self.settings.related_max * 3 + 5
        found = await self._search.retrieve(asked, self._filters(tenant, language), top_k=k)
        return found.chunks

    async def find(
        self,
        *,
        tenant: str,
        language: str,
        turns: Sequence[Turn],
        result: RetrievalResult,
        citations: Sequence[Citation],
        sources: Sequence[RetrievedChunk] = (),
        link: Callable[[str, str], str | None] | None = None,
    ) -> list[RelatedArticle]:
        """Related articles and FAQ entries for a draft.

        Args:
            tenant: The conversation's tenant (every candidate must be its own).
            language: The conversation's language (suggestions are in it).
            turns: The (masked) conversation.
            result: The draft's retrieval result (its chunks are free candidates).
            citations: The draft's citations (their articles are never suggested).
            sources: Every chunk the draft saw (to know which FAQ entry a citation is).
            link: ``(article_id, language) -> public URL or None`` (the tenant's profile).
        """
        if not self.enabled:
            return []
        extra = await self.candidates(tenant, language, turns)
        return self.select(
            tenant=tenant,
            language=language,
            turns=turns,
            result=result,
            extra=extra,
            citations=citations,
            sources=sources,
            link=link,
        )

    def select(
        self,
        *,
        tenant: str,
        language: str,
        turns: Sequence[Turn],
        result: RetrievalResult,
        extra: Sequence[RetrievedChunk],
        citations: Sequence[Citation],
        sources: Sequence[RetrievedChunk] = (),
        link: Callable[[str, str], str | None] | None = None,
    ) -> list[RelatedArticle]:
        """The filtering and ranking of :meth:`find`, without the search (pure)."""
        s = self.settings
        pool = [*result.chunks, *extra]
        by_id = {r.chunk.id: r.chunk for r in [*pool, *sources]}
        cited_chunks = {c.chunk_id for c in citations}
        cited_articles = {c.article_id for c in citations}
        cited_entries = {_entry(by_id[c]) for c in cited_chunks if c in by_id}
        best = max(
            [r.dense_score for r in pool if r.dense_score is not None]
            + ([result.top_dense] if result.top_dense is not None else []),
            default=None,
        )
        types = set(s.related_types)
        kept: dict[tuple[str, str | None], RetrievedChunk] = {}
        for r in pool:
            c = r.chunk
            key = _entry(c)
            if c.tenant != tenant or c.language != language or c.type.value not in types:
                continue
            if (
                c.id in cited_chunks
                or key in cited_entries
                or (key[1] is None and c.article_id in cited_articles)
            ):
                continue
            if r.dense_score is None or best is None or r.dense_score < best - s.related_margin:
                continue
            if not self.retriever.is_covered(r.dense_score, r.sparse_score, tenant=tenant):
                continue
            if key not in kept or r.dense_score > (kept[key].dense_score or 0.0):
                kept[key] = r
        ranked = sorted(kept.values(), key=lambda r: (-(r.dense_score or 0.0), r.chunk.id))[: s.related_max]
        asked = customer_side(turns, s.related_customer_turns)
        return [self._suggestion(r, asked, language, link) for r in ranked]

    def _suggestion(
        self, r: RetrievedChunk, asked: str, language: str, link: Callable[[str, str], str | None] | None
    ) -> RelatedArticle:
        c = r.chunk
        faq = c.kind == BlockKind.FAQ and bool(c.question)
        body = c.answer if faq and c.answer else c.text
        return RelatedArticle(
            article_id=c.article_id,
            revision=c.revision,
            chunk_id=c.id,
            title=c.title or c.article_id,
            kind="faq" if faq or c.type == ArticleType.FAQ else "article",
            question=c.question if faq else None,
            section=c.section,
            snippet=snippet(body, self.settings.related_snippet_chars),
            reference=c.citation_key,
            url=link(c.article_id, language) if link is not None else None,
            score=round(float(r.dense_score or 0.0), 4),
            matched=matched_terms(self.retriever.sparse.tokenize, asked, c),
        )
