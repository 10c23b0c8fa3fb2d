"""The embedded Qdrant engine (qdrant-edge-py) against the VectorStore contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assist.errors import ConfigError, VectorStoreError
from assist.stores.qdrant_edge import QdrantEdgeVectorStore
from tests.contracts.vector_store_contract import (
    CORPUS,
    DIM,
    ENCODER,
    VectorStoreContract,
    basis,
    encode,
    flt,
    load_corpus,
    make_chunk,
)

pytestmark = pytest.mark.unit


class TestEdgeContract(VectorStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[QdrantEdgeVectorStore]:
        s = QdrantEdgeVectorStore(tmp_path / "qdrant", "kb_test_8", dim=DIM)
        await s.ensure_collection()
        yield s
        await s.close()


async def test_reopen_from_disk_keeps_data_and_indexes(tmp_path: Path) -> None:
    s = QdrantEdgeVectorStore(tmp_path, "kb", dim=DIM)
    chunks = await load_corpus(s)
    staged = make_chunk("new", 0, "staged 退款")
    await s.upsert([encode(staged, basis(0))], staged=True)
    await s.close()

    s2 = QdrantEdgeVectorStore(tmp_path, "kb", dim=DIM)
    assert await s2.count() == len(CORPUS) + 1
    assert await s2.count(flt()) == len(CORPUS)  # staged flag survived
    hits = await s2.search(dense=basis(0), sparse=ENCODER.encode_query("退款"), filters=flt(), top_k=2)
    assert hits[0].chunk == chunks["refund-sop#0"]
    assert set(s2._s.info().payload_schema) >= {"tenant", "article_id", "staged", "effective_from", "tags"}
    await s2.close()


async def test_optimize_keeps_results(tmp_path: Path) -> None:
    s = QdrantEdgeVectorStore(tmp_path, "kb", dim=DIM)
    chunks = await load_corpus(s)
    await s.optimize()
    [top] = await s.search(dense=basis(3, 0.1), sparse=None, filters=flt(), top_k=1)
    assert top.chunk.id == chunks["shipping-faq#1"].id and top.score == pytest.approx(1.0, abs=1e-4)
    hits = await s.search(dense=None, sparse=ENCODER.encode_query("shipping"), filters=flt(), top_k=5)
    assert {h.chunk.id for h in hits} == {chunks["shipping-faq#0"].id, chunks["shipping-faq#1"].id}
    assert await s.count(flt()) == len(CORPUS)
    await s.close()


async def test_opening_with_another_dimension_is_a_config_error(tmp_path: Path) -> None:
    s = QdrantEdgeVectorStore(tmp_path, "kb", dim=DIM)
    await load_corpus(s)
    await s.close()
    with pytest.raises(ConfigError, match="one embedding model"):
        await QdrantEdgeVectorStore(tmp_path, "kb", dim=DIM * 2).ensure_collection()


async def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    s = QdrantEdgeVectorStore(tmp_path, "kb", dim=DIM)
    await s.ensure_collection()
    await s.close()
    await s.close()  # idempotent
    with pytest.raises(VectorStoreError, match="closed"):
        await s.count()
