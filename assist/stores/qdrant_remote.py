"""Vector store on a Qdrant server or cluster, through qdrant-client's async Query API.

Also runs on qdrant-client's local mode (``AsyncQdrantClient(path=...)`` / ``":memory:"``),
which executes the same client code against a pure-Python engine: that is how the tests
exercise this adapter without a server.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from assist.errors import AssistError, ConfigError, VectorStoreError
from assist.stores import _payload as pl
from assist.stores.base import Fusion, dbsf_prefetches
from assist.types import EncodedChunk, RetrievedChunk, SearchFilter, SparseVector

if TYPE_CHECKING:
    from assist.config import QdrantSettings

T = TypeVar("T")

_SCROLL_PAGE = 1000
MIN_SERVER_VERSION = (1, 17)
"""RRF with ``k`` (1.16) and per-prefetch weights (1.17) in the Query API."""
_RETRYABLE_GRPC = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "INTERNAL"}


def _condition(c: pl.Condition) -> models.Condition:
    if c.kind == "any_or_empty":
        return models.Filter(should=[models.FieldCondition(key=c.key, match=models.MatchAny(any=list(c.value))),
                                     models.IsEmptyCondition(is_empty=models.PayloadField(key=c.key))])
    if c.kind == "value":
        return models.FieldCondition(key=c.key, match=models.MatchValue(value=c.value))
    if c.kind == "any":
        return models.FieldCondition(key=c.key, match=models.MatchAny(any=list(c.value)))
    return models.FieldCondition(key=c.key, range=models.Range(gte=c.gte, lte=c.lte))


def _filter(conds: Sequence[pl.Condition]) -> models.Filter:
    return models.Filter(must=[_condition(c) for c in conds])


def _sparse(v: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=list(v.indices), values=[float(x) for x in v.values])


def translate_error(e: Exception, what: str) -> VectorStoreError:
    """A vendor exception as a ``VectorStoreError``; connection errors, 429 and 5xx are retryable."""
    if isinstance(e, UnexpectedResponse):
        status = e.status_code
        retryable = status is not None and (status == 429 or status >= 500)
        hint = "retry later" if retryable else "check the request and the collection's configuration"
        return VectorStoreError(
            f"Qdrant {what} failed: {e} ({hint})", retryable=retryable, status_code=status
        )
    if isinstance(e, ResourceExhaustedResponse):
        return VectorStoreError(
            f"Qdrant {what} was rate limited: retry in {e.retry_after_s}s", retryable=True, status_code=429
        )
    if isinstance(e, ResponseHandlingException | httpx.TransportError | ConnectionError | TimeoutError):
        return VectorStoreError(
            f"cannot reach Qdrant for {what}: {e}. Check ASSIST_QDRANT__URL and that the server is up.",
            retryable=True,
        )
    code = getattr(e, "code", None)
    if callable(code):  # grpc.aio.AioRpcError, without importing grpc here
        name = getattr(code(), "name", "")
        return VectorStoreError(
            f"Qdrant {what} failed over gRPC: {name} {e}", retryable=name in _RETRYABLE_GRPC
        )
    return VectorStoreError(f"Qdrant {what} failed: {type(e).__name__}: {e}")


class QdrantRemoteVectorStore:
    """A collection of chunks on a Qdrant server/cluster (or qdrant-client local mode).

    Args:
        client: An ``AsyncQdrantClient``; the store closes it in ``close()``.
        collection: Collection name (one per embedding model and dimension).
        dim: Dense vector size.
        rrf_k: The RRF constant for fused search.
        rrf_weights: ``(dense, sparse)`` weights of weighted RRF; None: plain RRF. The
            fused query needs Qdrant 1.17 or later (RRF with ``k`` and weights).
        replication_factor, shard_number: Used when the store creates the collection.
        hnsw_m, hnsw_ef_construct, search_ef: HNSW parameters.
        batch_size: Points per upsert request.

    Example:
        >>> store = QdrantRemoteVectorStore.from_settings(settings.qdrant, collection="kb_e5-small_384", dim=384)
        >>> await store.upsert(encoded_chunks)
        >>> hits = await store.search(dense=qv, sparse=qs, filters=SearchFilter(tenant="t"), top_k=5)
        >>> await store.close()
    """

    def __init__(
        self,
        client: AsyncQdrantClient,
        collection: str,
        dim: int,
        *,
        rrf_k: int = 60,
        rrf_weights: tuple[float, float] | None = None,
        replication_factor: int = 1,
        shard_number: int = 1,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        search_ef: int = 128,
        batch_size: int = 256,
    ) -> None:
        self.client = client
        self.collection = collection
        self.dim = dim
        self.rrf_k = rrf_k
        self.rrf_weights = rrf_weights
        self.replication_factor = replication_factor
        self.shard_number = shard_number
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construct = hnsw_ef_construct
        self.search_ef = search_ef
        self.batch_size = batch_size
        self._ready = False

    @classmethod
    def from_settings(
        cls,
        settings: QdrantSettings,
        *,
        collection: str,
        dim: int,
        rrf_k: int = 60,
        rrf_weights: tuple[float, float] | None = None,
        local_path: Any = None,
    ) -> QdrantRemoteVectorStore:
        """Build the store from ``QdrantSettings``.

        ``mode="remote"`` connects to ``settings.url`` (with ``api_key``); ``mode="local"``
        uses qdrant-client's local mode at ``settings.path`` (or ``local_path``; the string
        ``":memory:"`` keeps it in memory).
        """
        if settings.mode == "remote":
            if not settings.url:
                raise ConfigError(
                    "qdrant.mode is 'remote' but no URL is set: set ASSIST_QDRANT__URL "
                    "(e.g. http://qdrant:6333) or use ASSIST_QDRANT__MODE=edge"
                )
            client = AsyncQdrantClient(
                url=settings.url,
                api_key=settings.api_key.get_secret_value() if settings.api_key else None,
                timeout=int(settings.timeout_s),
            )
        else:
            where = settings.path or local_path
            if where is None:
                raise ConfigError("qdrant local mode needs a path: set ASSIST_QDRANT__PATH or ASSIST_HOME")
            where = str(where)
            client = (
                AsyncQdrantClient(location=":memory:")
                if where == ":memory:"
                else AsyncQdrantClient(path=where)
            )
        return cls(
            client,
            collection,
            dim,
            rrf_k=rrf_k,
            rrf_weights=rrf_weights,
            replication_factor=settings.replication_factor,
            shard_number=settings.shard_number,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construct=settings.hnsw_ef_construct,
            search_ef=settings.search_ef,
        )

    async def _call(self, what: str, aw: Awaitable[T]) -> T:
        try:
            with warnings.catch_warnings():
                # Local mode (tests) warns that it ignores HNSW search params; servers use them.
                warnings.filterwarnings("ignore", message="Local mode performs exact")
                return await aw
        except AssistError:
            raise
        except Exception as e:
            raise translate_error(e, what) from e

    # -- collection -----------------------------------------------------------------

    async def ensure_collection(self) -> None:
        """Create the collection and its payload indexes, or check the existing one's size."""
        if self._ready:
            return
        await self._check_server_version()
        c = self.collection
        if await self._call("collection_exists", self.client.collection_exists(c)):
            info = await self._call("get_collection", self.client.get_collection(c))
            vectors = info.config.params.vectors
            dense_params = vectors.get(pl.DENSE) if isinstance(vectors, dict) else None
            size = dense_params.size if dense_params is not None else None
            if size != self.dim:
                raise ConfigError(
                    f"Qdrant collection {c!r} has no {self.dim}-d 'dense' vector (found {size}): "
                    "a collection holds vectors of one embedding model; use the collection "
                    "for this model (make_vector_store names it) or delete it to rebuild"
                )
        else:
            try:
                await self.client.create_collection(
                    c,
                    vectors_config={
                        pl.DENSE: models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config={
                        pl.SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                    shard_number=self.shard_number,
                    replication_factor=self.replication_factor,
                    hnsw_config=models.HnswConfigDiff(m=self.hnsw_m, ef_construct=self.hnsw_ef_construct),
                )
            except UnexpectedResponse as e:
                if e.status_code != 409:  # 409: another worker created it first
                    raise translate_error(e, "create_collection") from e
            except Exception as e:
                raise translate_error(e, "create_collection") from e
        await self._create_indexes()
        self._ready = True

    async def _check_server_version(self) -> None:
        """Refuse a server too old for the fused query (RRF with ``k`` and weights) with a
        clear error, instead of failing every hybrid search with the server's 400."""
        info = await self._call("info", self.client.info())
        found = tuple(int(x) for x in re.findall(r"\d+", str(info.version))[:2])
        if len(found) == 2 and found < MIN_SERVER_VERSION:
            want = ".".join(map(str, MIN_SERVER_VERSION))
            raise ConfigError(
                f"the Qdrant server reports version {info.version}; this service needs Qdrant {want} "
                "or later (hybrid search sends RRF with its k and weights, which older servers "
                "reject and whose plain RRF ranks with k = 2): upgrade the server (deploy/ pins 1.18)"
            )

    async def _create_indexes(self) -> None:
        wanted: list[tuple[str, Any]] = [
            (pl.TENANT_FIELD, models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True))
        ]
        wanted += [(k, models.PayloadSchemaType.KEYWORD) for k in pl.KEYWORD_INDEXES]
        wanted += [(k, models.PayloadSchemaType.BOOL) for k in pl.BOOL_INDEXES]
        wanted += [
            (k, models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER, lookup=False, range=True))
            for k in pl.INTEGER_INDEXES
        ]
        with warnings.catch_warnings():
            # Local mode warns that payload indexes have no effect there; servers use them.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for name, schema in wanted:
                # Creating an existing index again is a no-op on the server.
                await self._call(
                    f"create_payload_index({name})",
                    self.client.create_payload_index(self.collection, name, field_schema=schema, wait=True),
                )

    async def _ensure(self) -> None:
        if not self._ready:
            await self.ensure_collection()

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
            if it.sparse.indices:  # an empty sparse vector carries no signal; omit it
                vec[pl.SPARSE] = _sparse(it.sparse)
            points.append(
                models.PointStruct(
                    id=pl.point_id(it.chunk.id),
                    vector=vec,
                    payload=pl.chunk_to_payload(it.chunk, staged=staged),
                )
            )
        if not points:
            return 0
        await self._ensure()
        for i in range(0, len(points), self.batch_size):
            await self._call(
                "upsert",
                self.client.upsert(self.collection, points=points[i : i + self.batch_size], wait=True),
            )
        return len(points)

    async def optimize(self) -> bool:
        """No-op: a Qdrant server builds its indexes in the background."""
        return False

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        await self._ensure()
        canon = {pl.point_id(i): i for i in ids}
        records = await self._call(
            "retrieve",
            self.client.retrieve(self.collection, ids=list(canon), with_payload=False, with_vectors=False),
        )
        return {canon[str(r.id)] for r in records if str(r.id) in canon}

    async def set_payload(self, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if not ids or not payload:
            return
        await self._ensure()
        await self._call(
            "set_payload",
            self.client.set_payload(
                self.collection,
                payload=pl.normalise_payload(payload),
                points=[pl.point_id(i) for i in ids],
                wait=True,
            ),
        )

    async def activate(self, ids: Sequence[str], payload: dict[str, Any] | None = None) -> None:
        await self.set_payload(ids, {**(payload or {}), pl.STAGED_FIELD: False})

    async def delete(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        await self._ensure()
        pids = list({pl.point_id(i) for i in ids})
        found = await self._call(
            "retrieve",
            self.client.retrieve(self.collection, ids=pids, with_payload=False, with_vectors=False),
        )
        if found:
            await self._call(
                "delete",
                self.client.delete(
                    self.collection,
                    points_selector=models.PointIdsList(points=[r.id for r in found]),
                    wait=True,
                ),
            )
        return len(found)

    async def ids_for_article(self, tenant: str, article_id: str) -> set[str]:
        return await self._scroll_ids(_filter(pl.article_conditions(tenant, article_id)))

    async def ids_for_tenant(self, tenant: str) -> set[str]:
        return await self._scroll_ids(_filter(pl.tenant_conditions(tenant)))

    async def _scroll_ids(self, flt: models.Filter) -> set[str]:
        await self._ensure()
        out: set[str] = set()
        offset = None
        while True:
            records, offset = await self._call(
                "scroll",
                self.client.scroll(
                    self.collection,
                    scroll_filter=flt,
                    limit=_SCROLL_PAGE,
                    offset=offset,
                    with_payload=False,
                    with_vectors=False,
                ),
            )
            out.update(str(r.id) for r in records)
            if offset is None:
                return out

    async def delete_article(self, tenant: str, article_id: str) -> int:
        await self._ensure()
        flt = _filter(pl.article_conditions(tenant, article_id))
        n = (
            await self._call("count", self.client.count(self.collection, count_filter=flt, exact=True))
        ).count
        if n:
            await self._call(
                "delete",
                self.client.delete(
                    self.collection, points_selector=models.FilterSelector(filter=flt), wait=True
                ),
            )
        return n

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
        """Hybrid or single-vector search; same semantics as ``QdrantEdgeVectorStore.search``."""
        if sparse is not None and not sparse.indices:
            sparse = None
        if top_k <= 0 or (dense is None and sparse is None):
            return []
        if dense is not None and len(dense) != self.dim:
            raise VectorStoreError(
                f"query vector has {len(dense)} dimensions, collection {self.collection!r} holds "
                f"{self.dim}: embed the query with the collection's model"
            )
        await self._ensure()
        flt = _filter(pl.filter_conditions(filters))
        params = models.SearchParams(hnsw_ef=self.search_ef)
        limit = max(candidates, top_k)
        dq = [float(x) for x in dense] if dense is not None else None
        sq = _sparse(sparse) if sparse is not None else None

        if dq is None or sq is None:
            using, query = (pl.DENSE, dq) if dq is not None else (pl.SPARSE, sq)
            resp = await self._call(
                "query_points",
                self.client.query_points(
                    self.collection,
                    query=query,
                    using=using,
                    query_filter=flt,
                    search_params=params,
                    limit=top_k,
                    with_payload=True,
                    with_vectors=False,
                ),
            )
            key = "dense_score" if dq is not None else "sparse_score"
            return [
                RetrievedChunk(chunk=pl.payload_to_chunk(p.id, p.payload), score=p.score, **{key: p.score})
                for p in resp.points
            ]

        dense_pf = models.Prefetch(query=dq, using=pl.DENSE, filter=flt, params=params, limit=limit)
        sparse_pf = models.Prefetch(query=sq, using=pl.SPARSE, filter=flt, limit=limit)
        fusion_q: models.FusionQuery | models.RrfQuery
        if fusion == "dbsf":
            # DBSF has no weights: a list given n times counts n times (dbsf_prefetches).
            n_dense, n_sparse = dbsf_prefetches(weights)
            fusion_q = models.FusionQuery(fusion=models.Fusion.DBSF)
            prefetches = [dense_pf] * n_dense + [sparse_pf] * n_sparse
        else:
            # Always the parametrised form: the plain FusionQuery(RRF) runs with the
            # server's own k (2), not ours, and would rank differently from the embedded
            # engine. Needs Qdrant 1.17 or later (k since 1.16, weights since 1.17).
            rrf_w = weights if weights is not None else self.rrf_weights
            fusion_q = models.RrfQuery(rrf=models.Rrf(k=self.rrf_k, weights=list(rrf_w) if rrf_w else None))
            prefetches = [dense_pf, sparse_pf]
        fused = models.QueryRequest(
            prefetch=prefetches,
            query=fusion_q,
            filter=flt,
            limit=top_k,
            with_payload=True,
            # Each fused point's dense cosine comes from its stored vector (exact; one HNSW
            # search per query instead of a second one only for the scores).
            with_vector=[pl.DENSE],
        )
        # BM25 scores need the server's IDF: the sparse list runs in the same round trip.
        side = models.QueryRequest(query=sq, using=pl.SPARSE, filter=flt, limit=limit, with_payload=False)
        fused_r, sparse_r = await self._call(
            "query_batch_points", self.client.query_batch_points(self.collection, requests=[fused, side])
        )
        sscore = {str(p.id): p.score for p in sparse_r.points}
        dense_scores = pl.cosines(dense, [p.vector for p in fused_r.points])
        return [
            RetrievedChunk(
                chunk=pl.payload_to_chunk(p.id, p.payload),
                score=p.score,
                dense_score=dscore,
                sparse_score=sscore.get(str(p.id)),
            )
            for p, dscore in zip(fused_r.points, dense_scores, strict=True)
        ]

    async def count(self, filters: SearchFilter | None = None) -> int:
        """Points visible to ``filters`` (all points, staged included, when None)."""
        await self._ensure()
        flt = _filter(pl.filter_conditions(filters)) if filters is not None else None
        resp = await self._call("count", self.client.count(self.collection, count_filter=flt, exact=True))
        return resp.count

    async def close(self) -> None:
        """Close the client (local mode persists its data here)."""
        await self._call("close", self.client.close())
