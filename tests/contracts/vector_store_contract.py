"""The behaviour every ``VectorStore`` must have.

Usage: subclass ``VectorStoreContract`` in a test module and override the ``store``
fixture to yield a fresh, empty store of ``DIM`` dimensions (see
tests/unit/stores/test_edge.py). Vectors are small and deterministic; sparse vectors come
from the real ``SparseEncoder``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from assist.config import SparseSettings
from assist.errors import ConfigError
from assist.sparse import SparseEncoder
from assist.stores.base import VectorStore
from assist.types import ArticleType, Chunk, EncodedChunk, SearchFilter, SparseVector

DIM = 8
ENCODER = SparseEncoder(SparseSettings(tokenizer="jieba"))


def basis(i: int, noise: float = 0.0) -> list[float]:
    """A unit-ish vector along axis ``i`` (mod DIM), with a little weight on the next axis."""
    v = [0.0] * DIM
    v[i % DIM] = 1.0
    v[(i + 1) % DIM] = noise
    return v


def make_chunk(
    article_id: str,
    index: int,
    text: str,
    *,
    tenant: str = "t1",
    **fields: Any,
) -> Chunk:
    cid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{article_id}/{index}/{text}"))
    return Chunk(
        id=cid,
        tenant=tenant,
        article_id=article_id,
        revision=fields.pop("revision", 1),
        chunk_index=index,
        text=text,
        title=fields.pop("title", article_id),
        **fields,
    )


def encode(chunk: Chunk, dense: list[float]) -> EncodedChunk:
    return EncodedChunk(chunk=chunk, dense=dense, sparse=ENCODER.encode_documents([chunk.text])[0])


def flt(tenant: str = "t1", **kw: Any) -> SearchFilter:
    return SearchFilter(tenant=tenant, **kw)


CORPUS = [
    # (article, index, text, axis, extra fields)
    (
        "refund-sop",
        0,
        "如何申请退款：在订单页面点击申请退款，三个工作日内到账。",
        0,
        {"type": ArticleType.SOP},
    ),
    ("refund-sop", 1, "退款失败时请联系客服并提供订单号。", 1, {"type": ArticleType.SOP}),
    (
        "shipping-faq",
        0,
        "Shipping takes five business days for standard delivery.",
        2,
        {"language": "en", "type": ArticleType.FAQ, "product": "store", "channel": "email"},
    ),
    (
        "shipping-faq",
        1,
        "Express shipping with the XJ-9000 courier arrives next day.",
        3,
        {"language": "en", "type": ArticleType.FAQ, "product": "store", "channel": "chat"},
    ),
    (
        "vip-policy",
        0,
        "会员积分可以兑换优惠券，积分有效期一年。",
        4,
        {"type": ArticleType.POLICY, "product": "vip", "tags": ["points", "vip"]},
    ),
    (
        "router-manual",
        0,
        "Reset the router by holding the power button for ten seconds.",
        5,
        {"language": "en", "product": "router"},
    ),
]


async def load_corpus(store: VectorStore, tenant: str = "t1") -> dict[str, Chunk]:
    """Upsert ``CORPUS`` for ``tenant``; returns ``{"article#index": chunk}``."""
    out: dict[str, Chunk] = {}
    items = []
    for article, idx, text, axis, extra in CORPUS:
        c = make_chunk(article, idx, text, tenant=tenant, **dict(extra))
        out[f"{article}#{idx}"] = c
        items.append(encode(c, basis(axis, 0.1)))
    assert await store.upsert(items) == len(items)
    return out


class VectorStoreContract:
    """Mixin of contract tests; subclasses override the ``store`` fixture."""

    @pytest.fixture
    async def store(self) -> AsyncIterator[VectorStore]:  # pragma: no cover - overridden
        raise NotImplementedError("override the `store` fixture")
        yield

    # -- writes ---------------------------------------------------------------------

    async def test_is_a_vector_store(self, store: VectorStore) -> None:
        assert isinstance(store, VectorStore)
        assert store.dim == DIM

    async def test_upsert_is_idempotent(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        await load_corpus(store)
        assert await store.count() == len(chunks)
        assert await store.count(flt()) == len(chunks)

    async def test_upsert_empty_is_noop(self, store: VectorStore) -> None:
        assert await store.upsert([]) == 0
        assert await store.count() == 0

    async def test_upsert_round_trips_chunk_fields(self, store: VectorStore) -> None:
        c = make_chunk(
            "faq-1",
            0,
            "Q: 怎么改密码? A: 在设置里修改。",
            kind="faq",
            type=ArticleType.FAQ,
            heading_path=["账户", "密码"],
            tags=["account"],
            question="怎么改密码?",
            alt_questions=["忘记密码怎么办"],
            answer="在设置里修改。",
            effective_from=date(2020, 1, 1),
            valid_until=date(2099, 12, 31),
            revision=3,
        )
        await store.upsert([encode(c, basis(0))])
        [hit] = await store.search(dense=basis(0), sparse=None, filters=flt(), top_k=1)
        assert hit.chunk == c

    async def test_existing_ids(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        some = [chunks["refund-sop#0"].id, chunks["vip-policy#0"].id]
        missing = str(uuid.uuid4())
        assert await store.existing_ids([*some, missing]) == set(some)
        assert await store.existing_ids([]) == set()

    async def test_staged_invisible_until_activated(self, store: VectorStore) -> None:
        await load_corpus(store)
        new = make_chunk("refund-sop", 0, "新版退款流程：线上自动审核。", revision=2)
        await store.upsert([encode(new, basis(0))], staged=True)
        hits = await store.search(dense=basis(0), sparse=None, filters=flt(), top_k=10)
        assert new.id not in {h.chunk.id for h in hits}
        assert await store.existing_ids([new.id]) == {new.id}  # the indexer can see it
        staged_hits = await store.search(
            dense=basis(0), sparse=None, filters=flt(include_staged=True), top_k=10
        )
        assert new.id in {h.chunk.id for h in staged_hits}
        assert await store.count(flt()) == len(CORPUS)

        await store.activate([new.id], {"title": "Refund SOP v2"})
        hits = await store.search(dense=basis(0), sparse=None, filters=flt(), top_k=10)
        by_id = {h.chunk.id: h.chunk for h in hits}
        assert by_id[new.id].title == "Refund SOP v2"
        assert await store.count(flt()) == len(CORPUS) + 1

    async def test_set_payload_with_dates(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        cid = chunks["vip-policy#0"].id
        await store.set_payload([cid], {"valid_until": date(2000, 1, 1), "revision": 7})
        assert await store.count(flt(on_date=date(2001, 1, 1))) == len(CORPUS) - 1
        [hit] = await store.search(
            dense=basis(4),
            sparse=None,
            filters=flt(on_date=date(1999, 6, 1), article_ids=["vip-policy"]),
            top_k=1,
        )
        assert hit.chunk.revision == 7 and hit.chunk.valid_until == date(2000, 1, 1)

    async def test_delete(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        gone = [chunks["refund-sop#0"].id, chunks["refund-sop#1"].id]
        assert await store.delete([*gone, str(uuid.uuid4())]) == 2
        assert await store.existing_ids(gone) == set()
        assert await store.count() == len(CORPUS) - 2
        assert await store.delete([]) == 0

    async def test_ids_for_article_and_delete_article(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        await load_corpus(store, tenant="t2")
        staged = make_chunk("refund-sop", 5, "staged text", revision=2)
        await store.upsert([encode(staged, basis(6))], staged=True)
        expected = {chunks["refund-sop#0"].id, chunks["refund-sop#1"].id, staged.id}
        assert await store.ids_for_article("t1", "refund-sop") == expected
        assert await store.ids_for_article("t1", "nope") == set()
        assert await store.delete_article("t1", "refund-sop") == 3
        assert await store.ids_for_article("t1", "refund-sop") == set()
        # the other tenant's article with the same id is untouched
        assert len(await store.ids_for_article("t2", "refund-sop")) == 2

    async def test_ids_for_tenant(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        other = await load_corpus(store, tenant="t2")
        staged = make_chunk("refund-sop", 5, "staged text", revision=2)
        await store.upsert([encode(staged, basis(6))], staged=True)
        assert await store.ids_for_tenant("t1") == {c.id for c in chunks.values()} | {staged.id}
        assert await store.ids_for_tenant("t2") == {c.id for c in other.values()}
        assert await store.ids_for_tenant("nobody") == set()

    # -- filters --------------------------------------------------------------------

    async def test_tenant_isolation(self, store: VectorStore) -> None:
        a = await load_corpus(store, tenant="A")
        only_b = make_chunk("b-only", 0, "如何申请退款 B", tenant="B")
        await store.upsert([encode(only_b, basis(0))])
        q = ENCODER.encode_query("如何申请退款")
        for dense, sparse in ((basis(0), None), (None, q), (basis(0), q)):
            hits = await store.search(dense=dense, sparse=sparse, filters=flt("B"), top_k=20)
            assert {h.chunk.id for h in hits} == {only_b.id}
            hits = await store.search(dense=dense, sparse=sparse, filters=flt("A"), top_k=20)
            ids = {h.chunk.id for h in hits}
            assert only_b.id not in ids and ids <= {c.id for c in a.values()}
        assert await store.count(flt("B")) == 1
        assert await store.count(flt("nobody")) == 0

    @pytest.mark.parametrize(
        ("kw", "expected"),
        [
            ({"languages": ["en"]}, {"shipping-faq#0", "shipping-faq#1", "router-manual#0"}),
            # Articles without a product/channel (refund-sop) apply to every product/channel.
            ({"products": ["store", "vip"]},
             {"shipping-faq#0", "shipping-faq#1", "vip-policy#0", "refund-sop#0", "refund-sop#1"}),
            ({"types": [ArticleType.SOP]}, {"refund-sop#0", "refund-sop#1"}),
            ({"channels": ["chat"]},
             {"shipping-faq#1", "refund-sop#0", "refund-sop#1", "vip-policy#0", "router-manual#0"}),
            ({"article_ids": ["vip-policy", "router-manual"]}, {"vip-policy#0", "router-manual#0"}),
            ({"languages": ["en"], "channels": ["email"]}, {"shipping-faq#0", "router-manual#0"}),
            ({"languages": ["en"], "products": ["router"]}, {"router-manual#0"}),
            ({"languages": []}, set()),
        ],
    )
    async def test_filters(self, store: VectorStore, kw: dict[str, Any], expected: set[str]) -> None:
        chunks = await load_corpus(store)
        ids = {k: c.id for k, c in chunks.items()}
        want = {ids[k] for k in expected}
        hits = await store.search(dense=basis(0), sparse=None, filters=flt(**kw), top_k=20)
        assert {h.chunk.id for h in hits} == want
        assert await store.count(flt(**kw)) == len(want)

    async def test_effective_dates(self, store: VectorStore) -> None:
        today = date.today()
        live = make_chunk("a", 0, "live", effective_from=today - timedelta(days=10), valid_until=today)
        future = make_chunk("a", 1, "future", effective_from=today + timedelta(days=1))
        expired = make_chunk("a", 2, "expired", valid_until=today - timedelta(days=1))
        undated = make_chunk("a", 3, "undated")
        await store.upsert([encode(c, basis(i)) for i, c in enumerate((live, future, expired, undated))])

        async def visible(**kw: Any) -> set[str]:
            hits = await store.search(dense=basis(0), sparse=None, filters=flt(**kw), top_k=10)
            return {h.chunk.text for h in hits}

        assert await visible() == {"live", "undated"}
        assert await visible(on_date=today + timedelta(days=1)) == {"future", "undated"}
        assert await visible(on_date=today - timedelta(days=1)) == {"live", "expired", "undated"}
        assert await visible(on_date=today - timedelta(days=11)) == {"expired", "undated"}

    # -- search ---------------------------------------------------------------------

    async def test_dense_only_returns_sorted_cosines(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        hits = await store.search(dense=basis(2, 0.1), sparse=None, filters=flt(), top_k=4)
        assert len(hits) == 4
        assert hits[0].chunk.id == chunks["shipping-faq#0"].id
        assert math.isclose(hits[0].score, 1.0, abs_tol=1e-4)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        for h in hits:
            assert -1.0 - 1e-6 <= h.score <= 1.0 + 1e-6
            assert h.dense_score == h.score and h.sparse_score is None
        opposite = await store.search(dense=[-x for x in basis(2, 0.1)], sparse=None, filters=flt(), top_k=10)
        assert math.isclose(opposite[-1].score, -1.0, abs_tol=1e-4)

    async def test_sparse_only(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        hits = await store.search(
            dense=None, sparse=ENCODER.encode_query("power button router"), filters=flt(), top_k=3
        )
        assert hits and hits[0].chunk.id == chunks["router-manual#0"].id
        assert hits[0].score > 0 and hits[0].sparse_score == hits[0].score and hits[0].dense_score is None
        assert (
            await store.search(dense=None, sparse=ENCODER.encode_query("zebra"), filters=flt(), top_k=3) == []
        )

    async def test_hybrid_ranks_exact_lexical_match_high(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        target = chunks["shipping-faq#1"].id
        # The dense query points elsewhere (refund axis); only the rare token pins the chunk.
        q_sparse = ENCODER.encode_query("XJ-9000 courier")
        for fusion in ("rrf", "dbsf"):
            hits = await store.search(
                dense=basis(0), sparse=q_sparse, filters=flt(), top_k=3, candidates=10, fusion=fusion
            )
            assert target in [h.chunk.id for h in hits[:2]], fusion
            top_dense = max(h.dense_score or -2 for h in hits)
            assert math.isclose(top_dense, 1.0, abs_tol=0.02), "dense_score must be the raw cosine"
            by_id = {h.chunk.id: h for h in hits}
            assert by_id[target].sparse_score is not None and by_id[target].sparse_score > 0
            # Every fused hit carries its exact dense cosine: the score a plain dense search gives it.
            plain = {
                h.chunk.id: h.score
                for h in await store.search(dense=basis(0), sparse=None, filters=flt(), top_k=50)
            }
            for h in hits:
                assert h.dense_score is not None and math.isclose(h.dense_score, plain[h.chunk.id], abs_tol=1e-4)

    async def test_weighted_rrf(self, store: Any) -> None:
        """Fused scores are RRF with the configured k (60) on every store (a server's plain
        RRF uses k = 2), and ``retrieval.sparse_weight`` reaches the engine's weighted RRF,
        where a weight w counts the rank r (from 1) as r / w: 1 / (r / w + k - 1)."""
        await load_corpus(store)
        dense, q_sparse = basis(0, 0.3), ENCODER.encode_query("XJ-9000 courier 退款")
        n = 4
        ranks = [
            [h.chunk.id for h in await store.search(dense=dense, sparse=None, filters=flt(), top_k=n)],
            [h.chunk.id for h in await store.search(dense=None, sparse=q_sparse, filters=flt(), top_k=n)],
        ]
        assert len(ranks[1]) >= 2 and ranks[0][0] != ranks[1][0]
        for weights in (None, (1.0, 0.5)):
            store.rrf_weights = weights
            expected: dict[str, float] = {}
            for ids, w in zip(ranks, weights or (1.0, 1.0), strict=True):
                for r, cid in enumerate(ids, start=1):
                    expected[cid] = expected.get(cid, 0.0) + 1 / (r / w + 60 - 1)
            hits = await store.search(dense=dense, sparse=q_sparse, filters=flt(), top_k=n, candidates=n)
            assert hits and all(math.isclose(h.score, expected[h.chunk.id], rel_tol=1e-4) for h in hits), weights
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    async def test_weighted_dbsf(self, store: VectorStore) -> None:
        """DBSF sums each list's normalised scores; a weight n enters the list n times, so
        every store's fused score is n_dense * dense part + n_sparse * sparse part, and the
        weights (1, 0) / (0, 1) rank as the dense / sparse list alone."""
        await load_corpus(store)
        dense, q_sparse = basis(0, 0.3), ENCODER.encode_query("XJ-9000 courier 退款")
        n = len(CORPUS)

        async def fused(weights: tuple[int, int] | None) -> dict[str, float]:
            hits = await store.search(dense=dense, sparse=q_sparse, filters=flt(), top_k=n, candidates=n,
                                      fusion="dbsf", weights=weights)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            return {h.chunk.id: h.score for h in hits}

        d, sp, plain = await fused((1, 0)), await fused((0, 1)), await fused(None)
        sparse_ids = [h.chunk.id for h in await store.search(dense=None, sparse=q_sparse, filters=flt(), top_k=n)]
        assert 2 <= len(sp) == len(sparse_ids) < len(d) == n
        assert sorted(sp, key=lambda c: -sp[c])[0] == sparse_ids[0]
        for weights, (a, b) in (((1, 1), (1, 1)), ((2, 1), (2, 1)), ((1, 3), (1, 3))):
            got = plain if weights == (1, 1) else await fused(weights)
            for cid, score in got.items():
                assert math.isclose(score, a * d.get(cid, 0.0) + b * sp.get(cid, 0.0), abs_tol=1e-4), weights
        for bad in ((0, 0), (1.5, 1), (5, 1), (-1, 1)):
            with pytest.raises(ConfigError):
                await store.search(dense=dense, sparse=q_sparse, filters=flt(), top_k=2, fusion="dbsf", weights=bad)

    async def test_hybrid_chinese(self, store: VectorStore) -> None:
        chunks = await load_corpus(store)
        q = ENCODER.encode_query("积分怎么兑换优惠券？")
        hits = await store.search(dense=basis(7), sparse=q, filters=flt(), top_k=3)
        assert hits[0].chunk.id == chunks["vip-policy#0"].id
        hits = await store.search(dense=None, sparse=ENCODER.encode_query("退款"), filters=flt(), top_k=5)
        assert {h.chunk.article_id for h in hits} == {"refund-sop"}

    async def test_empty_sparse_vectors(self, store: VectorStore) -> None:
        await load_corpus(store)
        blank = make_chunk("blank", 0, "的 了 the")  # only stop words: empty sparse vector
        item = encode(blank, basis(6))
        assert item.sparse.indices == []
        await store.upsert([item])
        empty = SparseVector(indices=[], values=[])
        # an empty sparse query is no sparse query: dense results with raw cosines
        hits = await store.search(dense=basis(6), sparse=empty, filters=flt(), top_k=2)
        assert hits[0].chunk.id == blank.id and math.isclose(hits[0].score, 1.0, abs_tol=1e-4)
        assert await store.search(dense=None, sparse=empty, filters=flt(), top_k=2) == []
        assert await store.search(dense=None, sparse=None, filters=flt(), top_k=2) == []

    async def test_top_k_limits(self, store: VectorStore) -> None:
        await load_corpus(store)
        q = ENCODER.encode_query("退款 shipping")
        assert len(await store.search(dense=basis(1), sparse=q, filters=flt(), top_k=2)) == 2
        assert len(await store.search(dense=basis(1), sparse=None, filters=flt(), top_k=100)) == len(CORPUS)

    async def test_wrong_dimension_is_an_error(self, store: VectorStore) -> None:
        from assist.errors import VectorStoreError

        c = make_chunk("x", 0, "x")
        with pytest.raises(VectorStoreError):
            await store.upsert(
                [EncodedChunk(chunk=c, dense=[1.0, 0.0], sparse=SparseVector(indices=[], values=[]))]
            )
        with pytest.raises(VectorStoreError):
            await store.search(dense=[1.0], sparse=None, filters=flt(), top_k=1)

    async def test_non_uuid_id_is_refused(self, store: VectorStore) -> None:
        from assist.errors import InputError

        c = make_chunk("x", 0, "x").model_copy(update={"id": "not-a-uuid"})
        with pytest.raises(InputError):
            await store.upsert([encode(c, basis(0))])
