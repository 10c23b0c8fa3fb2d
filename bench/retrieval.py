"""Retrieval latency: our Retriever vs the engine floor, LangChain and BM25, same data and queries.

    .venv/bin/python bench/retrieval.py --sizes 10000,100000 --queries 200 --json

Per collection size (built once under ``/tmp/assist-bench/index-MODEL-SIZE`` by
``bench.common.build_index`` and reused), each real query (alternating zh_bq_faq and
en_dstc10_kgd ``queries.jsonl``) goes through every system, in rotating order so that the
shared machine's load hits every system alike (``--block N``: each system runs N queries
in a row per turn; ``--quantize int8``: our embedder runs its int8 variant):

- ``retriever``: ``assist.retrieval.Retriever.retrieve`` (hybrid: e5 query embedding +
  jieba sparse vector + one fused Qdrant query with the tenant/staged/date filters, plus
  its top-1 dense check for the covered decision), top_k 5;
- ``floor``: e5 query embedding + one raw dense ``EdgeShard.query`` (tenant filter, same
  ``hnsw_ef``, payload on) in the same process: what the engine itself costs;
- ``floor_hybrid``: e5 query embedding + jieba sparse vector + the very engine request the
  retriever's hybrid search sends (``QdrantEdgeVectorStore.hybrid_request``: fused RRF
  prefetch under the full filter with payloads and vectors, plus the sparse list) on the
  raw shard, in the calling thread: the engine's cost of the hybrid query, so that
  ``retriever / floor_hybrid`` is what our own code adds;
- ``langchain``: the plain LangChain pipeline: ``langchain_qdrant.QdrantVectorStore.similarity_search``
  (k 5) over qdrant-client's in-memory local mode holding the same vectors and texts,
  with a LangChain ``Embeddings`` over the same e5 model run by sentence-transformers on
  PyTorch (what ``langchain_huggingface.HuggingFaceEmbeddings`` does; that package cannot
  be installed beside transformers 5);
- ``langchain_same_embedder``: the same LangChain pipeline with OUR embedder (the
  onnxruntime backend): what LangChain costs beyond the embedding;
- ``bm25``: bm25s over the same texts (jieba tokens, as our sparse encoder makes them);
- ``embed_only``: our e5 query embedding alone (what every dense pipeline above pays);
- ``embed_only_torch``: the same query embedding on sentence-transformers/PyTorch.

Latency is per query, sequential (one client); throughput is queries / summed latency.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# torch's OpenMP workers otherwise spin after each call into the next system's turn (the
# torch baselines share this process with the onnxruntime ones); passive waiting bills
# each system only its own work.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from bench.common import (  # noqa: E402
    SCRATCH,
    TENANT,
    bench_settings,
    build_index,
    collection_for,
    doc_embedding_text,
    index_path,
    load_queries,
    machine,
    plan_index,
    summary_ms,
)

TOP_K = 5
WARMUP = 10


def _e5_langchain(embedder: Any) -> Any:
    """A LangChain ``Embeddings`` around our e5 embedder (same model, same prompts)."""
    from langchain_core.embeddings import Embeddings

    class E5Embeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents_sync(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_queries_sync([text])[0].tolist()

    return E5Embeddings()


def _langchain_store(size: int, plan: Any, embedder: Any) -> tuple[Any, float]:
    """LangChain's QdrantVectorStore over in-memory qdrant-client, loaded with our vectors
    (LangChain would re-embed on ``add_texts``; the encode cost is the same for everyone)."""
    from langchain_qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient, models

    client = QdrantClient(location=":memory:")
    name = f"lc_{size}"
    client.create_collection(
        name, vectors_config=models.VectorParams(size=plan.dense.shape[1], distance=models.Distance.COSINE)
    )
    t0 = time.perf_counter()
    batch = 2000
    for start in range(0, size, batch):
        client.upsert(
            name,
            points=[
                models.PointStruct(
                    id=start + i,
                    vector=plan.dense[start + i].tolist(),
                    payload={"page_content": d.text, "metadata": {"id": d.id, "title": d.title}},
                )
                for i, d in enumerate(plan.docs[start : start + batch])
            ],
        )
    load_s = time.perf_counter() - t0
    return QdrantVectorStore(client=client, collection_name=name, embedding=_e5_langchain(embedder)), load_s


def _bm25(plan: Any, sparse: Any) -> tuple[Callable[[str], Any], float]:
    import bm25s

    t0 = time.perf_counter()
    cache: dict[str, list[str]] = {}  # cycled copies repeat texts: tokenise each text once
    corpus_tokens = []
    for d in plan.docs:
        t = doc_embedding_text(d)
        if t not in cache:
            cache[t] = sparse.tokenize(t) or ["<empty>"]
        corpus_tokens.append(cache[t])
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(tok, len(vocab)) for tok in toks] for toks in corpus_tokens]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    build_s = time.perf_counter() - t0

    def search(q: str) -> Any:
        toks = [t for t in sparse.tokenize(q) if t in vocab] or [next(iter(vocab))]
        qt = bm25s.tokenization.Tokenized(ids=[[vocab[t] for t in toks]], vocab=vocab)
        return retriever.retrieve(qt, k=TOP_K, show_progress=False, n_threads=1)

    return search, build_s


async def bench_size(
    size: int, queries: list[str], embedder: Any, args: argparse.Namespace, torch_embedder: Any = None
) -> dict[str, Any]:
    import qdrant_edge as qe

    from assist.config import RetrievalSettings, SparseSettings
    from assist.retrieval import Retriever
    from assist.sparse import SparseEncoder
    from assist.stores.qdrant_edge import QdrantEdgeVectorStore
    from assist.types import SearchFilter

    out: dict[str, Any] = {"size": size}
    root = index_path(size, embedder.model_id)
    sparse = SparseEncoder(SparseSettings())
    # The baselines load first: with --wait-build they load while another process is
    # still building the collection (the shard must have a single opener).
    plan = None
    if not args.no_langchain or not args.no_bm25:
        plan, _ = plan_index(size, embedder)
    lc = lc_same = None
    if not args.no_langchain:
        lc, lc_load = _langchain_store(size, plan, torch_embedder or embedder)
        out["langchain_load_s"] = round(lc_load, 1)
        if torch_embedder is not None:
            # Same collection and client, our embedder for the query.
            from langchain_qdrant import QdrantVectorStore

            lc_same = QdrantVectorStore(
                client=lc.client, collection_name=lc.collection_name, embedding=_e5_langchain(embedder)
            )
    bm25_search = None
    if not args.no_bm25:
        bm25_search, bm25_build = _bm25(plan, sparse)
        out["bm25_index_s"] = round(bm25_build, 1)
    if args.wait_build:
        while not (SCRATCH / f"build-{size}.json").exists():  # noqa: ASYNC110 - another process writes it
            await asyncio.sleep(5)
    if args.rebuild or not (root / collection_for(size)).is_dir():
        out["build"] = await build_index(size, embedder)
    store = QdrantEdgeVectorStore(root, collection_for(size), embedder.dim, optimize_after=0)
    await store.ensure_collection()
    out["points"] = await store.count()
    retriever = Retriever(embedder=embedder, sparse=sparse, store=store, settings=RetrievalSettings())
    flt = SearchFilter(tenant=TENANT)
    shard = store._s  # the engine floor talks to the shard directly
    raw_filter = qe.Filter(must=[qe.FieldCondition("tenant", match=qe.MatchValue(TENANT))])
    params = qe.SearchParams(hnsw_ef=store.search_ef)

    def floor(q: str) -> Any:
        v = embedder.embed_queries_sync([q])[0].tolist()
        return shard.query(
            qe.QueryRequest(
                limit=TOP_K,
                query=qe.Query.Nearest(v, using="dense"),
                filter=raw_filter,
                params=params,
                with_payload=True,
                with_vector=False,
            )
        )

    def floor_hybrid(q: str) -> Any:
        v = embedder.embed_queries_sync([q])[0].tolist()
        batch = store.hybrid_request(v, sparse.encode_query(q), flt, top_k=retriever.fetch_size(TOP_K),
                                     candidates=retriever.settings.candidates)
        return shard.query_batch(batch)[0]

    def embed_only(q: str) -> Any:
        return [embedder.embed_queries_sync([q])[0]]  # the share every dense pipeline pays

    systems: dict[str, Callable[[str], Any]] = {"floor": floor, "floor_hybrid": floor_hybrid, "embed_only": embed_only}
    if torch_embedder is not None:
        systems["embed_only_torch"] = lambda q: [torch_embedder.embed_queries_sync([q])[0]]
    if lc is not None:
        systems["langchain"] = lambda q: lc.similarity_search(q, k=TOP_K)
    if lc_same is not None:
        systems["langchain_same_embedder"] = lambda q: lc_same.similarity_search(q, k=TOP_K)
    if bm25_search is not None:
        systems["bm25"] = bm25_search
    names = ["retriever", *systems]
    lat: dict[str, list[float]] = {n: [] for n in names}
    hits: dict[str, int] = {n: 0 for n in names}

    async def one(name: str, q: str) -> float:
        t0 = time.perf_counter()
        if name == "retriever":
            res = await retriever.retrieve(q, flt, top_k=TOP_K)
            n = len(res.chunks)
        else:
            r = systems[name](q)
            n = len(r[0][0]) if name == "bm25" else len(r)
        dt = time.perf_counter() - t0
        if n:
            hits[name] += 1
        return dt

    for q in queries[:WARMUP]:
        for n in names:
            await one(n, q)
    # The harness holds every baseline in this one process (LangChain's in-memory store
    # is 100k Python point objects at 100k); freeze that long-lived heap so a garbage
    # collection triggered by one system does not bill it the walk over another's data.
    # The service does the same after warm-up (serving/app.py).
    gc.collect()
    gc.freeze()
    hits = {n: 0 for n in names}
    # Each system runs ``block`` queries in a row, the systems' order rotating per block so
    # that load drift hits all alike. Per query (block 1) each system runs right after
    # another one, in caches that system left; in blocks each runs in its own steady state,
    # as a service does (docs/benchmarks.md compares the two).
    block = max(1, args.block)
    for b, start in enumerate(range(0, len(queries), block)):
        order = names[b % len(names) :] + names[: b % len(names)]
        for n in order:
            for q in queries[start : start + block]:
                lat[n].append(await one(n, q))
    out["systems"] = {n: {**summary_ms(lat[n]), "queries_with_results": hits[n]} for n in names}
    r, f = out["systems"]["retriever"], out["systems"]["floor"]
    out["ratios"] = {
        "retriever_over_floor_p50": round(r["p50_ms"] / f["p50_ms"], 2),
        "retriever_over_floor_p95": round(r["p95_ms"] / f["p95_ms"], 2),
        "retriever_over_floor_hybrid_p50": round(r["p50_ms"] / out["systems"]["floor_hybrid"]["p50_ms"], 2),
        "floor_hybrid_over_floor_p50": round(out["systems"]["floor_hybrid"]["p50_ms"] / f["p50_ms"], 2),
    }
    if "langchain" in out["systems"]:
        lcs = out["systems"]["langchain"]
        out["ratios"]["retriever_qps_over_langchain_qps"] = round(r["qps"] / lcs["qps"], 2)
        out["ratios"]["langchain_over_floor_p50"] = round(lcs["p50_ms"] / f["p50_ms"], 2)
    if "langchain_same_embedder" in out["systems"]:
        same = out["systems"]["langchain_same_embedder"]
        out["ratios"]["retriever_qps_over_langchain_same_embedder_qps"] = round(r["qps"] / same["qps"], 2)
    await store.close()
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the collections even if present")
    ap.add_argument(
        "--wait-build",
        action="store_true",
        help="wait for SCRATCH/build-SIZE.json (a build running in another process)",
    )
    ap.add_argument("--no-langchain", action="store_true")
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument(
        "--no-torch",
        action="store_true",
        help="no PyTorch embedder in the process (drops embed_only_torch and the plain LangChain row's torch model)",
    )
    ap.add_argument(
        "--quantize",
        choices=["none", "int8"],
        default="none",
        help="our embedder's embedder.quantize (int8: the ONNX export's int8 variant, its own index); "
        "the torch baselines stay float",
    )
    ap.add_argument(
        "--block",
        type=int,
        default=1,
        help="queries each system runs in a row before the next system's turn (1: rotate per query)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from assist.embedders import make_embedder

    settings = bench_settings(SCRATCH / "retrieval-home", embedder={"quantize": args.quantize})
    embedder: Any = make_embedder(settings)
    embedder.warm_up()
    torch_embedder: Any = None
    if getattr(embedder, "active_backend", None) == "onnx" and not args.no_torch:
        torch_embedder = make_embedder(
            settings, settings.embedder.model_copy(update={"backend": "torch", "quantize": "none"})
        )
        torch_embedder.warm_up()
    queries = load_queries(args.queries)
    result: dict[str, Any] = {
        "machine_before": machine(),
        "queries": len(queries),
        "top_k": TOP_K,
        "embedder_backend": getattr(embedder, "active_backend", None),
        "embedder_model_id": embedder.model_id,
        "block": args.block,
        "sizes": [],
    }
    for size in (int(s) for s in args.sizes.split(",")):
        result["sizes"].append(await bench_size(size, queries, embedder, args, torch_embedder))
    result["machine_after"] = machine()
    print(json.dumps(result, ensure_ascii=False, indent=2 if args.json else 1))


if __name__ == "__main__":
    asyncio.run(main())
