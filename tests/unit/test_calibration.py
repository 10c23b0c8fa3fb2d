"""Per-tenant calibration: the JSON store, the fusion fit, and the retriever using both."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.calibration import FUSION_GRID, CalibrationStore, TenantCalibration, fit_fusion, ndcg_at_10
from assist.config import RetrievalSettings, SparseSettings
from assist.embedders.fake import FakeEmbedder
from assist.errors import ConfigError, InputError
from assist.retrieval import Retriever
from assist.sparse import SparseEncoder
from assist.stores.qdrant_edge import QdrantEdgeVectorStore
from assist.types import Chunk, EncodedChunk, SearchFilter

pytestmark = pytest.mark.unit


@pytest.mark.fast
def test_store_round_trip_update_and_reload(tmp_path: Path) -> None:
    store = CalibrationStore(tmp_path / "calibration")
    assert store.get("nova") is None
    store.save(TenantCalibration(tenant="nova", fusion_weights=(2, 1)))
    assert store("nova").fusion_weights == (2, 1)  # type: ignore[union-attr]
    cal = store.update("nova", min_dense_score=0.85)
    assert (cal.fusion_weights, cal.min_dense_score) == ((2, 1), 0.85)
    # another process writing the file is seen (mtime)
    other = CalibrationStore(tmp_path / "calibration")
    other.update("nova", fusion_weights=(1, 2))
    assert CalibrationStore(tmp_path / "calibration").get("nova").fusion_weights == (1, 2)  # type: ignore[union-attr]
    with pytest.raises(InputError):
        store.get("../etc")
    with pytest.raises(ConfigError):
        store.save(TenantCalibration(tenant="nova", fusion_weights=(0, 0)))


@pytest.mark.fast
def test_fit_fusion_picks_the_best_and_keeps_the_default_on_a_tie() -> None:
    scores = {w: [0.5, 0.5] for w in FUSION_GRID}
    assert fit_fusion(scores, default=(1, 1))[0] == (1, 1)
    scores[(1, 2)] = [0.6, 0.7]
    weights, report = fit_fusion(scores, default=(1, 1))
    assert weights == (1, 2) and report["chosen"] == "1:2" and report["means"]["1:2"] == 0.65
    assert report["questions"] == 2


@pytest.mark.fast
def test_ndcg_at_10() -> None:
    assert ndcg_at_10(["a", "b"], {"a": 1}) == 1.0
    assert round(ndcg_at_10(["x", "a"], {"a": 1}), 4) == 0.6309
    assert ndcg_at_10(["x"], {}) == 0.0


async def test_retriever_uses_the_tenants_weights(tmp_path: Path) -> None:
    """(1, 0) ranks as the dense list alone, (0, 1) as the sparse list alone; the tenant's
    calibration wins over the configured weights, other tenants keep those."""
    emb, enc = FakeEmbedder(dim=16), SparseEncoder(SparseSettings())
    store = QdrantEdgeVectorStore(tmp_path / "q", "kb", dim=16)
    texts = ["refund takes three days", "refund policy for damaged items", "shipping to Hong Kong",
             "warranty claim steps", "reset the router by holding the power button", "power bank charging"]
    items = []
    for tenant in ("a", "b"):
        for i, t in enumerate(texts):
            c = Chunk(id=f"00000000-0000-0000-0000-{tenant == 'a':06d}{i:06d}", tenant=tenant, article_id=f"art{i}",
                      revision=1, chunk_index=0, text=t, language="en")
            items.append(EncodedChunk(chunk=c, dense=(await emb.embed_documents([t]))[0],
                                      sparse=enc.encode_documents([t])[0]))
    await store.upsert(items)
    cals = CalibrationStore(tmp_path / "cal")
    r = Retriever(embedder=emb, sparse=enc, store=store, settings=RetrievalSettings(fusion="dbsf"), calibration=cals)
    q = "power button refund"
    try:
        dense = [c.chunk.article_id for c in (await r.retrieve(q, SearchFilter(tenant="a"), mode="dense")).chunks]
        sparse = [c.chunk.article_id for c in (await r.retrieve(q, SearchFilter(tenant="a"), mode="sparse")).chunks]
        assert dense[:2] != sparse[:2]
        for weights, expected in (((1, 0), dense), ((0, 1), sparse)):
            cals.save(TenantCalibration(tenant="a", fusion_weights=weights))
            assert r.fusion_weights("a") == weights and r.fusion_weights("b") == (1, 1)
            got = [c.chunk.article_id for c in (await r.retrieve(q, SearchFilter(tenant="a"))).chunks]
            # the same order (sparse ties may swap: compare the members after the first)
            assert got[0] == expected[0] and set(got) == set(expected), weights
        # coverage thresholds of the tenant's calibration apply to it only
        cals.update("a", min_dense_score=-1.0)
        assert r.is_covered(0.1, None, tenant="a") and not r.is_covered(0.1, None, tenant="b")
    finally:
        await store.close()


@pytest.mark.fast
def test_a_broken_file_falls_back_to_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "nova.json").write_text("{not json", encoding="utf-8")
    assert CalibrationStore(tmp_path).get("nova") is None
