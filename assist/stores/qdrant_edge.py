"""The embedded default vector store: the real Qdrant engine in process (qdrant-edge-py).

One ``EdgeShard`` per collection, stored under ``path/collection``. Edge is synchronous:
every call runs in a worker thread (``anyio.to_thread``), and a lock makes this object the
shard's single writer. Reads do not take the lock; the engine's segments are internally
synchronised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import numpy as np
import qdrant_edge as qe

from assist.errors import AssistError, ConfigError, VectorStoreError
from assist.stores import _payload as pl
from assist.stores.base import Fusion, dbsf_prefetches
from assist.types import EncodedChunk, RetrievedChunk, SearchFilter, SparseVector

T = TypeVar("T")

_SCROLL_PAGE = 1000


def _condition(c: pl.Condition) -> Any:
    if c.kind == "any_or_empty":
        return qe.Filter(should=[qe.FieldCondition(c.key, match=qe.MatchAny(list(c.value))),
                                 qe.IsEmptyCondition(c.key)])
    if c.kind == "value":
        value = c.value
        if isinstance(value, bool):
            # qdrant-edge-py 0.9.0 converts a Python bool to the integer 0/1 (bool is an int
            # subclass), which never matches a stored bool; numpy's bool_ is not an int and
            # reaches the engine as a real bool.
            value = np.bool_(value)
        return qe.FieldCondition(c.key, match=qe.MatchValue(value))
    if c.kind == "any":
        return qe.FieldCondition(c.key, match=qe.MatchAny(list(c.value)))
    return qe.FieldCondition(
        c.key,
        range=qe.RangeFloat(
            gte=None if c.gte is None else float(c.gte), lte=None if c.lte is None else float(c.lte)
        ),
    )


def _filter(conds: Sequence[pl.Condition]) -> qe.Filter:
    return qe.Filter(must=[_condition(c) for c in conds])


def _sparse(v: SparseVector) -> qe.SparseVector:
    return qe.SparseVector(list(v.indices), [float(x) for x in v.values])


class QdrantEdgeVectorStore:
    """A collection of chunks in an embedded Qdrant shard (dense ``dense`` + sparse ``sparse``).

    Args:
        path: Storage root; the shard lives in ``path / collection``.
        collection: Collection name (one per embedding model and dimension).
        dim: Dense vector size.
        rrf_k: The RRF constant for fused search.
        rrf_weights: ``(dense, sparse)`` weights of weighted RRF; None: plain RRF.
        hnsw_m, hnsw_ef_construct: HNSW build parameters.
        search_ef: HNSW ``ef`` at query time.
        batch_size: Points per update operation.
        optimize_after: Points upserted since the last optimisation that trigger one
            automatically (builds HNSW and merges segments); ``0`` disables it.

    Example:
        >>> store = QdrantEdgeVectorStore(Path(".assist/qdrant"), "kb_e5-small_384", dim=384)
        >>> await store.upsert(encoded_chunks)
        >>> hits = await store.search(dense=qv, sparse=qs, filters=SearchFilter(tenant="t"), top_k=5)
        >>> await store.close()
    """

    def __init__(
        self,
        path: Path,
        collection: str,
        dim: int,
        *,
        rrf_k: int = 60,
        rrf_weights: tuple[float, float] | None = None,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        search_ef: int = 128,
        batch_size: int = 256,
        optimize_after: int = 20_000,
    ) -> None:
        self.path = Path(path)
        self.collection = collection
        self.dim = dim
        self.rrf_k = rrf_k
        self.rrf_weights = rrf_weights
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construct = hnsw_ef_construct
        self.search_ef = search_ef
        self.batch_size = batch_size
        self.optimize_after = optimize_after
        self._shard: qe.EdgeShard | None = None
        self._lock = threading.RLock()
        self._open_lock = anyio.Lock()
        self._pending = 0
        self._closed = False

    @property
    def shard_path(self) -> Path:
        return self.path / self.collection

    # -- plumbing -------------------------------------------------------------------

    def _config(self) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={pl.DENSE: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={pl.SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            hnsw_config=qe.HnswIndexConfig(
                m=self.hnsw_m, ef_construct=self.hnsw_ef_construct, full_scan_threshold=10_000
            ),
        )

    def _open_sync(self) -> qe.EdgeShard:
        sp = self.shard_path
        exists = sp.is_dir() and any(sp.iterdir())
        try:
            shard = qe.EdgeShard.load(str(sp), self._config()) if exists else None
        except Exception as e:
            if "WouldBlock" in str(e) or "lock" in str(e).lower():
                raise VectorStoreError(
                    f"the embedded Qdrant index at {sp} is in use by another process (is `assist serve` "
                    "running?). The embedded engine serves one process: publish through the running "
                    "service (POST /v1/articles/upload or the /km pages), stop it first, or run Qdrant "
                    "as a server (ASSIST_QDRANT__MODE=remote) to share the index.",
                    retryable=False,
                ) from e
            raise ConfigError(
                f"cannot open the Qdrant shard at {sp} as {self.dim}-d dense + sparse: {e}. "
                "A collection holds vectors of one embedding model only; use the collection "
                "for this model (make_vector_store names it) or delete the directory to rebuild."
            ) from e
        if shard is None:
            sp.mkdir(parents=True, exist_ok=True)
            shard = qe.EdgeShard.create(str(sp), self._config())
        schema = shard.info().payload_schema
        # Indexes are part of the shard; create only the missing ones (also on old shards).
        wanted: list[tuple[str, Any]] = [(pl.TENANT_FIELD, qe.KeywordIndexParams(is_tenant=True))]
        wanted += [(k, qe.PayloadSchemaType.Keyword) for k in pl.KEYWORD_INDEXES]
        wanted += [(k, qe.PayloadSchemaType.Bool) for k in pl.BOOL_INDEXES]
        wanted += [(k, qe.IntegerIndexParams(lookup=False, range=True)) for k in pl.INTEGER_INDEXES]
        for name, schema_type in wanted:
            if name not in schema:
                shard.update(qe.UpdateOperation.create_field_index(name, schema_type))
        return shard

    async def ensure_collection(self) -> None:
        """Create the shard (with its payload indexes) or load it from disk."""
        if self._shard is not None:
            return
        if self._closed:
            raise VectorStoreError(f"the vector store {self.collection!r} is closed: make a new one")
        async with self._open_lock:
            if self._shard is None:
                self._shard = await self._run(self._open_sync, opening=True)

    async def _run(self, fn: Callable[[], T], *, opening: bool = False) -> T:
        if not opening:
            await self.ensure_collection()
        try:
            return await anyio.to_thread.run_sync(fn)
        except AssistError:
            raise
        except Exception as e:  # the binding raises plain Exception for engine errors
            raise VectorStoreError(
                f"Qdrant edge shard {self.shard_path}: {e}. Check the disk (space, permissions) "
                "and that no other process has this shard open."
            ) from e

    @property
    def _s(self) -> qe.EdgeShard:
        if self._shard is None:
            raise VectorStoreError(f"the vector store {self.collection!r} is closed")
        return self._shard

    # -- writes ---------------------------------------------------------------------

    async def upsert(self, items: Sequence[EncodedChunk], *, staged: bool = False) -> int:
        """Insert or replace points (same id = same chunk, so re-ingest is idempotent)."""
        points = []
        for it in items:
            if len(it.dense) != self.dim:
                raise VectorStoreError(
                    f"chunk {it.chunk.id} has a {len(it.dense)}-d vector, collection "
                    f"{self.collection!r} holds {self.dim}-d: embed with the collection's model"
                )
            vec: dict[str, Any] = {pl.DENSE: [float(x) for x in it.dense]}
            # Points without a sparse vector are legal; an empty one carries no signal.
            if it.sparse.indices:
                vec[pl.SPARSE] = _sparse(it.sparse)
            points.append(
                qe.Point(pl.point_id(it.chunk.id), vec, pl.chunk_to_payload(it.chunk, staged=staged))
            )
        if not points:
            return 0

        def work() -> None:
            with self._lock:
                for i in range(0, len(points), self.batch_size):
                    self._s.update(qe.UpdateOperation.upsert_points(points[i : i + self.batch_size]))

        await self._run(work)
        self._pending += len(points)
        if self.optimize_after and self._pending >= self.optimize_after:
            await self.optimize()
        return len(points)

    async def optimize(self) -> bool:
        """Build HNSW indexes and merge segments (blocking, in a worker thread).

        Until then new points are searched by brute force, which stays fast for a few
        thousand points; ``upsert`` calls this itself after ``optimize_after`` points.
        Returns True if anything was optimised.
        """

        def work() -> bool:
            with self._lock:
                return bool(self._s.optimize())

        done = await self._run(work)
        self._pending = 0
        return done

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        canon = {pl.point_id(i): i for i in ids}
        records = await self._run(
            lambda: self._s.retrieve(list(canon), with_payload=False, with_vector=False)
        )
        return {canon[str(r.id)] for r in records if str(r.id) in canon}

    async def set_payload(self, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if not ids or not payload:
            return
        op = qe.UpdateOperation.set_payload([pl.point_id(i) for i in ids], pl.normalise_payload(payload))
        await self._run(lambda: self._locked_update(op))

    async def activate(self, ids: Sequence[str], payload: dict[str, Any] | None = None) -> None:
        await self.set_payload(ids, {**(payload or {}), pl.STAGED_FIELD: False})

    def _locked_update(self, op: qe.UpdateOperation) -> None:
        with self._lock:
            self._s.update(op)

    async def delete(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        pids: list[qe.PointId] = list({pl.point_id(i) for i in ids})

        def work() -> int:
            with self._lock:
                n = len(self._s.retrieve(pids, with_payload=False, with_vector=False))
                self._s.update(qe.UpdateOperation.delete_points(pids))
                return n

        return await self._run(work)

    def _scroll_ids(self, flt: qe.Filter) -> set[str]:
        out: set[str] = set()
        offset = None
        while True:
            records, offset = self._s.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=_SCROLL_PAGE, filter=flt, with_payload=False, with_vector=False
                )
            )
            out.update(str(r.id) for r in records)
            if offset is None:
                return out

    async def ids_for_article(self, tenant: str, article_id: str) -> set[str]:
        flt = _filter(pl.article_conditions(tenant, article_id))
        return await self._run(lambda: self._scroll_ids(flt))

    async def ids_for_tenant(self, tenant: str) -> set[str]:
        flt = _filter(pl.tenant_conditions(tenant))
        return await self._run(lambda: self._scroll_ids(flt))

    async def delete_article(self, tenant: str, article_id: str) -> int:
        flt = _filter(pl.article_conditions(tenant, article_id))

        def work() -> int:
            with self._lock:
                n = self._s.count(qe.CountRequest(exact=True, filter=flt))
                if n:
                    self._s.update(qe.UpdateOperation.delete_points_by_filter(flt))
                return n

        return await self._run(work)

    # -- reads ----------------------------------------------------------------------

    async def search(
        self,
        *,
        dense: list[float] | None,
        sparse: SparseVector | None,
        filters: SearchFilter,
        top_k: int,
        candidates: int = 50,
        fusion: Fusion = "rrf",
        weights: tuple[float, float] | None = None,
    ) -> list[RetrievedChunk]:
        """Hybrid or single-vector search; see ``VectorStore.search``.

        Single vector: ``score`` is the raw score (cosine in [-1, 1] for dense, BM25 for
        sparse), also reported as ``dense_score`` / ``sparse_score``. Fused: ``score`` is
        the RRF/DBSF score, ``dense_score`` each hit's exact cosine (from its stored
        vector) and ``sparse_score`` its BM25 score from the sparse list run in the same
        batch (None where the chunk was not among its ``candidates``), so callers can apply
        thresholds to fused results.
        An empty sparse vector counts as no sparse vector.
        """
        if sparse is not None and not sparse.indices:
            sparse = None
        if top_k <= 0 or (dense is None and sparse is None):
            return []
        if dense is not None and len(dense) != self.dim:
            raise VectorStoreError(
                f"query vector has {len(dense)} dimensions, collection {self.collection!r} holds "
                f"{self.dim}: embed the query with the collection's model"
            )
        flt = _filter(pl.filter_conditions(filters))
        params = qe.SearchParams(hnsw_ef=self.search_ef)
        limit = max(candidates, top_k)
        dq = qe.Query.Nearest([float(x) for x in dense], using=pl.DENSE) if dense is not None else None
        sq = qe.Query.Nearest(_sparse(sparse), using=pl.SPARSE) if sparse is not None else None

        if dq is None or sq is None:
            q = dq if dq is not None else sq
            req = qe.QueryRequest(
                limit=top_k, query=q, filter=flt, params=params, with_payload=True, with_vector=False
            )
            points = await self._run(lambda: self._s.query(req))
            key = "dense_score" if dq is not None else "sparse_score"
            return [
                RetrievedChunk(chunk=pl.payload_to_chunk(p.id, p.payload), score=p.score, **{key: p.score})
                for p in points
            ]

        batch = self._hybrid_batch(dq, sq, flt, top_k=top_k, limit=limit, fusion=fusion, weights=weights)
        fused_pts, sparse_pts = await self._run(lambda: self._s.query_batch(batch))
        # Keyed by the engine's id objects: str() of a UUID per point cost more than the lookups.
        sscore = {p.id: p.score for p in sparse_pts}
        dense_scores = pl.cosines(dense, [p.vector for p in fused_pts])
        return [
            RetrievedChunk(
                chunk=pl.payload_to_chunk(p.id, p.payload),
                score=p.score,
                dense_score=dscore,
                sparse_score=sscore.get(p.id),
            )
            for p, dscore in zip(fused_pts, dense_scores, strict=True)
        ]

    def hybrid_request(
        self, dense: list[float], sparse: SparseVector, filters: SearchFilter, *, top_k: int,
        candidates: int = 50, fusion: Fusion = "rrf", weights: tuple[float, float] | None = None,
    ) -> qe.QueryBatchRequest:
        """The engine request ``search`` sends for a fused search, for timing it on the raw
        shard (``bench/retrieval.py``'s ``floor_hybrid``)."""
        return self._hybrid_batch(
            qe.Query.Nearest([float(x) for x in dense], using=pl.DENSE),
            qe.Query.Nearest(_sparse(sparse), using=pl.SPARSE),
            _filter(pl.filter_conditions(filters)),
            top_k=top_k,
            limit=max(candidates, top_k),
            fusion=fusion,
            weights=weights,
        )

    def _hybrid_batch(
        self, dq: Any, sq: Any, flt: qe.Filter, *, top_k: int, limit: int, fusion: Fusion,
        weights: tuple[float, float] | None = None,
    ) -> qe.QueryBatchRequest:
        """The RRF/DBSF query over a dense and a sparse prefetch of ``limit`` each (payloads
        and dense vectors of ``top_k`` points), plus the sparse list alone for BM25 scores.
        Weighted DBSF repeats a list's prefetch (``dbsf_prefetches``)."""
        params = qe.SearchParams(hnsw_ef=self.search_ef)
        dense_pf = qe.Prefetch(limit=limit, query=dq, params=params)
        sparse_pf = qe.Prefetch(limit=limit, query=sq)
        # The stub types Fusion.Rrf/Dbsf as nested classes, not as members of ScoringQueryType.
        fusion_q: Any
        if fusion == "rrf":
            rrf_w = weights if weights is not None else self.rrf_weights
            fusion_q = qe.Fusion.Rrf(k=self.rrf_k, weights=list(rrf_w) if rrf_w else None)
            prefetches = [dense_pf, sparse_pf]
        else:
            n_dense, n_sparse = dbsf_prefetches(weights)
            fusion_q = qe.Fusion.Dbsf()
            prefetches = [dense_pf] * n_dense + [sparse_pf] * n_sparse
        fused = qe.QueryRequest(
            limit=top_k,
            prefetches=prefetches,
            query=fusion_q,
            filter=flt,  # propagated to the prefetches by the engine
            with_payload=True,
            # Each fused point's dense cosine is computed from its stored vector: exact, and
            # one HNSW search per query instead of a second one only for the scores.
            with_vector=[pl.DENSE],
        )
        # BM25 scores need the engine's IDF: the sparse list runs in the same batch.
        side = qe.QueryRequest(limit=limit, query=sq, filter=flt, with_payload=False, with_vector=False)
        return qe.QueryBatchRequest([fused, side])

    async def count(self, filters: SearchFilter | None = None) -> int:
        """Points visible to ``filters`` (all points, staged included, when None)."""
        flt = _filter(pl.filter_conditions(filters)) if filters is not None else None
        return await self._run(lambda: self._s.count(qe.CountRequest(exact=True, filter=flt)))

    async def close(self) -> None:
        """Flush to disk and release the shard. Idempotent."""
        self._closed = True
        shard = self._shard
        if shard is None:
            return

        def work() -> None:
            with self._lock:
                shard.flush()
                shard.close()

        self._shard = None
        try:
            await anyio.to_thread.run_sync(work)
        except Exception as e:
            raise VectorStoreError(f"closing the Qdrant edge shard {self.shard_path} failed: {e}") from e
