"""make_vector_store: mode selection and collection naming."""

from __future__ import annotations

import pytest

from assist.config import Settings
from assist.errors import ConfigError
from assist.stores import collection_name, make_vector_store
from assist.stores.qdrant_edge import QdrantEdgeVectorStore
from assist.stores.qdrant_remote import QdrantRemoteVectorStore

pytestmark = pytest.mark.unit


def test_collection_name_separates_models_and_dims() -> None:
    assert (
        collection_name("kb", "intfloat/multilingual-e5-small", 384)
        == "kb_intfloat-multilingual-e5-small_384"
    )
    assert collection_name("kb", "e5-small", 384) != collection_name("kb", "e5-small", 768)
    assert collection_name("kb", "E5 Small", 384) == "kb_e5-small_384"


async def test_edge_is_the_default(settings: Settings) -> None:
    store = make_vector_store(settings, dim=8, model_id="e5-small")
    assert isinstance(store, QdrantEdgeVectorStore)
    assert store.shard_path == settings.qdrant_path / "kb_e5-small_8"
    assert store.rrf_k == settings.retrieval.rrf_k
    await store.close()


async def test_local_mode(settings: Settings) -> None:
    s = settings.model_copy(update={"qdrant": settings.qdrant.model_copy(update={"mode": "local"})})
    store = make_vector_store(s, dim=8, model_id="e5-small")
    assert isinstance(store, QdrantRemoteVectorStore) and store.collection == "kb_e5-small_8"
    assert await store.count() == 0
    await store.close()


def test_remote_needs_url(settings: Settings) -> None:
    s = settings.model_copy(update={"qdrant": settings.qdrant.model_copy(update={"mode": "remote"})})
    with pytest.raises(ConfigError, match="ASSIST_QDRANT__URL"):
        make_vector_store(s, dim=8, model_id="e5-small")


def test_bad_dim(settings: Settings) -> None:
    with pytest.raises(ConfigError):
        make_vector_store(settings, dim=0, model_id="e5-small")


async def test_another_sparse_tokenizer_gets_its_own_collection(settings: Settings) -> None:
    # jieba words and character bigrams never match each other: switching the tokenizer
    # over an existing index would silently break lexical search.
    bigram = settings.model_copy(update={"sparse": settings.sparse.model_copy(update={"tokenizer": "char-bigram"})})
    store = make_vector_store(bigram, dim=8, model_id="e5-small")
    assert store.shard_path == settings.qdrant_path / "kb_e5-small_8_char-bigram"
    await store.close()


async def test_other_bm25_parameters_get_their_own_collection(settings: Settings) -> None:
    # Documents carry BM25 term weights computed with k1, b and the average length: after
    # a change, old and new documents would rank on different scales in one index.
    from assist.config import SparseSettings

    assert SparseSettings().index_id() == ""  # the defaults keep the old collection names
    assert SparseSettings(tokenizer="char-bigram").index_id() == "char-bigram"
    shorter = settings.model_copy(update={"sparse": settings.sparse.model_copy(update={"avg_doc_len": 16.0})})
    store = make_vector_store(shorter, dim=8, model_id="e5-small")
    assert store.shard_path == settings.qdrant_path / "kb_e5-small_8_bm25-1.2-0.75-16"
    await store.close()
    both = SparseSettings(tokenizer="char-bigram", k1=1.5)
    assert both.index_id() == "char-bigram_bm25-1.5-0.75-64"
