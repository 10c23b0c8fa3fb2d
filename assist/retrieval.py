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

import itertools
import math
import re
import time
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rapidfuzz import fuzz, process

from assist.calibration import CalibrationSource
from assist.config import RetrievalSettings
from assist.embedders.base import Embedder
from assist.sparse import SparseEncoder
from assist.stores.base import VectorStore
from assist.text.cjk import is_cjk
from assist.text.lang import detect_language
from assist.types import RetrievedChunk, SearchFilter, Turn

Mode = Literal["hybrid", "dense", "sparse"]


class Reranker(Protocol):
    """Reorders candidates for a query (a cross-encoder, or an LLM acting as one)."""

    async def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]: ...


class QueryRewriter(Protocol):
    """Turns a conversation into one standalone search query (None: keep the turns)."""

    async def rewrite(self, turns: Sequence[Turn]) -> str | None: ...


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


def _question_text(turns: Sequence[Turn], n: int) -> str | None:
    """The last ``n`` customer turns (what is being asked), or None when ``n`` is 0."""
    if n <= 0:
        return None
    asked = [t.text.strip() for t in turns if t.role == "customer" and t.text.strip()][-n:]
    return " | ".join(asked) or None


# --------------------------------------------------------------------------- entities
_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff]+")


def _norm(text: str) -> str:
    """Lower case, full-width folded, ``&`` spelled out, apostrophes dropped, other
    punctuation as single spaces: ``"Fisherman's Wharf & Co."`` -> ``"fishermans wharf and co"``."""
    t = unicodedata.normalize("NFKC", text).lower().replace("&", " and ")
    t = re.sub(r"['\u2019`]", "", t)
    return _NON_WORD.sub(" ", t).strip()


_QUALIFIER = re.compile(r"\s+[-\u2013\u2014]\s+|,\s+|\s*[(（]")


def _short_forms(name: str) -> list[str]:
    """What people call an entity whose name carries a qualifier: the branch of a chain
    ("Souvla - NoPa" -> "Souvla"), an appositive ("Laurel Inn, a Joie de Vivre Hotel")
    or a parenthesis ("Nova X1 (2024)")."""
    head = _QUALIFIER.split(name, maxsplit=1)[0].strip()
    return [head] if head and head != name.strip() and len(_norm(head)) >= 4 else []


def _name_tokens(text: str) -> list[str]:
    """Words of a normalised name; CJK runs as character bigrams."""
    out: list[str] = []
    for w in text.split():
        if any(is_cjk(c) for c in w):
            out.extend(w[i:i + 2] for i in range(max(1, len(w) - 1)))
        else:
            out.append(w)
    return out


def _same_word(name_word: str, word: str) -> bool:
    """A word of a name, spelt the same or (longer than 3 letters) nearly so."""
    return word == name_word or (len(name_word) > 3 and fuzz.ratio(name_word, word) >= 80)


@dataclass
class EntityResolver:
    """Finds the most recently mentioned known entity in a conversation.

    A turn mentions an entity when the entity's name (or an alias) occurs in it
    approximately: the normalised name is aligned against the normalised turn character by
    character (rapidfuzz's ``partial_ratio``), so spoken or typed variants still count
    ("ferry building market place", "s. f. citadel", "the smokin warehouse barbeque").
    The aligned span must start and end on word boundaries (CJK text has none) and cover
    most of the name; names of ``exact_below`` characters or fewer must occur exactly.

    The latest mentioning turn wins. Within one turn the mention that ends last wins (the
    option named last is the one the conversation continues with), and at the same end the
    longer name wins ("holiday inn fishermans wharf" over "fishermans wharf"). A name that
    several other names end with is a location ("union square") and yields to any earlier
    specific mention. A shortened name ("souvla" for "Souvla - NoPa") can fit several
    entities: :meth:`candidates` returns all of them unless the conversation names the
    qualifier too, and the retriever searches within all of them.

    Measured on DSTC10 (en_dstc10_kgd, full dialogues): the gold snippet's entity is among
    the candidates for 90 of 104 knowledge-seeking turns (docs/quality.md).

    Example:
        >>> r = EntityResolver.from_names(["GRANT HOTEL", "A AND B GUEST HOUSE"])
        >>> r.resolve(["is the grant hotel close to the museum", "what time is check in"])
        'GRANT HOTEL'
    """

    names: dict[str, list[str]]
    min_score: float = 88.0
    min_share: float = 0.6
    exact_below: int = 4
    max_turns: int = 30
    _forms: list[str] = field(default_factory=list)
    _keys: list[str] = field(default_factory=list)
    _idf: dict[str, float] = field(default_factory=dict)
    _generic: set[str] = field(default_factory=set)
    _generic_keys: set[str] = field(default_factory=set)
    _form_tokens: list[list[str]] = field(default_factory=list)
    _postings: dict[str, set[int]] = field(default_factory=dict)
    _memo: OrderedDict[str, list[tuple[str, float, int, int]]] = field(default_factory=OrderedDict)

    @classmethod
    def from_names(cls, names: Sequence[str], aliases: dict[str, list[str]] | None = None,
                   min_score: float = 88.0) -> EntityResolver:
        table = {n: [n, *_short_forms(n), *(aliases or {}).get(n, [])] for n in names if n}
        r = cls(names=table, min_score=min_score)
        r._build()
        return r

    def _build(self) -> None:
        seen: set[tuple[str, str]] = set()
        for key, forms in self.names.items():
            for form in forms:
                f = _norm(form)
                if f and (key, f) not in seen:
                    seen.add((key, f))
                    self._forms.append(f)
                    self._keys.append(key)
        df: Counter[str] = Counter()
        for f in self._forms:
            df.update(set(_name_tokens(f)))
        n = max(1, len(self._forms))
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._form_tokens = [list(dict.fromkeys(_name_tokens(f))) for f in self._forms]
        for idx, toks in enumerate(self._form_tokens):
            for tok in toks:
                self._postings.setdefault(tok, set()).add(idx)
        # A name that several other names end with ("super duper burgers union square",
        # "rooster and rice union square") is a location: a place the conversation passes
        # through more often than the entity it is about.
        distinct = set(self._forms)
        for f in distinct:
            if sum(g.endswith(" " + f) for g in distinct) >= 2:
                self._generic.add(f)
        self._generic_keys = {k for k, forms in self.names.items() if all(_norm(f) in self._generic for f in forms)}

    def __len__(self) -> int:
        return len(self.names)

    def mentions(self, text: str) -> list[tuple[str, float, int, int]]:
        """Every entity the text mentions: ``(entity, score, start, end)`` in the normalised text.

        Memoised per turn text: a live conversation sends its earlier turns again with every
        new message (p50 8 ms / p95 30 ms per conversation uncached, 720 DSTC10 names)."""
        t = _norm(text)
        if not t or not self._forms:
            return []
        hit = self._memo.get(t)
        if hit is not None:
            self._memo.move_to_end(t)
            return hit
        out = self._mentions(t)
        self._memo[t] = out
        if len(self._memo) > 4096:
            self._memo.popitem(last=False)
        return out

    def _mentions(self, t: str) -> list[tuple[str, float, int, int]]:
        hits = process.extract(t, self._forms, scorer=fuzz.partial_ratio,
                               score_cutoff=self.min_score, limit=None)
        out: list[tuple[str, float, int, int]] = []
        found: set[int] = set()
        for form, _score, idx in hits:
            m = self._align(form, t)
            if m is not None and self._specific_enough(form, t[max(0, m[1] - 2): m[2] + 2]):
                out.append((self._keys[idx], m[0], m[1], m[2]))
                found.add(idx)
        # Second path, for words inserted inside a name ("harbor court har hotel"): the
        # name's words (all of them, spelt approximately), in any order, within a window one
        # word longer than the name.
        for idx, m in self._word_windows(t, exclude=found):
            out.append((self._keys[idx], *m))
        return out

    def _word_windows(self, t: str, exclude: set[int]) -> list[tuple[int, tuple[float, int, int]]]:
        words = [(w.group(), w.start(), w.end()) for w in re.finditer(r"\S+", t)]
        present = {w for w, _, _ in words}
        weight: defaultdict[int, float] = defaultdict(float)
        for w in present:
            for idx in self._postings.get(w, ()):
                weight[idx] += self._idf.get(w, 1.0)
        out = []
        for idx, got in weight.items():
            toks = self._form_tokens[idx]
            total = sum(self._idf.get(x, 1.0) for x in toks)
            if idx in exclude or len(toks) < 2 or any(is_cjk(c) for c in self._forms[idx]) or got < 0.5 * total:
                continue
            size = len(toks) + 1
            for i in range(max(1, len(words) - size + 1)):
                win = words[i:i + size]
                if all(any(_same_word(x, w) for w, _, _ in win) for x in toks):
                    hit = [(a, b) for w, a, b in win if any(_same_word(x, w) for x in toks)]
                    out.append((idx, (100.0, hit[0][0], hit[-1][1])))
                    break
        return out

    def _specific_enough(self, form: str, span: str) -> bool:
        """Most of the name's information (IDF-weighted tokens) must be in the span, so that
        "the restaurant" does not mention "J RESTAURANT"."""
        toks = _name_tokens(form)
        words = _name_tokens(span)
        # "dragon eats" for "dragoneats", "s f" for "sf": adjacent words joined count too.
        have = words + [a + b for a, b in itertools.pairwise(words)]
        total = sum(self._idf.get(x, 1.0) for x in toks)
        hit = sum(self._idf.get(x, 1.0) for x in toks if any(_same_word(x, y) for y in have))
        return total > 0 and hit / total >= self.min_share

    def _align(self, form: str, t: str) -> tuple[float, int, int] | None:
        if len(form) <= self.exact_below:
            for m in re.finditer(re.escape(form), t):
                if self._bounded(t, m.start(), m.end()):
                    return 100.0, m.start(), m.end()
            return None
        if len(t) < len(form):
            a = fuzz.ratio(form, t)
            return (a, 0, len(t)) if a >= self.min_score else None
        al = fuzz.partial_ratio_alignment(form, t, score_cutoff=self.min_score)
        if al is None:
            return None
        start, end = al.dest_start, al.dest_end
        if end - start < 0.8 * len(form):
            return None
        # Let the span of a longer name snap to the word it starts or ends inside (one
        # character of slack); a short name must be a whole word ("phone" is not in "iphone").
        if not self._bounded(t, start, end, slack=1 if len(form) >= 8 else 0):
            return None
        return al.score, start, end

    @staticmethod
    def _bounded(t: str, start: int, end: int, slack: int = 0) -> bool:
        def ok_left(i: int) -> bool:
            return i <= 0 or t[i - 1] == " " or is_cjk(t[i - 1]) or is_cjk(t[i])

        def ok_right(i: int) -> bool:
            return i >= len(t) or t[i] == " " or is_cjk(t[i]) or is_cjk(t[i - 1])

        left = any(ok_left(i) for i in range(max(0, start - slack), min(len(t), start + slack) + 1))
        right = any(ok_right(i) for i in range(max(1, end - slack), min(len(t), end + slack) + 1))
        return left and right

    def match(self, text: str) -> list[str]:
        """The entities this text mentions last (see the class docs): one, or several when
        the words mentioned are shared ("souvla" names every branch of the chain)."""
        found = self.mentions(text)
        if not found:
            return []
        best = max(found, key=lambda m: (not self.is_generic(m[0]), m[3], m[3] - m[2], m[1]))
        return [m[0] for m in found if m[1:] == best[1:] and self.is_generic(m[0]) == self.is_generic(best[0])]

    def is_generic(self, key: str) -> bool:
        """Whether every form of the entity's name is a location other names end with."""
        return key in self._generic_keys

    def candidates(self, texts: Sequence[str]) -> list[str]:
        """The entities the conversation is about: the latest specific mention (a generic
        name only when nothing more specific is mentioned). When that mention fits several
        entities, those whose full qualifier is mentioned anywhere in the conversation win
        ("rooster and rice" + "union square" -> "Rooster & Rice - Union Square")."""
        recent = list(reversed(texts))[: self.max_turns]
        picked: list[str] = []
        for text in recent:
            keys = self.match(text)
            if keys and not all(self.is_generic(k) for k in keys):
                picked = keys
                break
            if keys and not picked:
                picked = keys
        if len(picked) > 1:
            whole = " | ".join(recent)
            named = [k for k in picked if self._qualifier_mentioned(k, whole)]
            picked = named or picked
        return sorted(dict.fromkeys(picked))

    def scope(self, texts: Sequence[str], size: int = 2) -> list[str]:
        """The entities a question is searched within: :meth:`candidates` (the latest
        specific mention) plus the ``size - 1`` other entities named most recently before
        it (generic names too), most recent first.

        Spoken and chat conversations name places in passing ("we walked past the Camera
        Obscura, how late is the restaurant open?"): the last name said is not always the
        one the question is about, and searching the previous one too, ranked together,
        recovers it (DSTC10: 12 of 21 selection misses were the wrong entity; docs/quality.md).
        """
        picked = self.candidates(texts)
        if size <= 1 or not picked:
            return picked
        out = list(picked)
        for text in list(reversed(texts))[: self.max_turns]:
            # Within a turn the mention that ends last first, then the longer one.
            for key, *_ in sorted(self.mentions(text), key=lambda m: (-m[3], -(m[3] - m[2]))):
                if key not in out:
                    out.append(key)
                    if len(out) - len(picked) >= size - 1:
                        return out
        return out

    def _qualifier_mentioned(self, key: str, text: str) -> bool:
        parts = _QUALIFIER.split(key, maxsplit=1)
        q = _norm(parts[1]) if len(parts) > 1 else ""
        if not q:
            return False
        t = _norm(text)
        m = self._align(q, t)
        return m is not None and self._specific_enough(q, t[max(0, m[1] - 2): m[2] + 2])

    def resolve(self, texts: Sequence[str]) -> str | None:
        """The one entity the conversation is about, or None (also when it is ambiguous)."""
        c = self.candidates(texts)
        return c[0] if len(c) == 1 else None


# --------------------------------------------------------------------------- retriever
EntityNames = Callable[[str], Sequence[str]]
"""``tenant -> names``: the known entities of a tenant (the ``product`` of its live articles)."""


@dataclass
class Retriever:
    """Hybrid search of a tenant's live knowledge (see the module docs).

    Entity carry-over needs the tenant's known entities: ``entity_names`` loads them, the
    retriever keeps one :class:`EntityResolver` per tenant and forgets it when told that
    the tenant published (:meth:`invalidate_entities`, registered on the indexer's
    ``on_publish`` event at assembly). ``entity_ttl_s`` bounds how stale the cache can be
    when another process (the CLI) publishes into the same index.
    """

    embedder: Embedder
    sparse: SparseEncoder
    store: VectorStore
    settings: RetrievalSettings
    reranker: Reranker | None = None
    entity_names: EntityNames | None = None
    rewriter: QueryRewriter | None = None
    max_per_article: int = 1
    entity_ttl_s: float = 60.0
    calibration: CalibrationSource | None = None
    """``tenant -> TenantCalibration``: the tenant's own fusion weights and coverage
    thresholds (``assist/calibration.py``); None or no file: the configured ones."""
    _entity_cache: dict[str, tuple[float, EntityResolver]] = field(default_factory=dict, init=False, repr=False)

    def entities(self, tenant: str) -> EntityResolver | None:
        """The tenant's entity resolver (None without ``entity_names``: no carry-over)."""
        if self.entity_names is None:
            return None
        now = time.monotonic()
        hit = self._entity_cache.get(tenant)
        if hit is not None and now - hit[0] < self.entity_ttl_s:
            return hit[1]
        resolver = EntityResolver.from_names(self.entity_names(tenant))
        self._entity_cache[tenant] = (now, resolver)
        return resolver

    def invalidate_entities(self, tenant: str | None = None) -> None:
        """Forget the known entities of ``tenant`` (of every tenant when None): the
        indexer's publish event calls this."""
        if tenant is None:
            self._entity_cache.clear()
        else:
            self._entity_cache.pop(tenant, None)

    async def lexical(self, text: str, filters: SearchFilter, *, top_k: int) -> list[RetrievedChunk]:
        """Sparse-only search, no entity scope, no rerank: for fixed cue words (the house
        style phrases of a tenant's phrasebook), not for a customer's question."""
        sparse = self.sparse.encode_query(text)
        if not sparse.indices:
            return []
        return await self._search(None, sparse, filters, top_k, "sparse")

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
        if turns and self.rewriter is not None:
            qtext = await self.rewriter.rewrite(turns) or qtext
        dense = await self.embedder.embed_query(qtext) if mode != "sparse" else None
        sparse = self.sparse.encode_query(qtext) if mode != "dense" else None
        if mode == "sparse" and sparse is not None and not sparse.indices:
            return RetrievalResult(qtext, [], False, None, None, mode)

        entities: list[str] = []
        if entity_scope and self.entity_names is not None and not filters.products:
            resolver = self.entities(filters.tenant)
            if resolver is not None and len(resolver):
                entities = resolver.scope(texts, self.settings.entity_scope_size)
        entity = " | ".join(entities) or None

        want = self.fetch_size(k)
        asked = _question_text(turns, self.settings.scoped_query_turns) if turns else None
        results: list[RetrievedChunk] = []
        if entities:
            scoped = filters.model_copy(update={"products": entities})
            sdense, ssparse = dense, sparse
            if asked and asked != qtext:
                sdense = await self.embedder.embed_query(asked) if mode != "sparse" else None
                ssparse = self.sparse.encode_query(asked) if mode != "dense" else None
            results = await self._search(sdense, ssparse, scoped, want, mode)
        scoped_results = list(results)
        unscoped: list[RetrievedChunk] = []
        if len(results) < want or dense is not None:
            unscoped = await self._search(dense, sparse, filters, want, mode)
            results = _merge(results, unscoped)
        results = _dedupe(results, self.max_per_article)
        if self.reranker is not None and results:
            results = await self.reranker.rerank(qtext, results)
        results = results[:k]

        # The coverage signal: how well the knowledge that applies answers the question.
        # With an entity that is the scoped search (the question against the entity's and
        # the general articles) plus, when the query is the question itself, the unscoped
        # search (a wrongly resolved entity must not hide the answer); without an entity,
        # the unscoped search.
        single = asked in (None, qtext)
        signal = scoped_results + unscoped if (single or not scoped_results) else scoped_results
        top_dense: float | None = None
        if dense is not None:
            # Every hit carries its dense cosine (the store computes it from the hit's stored
            # vector); the best of them is the coverage signal. With no hits, ask for one.
            scores = [r.dense_score for r in signal if r.dense_score is not None]
            if scores:
                top_dense = max(scores)
            else:
                best = await self.store.search(dense=dense, sparse=None, filters=filters, top_k=1)
                top_dense = best[0].score if best else None
        top_sparse = max((r.sparse_score for r in signal if r.sparse_score is not None), default=None)
        covered = bool(results) and self.is_covered(top_dense, top_sparse, tenant=filters.tenant,
                                                    language=detect_language(qtext))
        if mode == "sparse":
            covered = bool(results)
        return RetrievalResult(qtext, results, covered, top_dense, entity, mode, top_sparse)

    def fetch_size(self, k: int) -> int:
        """Hits asked of the store for ``k`` results: room for per-article de-duplication."""
        return k * (3 if self.max_per_article else 1) + 5

    def is_covered(self, top_dense: float | None, top_sparse: float | None, *, tenant: str | None = None,
                   language: str | None = None) -> bool:
        """The "covered" decision: a close dense match, or a strong lexical one (the
        tenant's calibrated thresholds where it has them, those of the question's
        ``language`` where the fit made some; ``assist/coverage.py``)."""
        s = self.settings
        cal = self.calibration(tenant) if self.calibration is not None and tenant else None
        min_dense, min_sparse = s.min_dense_score, s.min_sparse_score
        if cal is not None:
            min_dense, min_sparse = cal.coverage_thresholds(min_dense, min_sparse, language=language,
                                                            embedder=getattr(self.embedder, "model_id", None))
        if top_dense is None:
            return True
        if top_dense >= min_dense:
            return True
        return min_sparse is not None and top_sparse is not None and top_sparse >= min_sparse

    def fusion_weights(self, tenant: str) -> tuple[int, int] | None:
        """The DBSF weights (dense, sparse) of the tenant's searches: its calibration's,
        else ``retrieval.fusion_weights``; None for RRF (the store's configured weights)."""
        if self.settings.fusion != "dbsf":
            return None
        cal = self.calibration(tenant) if self.calibration is not None else None
        if cal is not None and cal.fusion_weights is not None:
            return cal.fusion_weights
        return self.settings.fusion_weights

    async def _search(self, dense, sparse, filters: SearchFilter, top_k: int, mode: Mode) -> list[RetrievedChunk]:
        found = await self.store.search(
            dense=dense if mode != "sparse" else None,
            sparse=sparse if mode != "dense" else None,
            filters=filters,
            top_k=top_k,
            candidates=max(self.settings.candidates, top_k),
            fusion=self.settings.fusion,
            weights=self.fusion_weights(filters.tenant) if mode == "hybrid" else None,
        )
        return sorted(found, key=_rank_key)


def _rank_key(r: RetrievedChunk) -> tuple[float, float, str]:
    """Deterministic order: score, then dense cosine, then chunk id.

    Rank fusion ties often (dense rank 1 + sparse rank 3 scores the same as 3 + 1), and the
    engine breaks ties arbitrarily, so without this a tiny change in a query embedding
    could swap the top answer between two runs.
    """
    return (-round(r.score, 9), -(r.dense_score if r.dense_score is not None else -math.inf), r.chunk.id)


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
