"""Vector stores: the embedded Qdrant engine (default) or a Qdrant server/cluster.

Example:
    >>> store = make_vector_store(settings, dim=embedder.dim, model_id=embedder.model_id)
    >>> await store.ensure_collection()
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assist.errors import ConfigError
from assist.stores.base import Fusion, VectorStore

if TYPE_CHECKING:
    from assist.config import Settings

__all__ = ["Fusion", "VectorStore", "collection_name", "make_vector_store"]


def slug(text: str) -> str:
    """A collection-name-safe slug: ``intfloat/multilingual-e5-small`` -> ``intfloat-multilingual-e5-small``."""
    s = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")
    return s or "model"


def collection_name(prefix: str, model_id: str, dim: int, sparse_id: str = "") -> str:
    """``{prefix}_{slug(model_id)}_{dim}``: vectors of different embedding models never mix.

    Sparse vectors encoded with other settings than the defaults (another Chinese
    tokenizer, other BM25 parameters: ``SparseSettings.index_id``) get their own collection
    too (``…_{dim}_char-bigram``): query tokens of one tokenizer do not match document
    tokens of the other, and document weights of one parameter set do not rank with
    another's. Collections of the defaults keep their names. ``assist kb reindex`` fills
    a new collection from the database.

    Example:
        >>> collection_name("kb", "e5-small", 384), collection_name("kb", "e5-small", 384, "char-bigram")
        ('kb_e5-small_384', 'kb_e5-small_384_char-bigram')
    """
    name = f"{prefix}_{slug(model_id)}_{dim}"
    return f"{name}_{slug(sparse_id)}" if sparse_id else name


def make_vector_store(settings: Settings, *, dim: int, model_id: str) -> VectorStore:
    """The vector store that ``settings.qdrant.mode`` selects, for one embedding model.

    ``edge``: the embedded Qdrant engine under ``settings.qdrant_path``; ``remote``: the
    server at ``settings.qdrant.url``; ``local``: qdrant-client's local mode under
    ``settings.qdrant_path`` (tests of the remote code path).

    Raises:
        ConfigError: ``remote`` without a URL, or a non-positive ``dim``.
    """
    if dim <= 0:
        raise ConfigError(f"embedding dimension must be positive, got {dim}: check the embedder")
    q = settings.qdrant
    name = collection_name(q.collection_prefix, model_id, dim, settings.sparse.index_id())
    rrf_k = settings.retrieval.rrf_k
    w = settings.retrieval.sparse_weight
    rrf_weights = None if w == 1.0 else (1.0, w)
    if q.mode == "edge":
        from assist.stores.qdrant_edge import QdrantEdgeVectorStore

        return QdrantEdgeVectorStore(
            settings.qdrant_path,
            name,
            dim,
            rrf_k=rrf_k,
            rrf_weights=rrf_weights,
            hnsw_m=q.hnsw_m,
            hnsw_ef_construct=q.hnsw_ef_construct,
            search_ef=q.search_ef,
        )
    if q.mode in ("remote", "local"):
        from assist.stores.qdrant_remote import QdrantRemoteVectorStore

        return QdrantRemoteVectorStore.from_settings(
            q, collection=name, dim=dim, rrf_k=rrf_k, rrf_weights=rrf_weights, local_path=settings.qdrant_path
        )
    raise ConfigError(f"unknown qdrant.mode {q.mode!r}: use edge, remote or local")
