"""Shared helpers of the ingest and retrieval benchmarks: data, settings, timing, index builds.

Everything a benchmark writes goes under a scratch directory (``/tmp/assist-bench`` by
default, ``ASSIST_BENCH_DIR`` to change it), never into the repository: neither data nor
results are committed.

Example:
    >>> from bench.common import percentile
    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from assist.config import Settings  # noqa: E402

DATA = Settings().resolved_data_dir
"""The public data sets: ``ASSIST_DATA_DIR``, default ``../shared/data`` beside the repository."""
MODELS = Path(os.environ.get("ASSIST_BENCH_MODELS", str(REPO / ".assist" / "models")))
SCRATCH = Path(os.environ.get("ASSIST_BENCH_DIR", "/tmp/assist-bench"))
TENANT = "bench"
CORPORA = ("zh_bq_faq", "en_dstc10_kgd", "zh_rgb_rag")
REAL_ROWS = int(os.environ.get("ASSIST_BENCH_REAL_ROWS", "2000"))
"""zh_bq_faq rows that get real e5 vectors in the index builds (the rest are synthetic)."""
_NS = uuid.UUID("6f1c4a52-4c1e-4a8e-9b7e-2f7a0c0b3d11")


# --------------------------------------------------------------------------- data
def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All JSON objects of a ``.jsonl`` file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass(frozen=True)
class Doc:
    """One corpus row as the benchmarks index it."""

    corpus: str
    id: str
    text: str
    title: str
    language: str
    product: str | None = None


def load_corpus(name: str) -> list[Doc]:
    """The rows of ``DATA/name/corpus.jsonl`` (title kept apart, as the parser does)."""
    lang = "zh" if name.startswith("zh_") else "en"
    out = []
    for r in read_jsonl(DATA / name / "corpus.jsonl"):
        text = str(r.get("text") or "").strip()
        if text:
            out.append(Doc(name, str(r["id"]), text, str(r.get("title") or ""), lang, r.get("entity_name")))
    return out


def load_queries(n: int, *, corpora: Sequence[str] = ("zh_bq_faq", "en_dstc10_kgd")) -> list[str]:
    """``n`` real queries, alternating between ``corpora`` (first rows of each queries.jsonl)."""
    pools = [
        [str(r["text"]) for r in read_jsonl(DATA / c / "queries.jsonl") if r.get("text")] for c in corpora
    ]
    out: list[str] = []
    i = 0
    while len(out) < n and any(i < len(p) for p in pools):
        for p in pools:
            if i < len(p) and len(out) < n:
                out.append(p[i])
        i += 1
    return out


def doc_embedding_text(d: Doc) -> str:
    """What the ingest path embeds for a one-block BEIR row: title, blank line, text."""
    return f"{d.title}\n\n{d.text}" if d.title else d.text


# --------------------------------------------------------------------------- settings
def bench_settings(home: Path, **overrides: Any) -> Settings:
    """Settings for a scratch ``home`` with the prepared models of the main checkout."""
    overrides.setdefault("llm", {"provider": "fake"})
    return Settings(home=home, models_path=MODELS, **overrides)


# --------------------------------------------------------------------------- timing
def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds and sequential throughput (queries per second)."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "qps": round(len(ms) / sum(seconds), 1) if sum(seconds) else 0.0,
    }


@dataclass
class StageTimer:
    """Wall time per named stage, accumulated over many calls (a poor man's profiler).

    Example:
        >>> t = StageTimer()
        >>> with t.stage("parse"):
        ...     pass
        >>> t.calls["parse"]
        1
    """

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            self.calls[name] = self.calls.get(name, 0) + 1

    def wrap_sync(self, obj: Any, attr: str, name: str | None = None) -> None:
        """Replace ``obj.attr`` (a sync callable) by a timed wrapper."""
        fn: Callable[..., Any] = getattr(obj, attr)

        def timed(*a: Any, **kw: Any) -> Any:
            with self.stage(name or attr):
                return fn(*a, **kw)

        setattr(obj, attr, timed)

    def wrap_async(self, obj: Any, attr: str, name: str | None = None) -> None:
        """Replace ``obj.attr`` (a coroutine function) by a timed wrapper."""
        fn: Callable[..., Any] = getattr(obj, attr)

        async def timed(*a: Any, **kw: Any) -> Any:
            with self.stage(name or attr):
                return await fn(*a, **kw)

        setattr(obj, attr, timed)

    def report(self, total_s: float) -> dict[str, dict[str, float]]:
        return {
            k: {"s": round(v, 3), "pct_of_total": round(100 * v / total_s, 1), "calls": self.calls[k]}
            for k, v in sorted(self.seconds.items(), key=lambda kv: -kv[1])
        }


def machine() -> dict[str, Any]:
    """Conditions of the run: cores, load (the machine is shared), versions."""
    import psutil

    return {
        "cpus": os.cpu_count(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "mem_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def dir_size_mb(path: Path) -> float:
    """Bytes on disk under ``path`` (allocated blocks, as ``du`` counts), in MiB."""
    total = 0
    for p in path.rglob("*"):
        if p.is_file():
            st = p.stat()
            total += getattr(st, "st_blocks", 0) * 512 or st.st_size
    return round(total / 2**20, 1)


# --------------------------------------------------------------------------- embeddings cache
def encode_cached(embedder: Any, name: str, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    """Real e5 passage vectors of ``texts``, cached in SCRATCH/cache/``name``.npy.

    Returns ``(vectors, seconds)``; ``seconds`` is the measured encode time of the run
    that produced the cache (read back from its side file), so projections stay honest.
    """
    from assist.stores import slug

    cache = SCRATCH / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    name = f"{slug(embedder.model_id)}-{name}"  # vectors of one model only
    vec_path, meta_path = cache / f"{name}.npy", cache / f"{name}.json"
    if vec_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("n") == len(texts):
            return np.load(vec_path), float(meta["seconds"])
    t0 = time.perf_counter()
    vecs = embedder.embed_documents_sync(list(texts))
    secs = time.perf_counter() - t0
    np.save(vec_path, vecs)
    meta_path.write_text(json.dumps({"n": len(texts), "seconds": secs, "loadavg": os.getloadavg()}))
    return vecs, secs


# --------------------------------------------------------------------------- index builds
@dataclass
class IndexPlan:
    """The points of a benchmark collection: which are real e5 vectors, which synthetic."""

    docs: list[Doc]
    dense: np.ndarray
    real_dense: int
    note: str


def plan_index(size: int, embedder: Any, *, seed: int = 7) -> tuple[IndexPlan, dict[str, Any]]:
    """``size`` points of real text from the three corpora (cycled when ``size`` exceeds them).

    Dense vectors: the real e5 vectors of the first ``REAL_ROWS`` zh_bq_faq rows (encoded
    here, cached); every other point (the other rows and the cycled copies) gets the
    e5 vector of a real row plus Gaussian noise, renormalised (cosine ~0.9 to its source),
    so the synthetic part has the anisotropy of real e5 vectors, not a uniform sphere.
    Sparse vectors are always computed from the real text (by the caller).
    """
    bq, dstc, rgb = (load_corpus(c) for c in CORPORA)
    # Only REAL_ROWS rows get real vectors: encoding more on this shared 2-core machine takes
    # longer than the benchmark budget (the projection covers the full encode instead).
    real_docs = bq[:REAL_ROWS]
    base = bq + dstc + rgb
    docs: list[Doc] = []
    copy = 0
    while len(docs) < size:
        for d in base:
            if len(docs) >= size:
                break
            docs.append(
                d if copy == 0 else Doc(d.corpus, f"{d.id}~{copy}", d.text, d.title, d.language, d.product)
            )
        copy += 1
    real_vecs, enc_s = encode_cached(
        embedder, f"zh_bq_faq-{REAL_ROWS}", [doc_embedding_text(d) for d in real_docs]
    )
    n_real = min(size, len(real_docs))
    rng = np.random.default_rng(seed)
    dense = np.empty((size, real_vecs.shape[1]), dtype=np.float32)
    dense[:n_real] = real_vecs[:n_real]
    if size > n_real:
        src = real_vecs[rng.integers(0, len(real_vecs), size - n_real)]
        # sigma/sqrt(dim) per component gives a noise vector of norm ~sigma; 0.5 -> cos ~0.9
        noise = rng.normal(0.0, 0.5 / np.sqrt(real_vecs.shape[1]), src.shape).astype(np.float32)
        syn = src + noise
        dense[n_real:] = syn / np.linalg.norm(syn, axis=1, keepdims=True)
    note = (
        f"{n_real} real e5 passage vectors (zh_bq_faq); {size - n_real} synthetic "
        "(real e5 vector + noise, cos~0.9); sparse vectors from the real text of every point"
    )
    enc = {
        "real_texts": len(real_docs),
        "real_encode_s": round(enc_s, 1),
        "real_passages_per_s": round(len(real_docs) / enc_s, 1) if enc_s else None,
    }
    return IndexPlan(docs, dense, n_real, note), enc


def doc_chunk(d: Doc) -> Any:
    """The ``Chunk`` a one-block BEIR row becomes (published, one chunk per row)."""
    from assist.types import ArticleType, Chunk

    art = d.id.replace(":", "_")
    return Chunk(
        id=str(uuid.uuid5(_NS, f"{TENANT}\x00{art}")),
        tenant=TENANT,
        article_id=art,
        revision=1,
        chunk_index=0,
        text=d.text,
        title=d.title,
        type=ArticleType.FAQ,
        language=d.language,  # type: ignore[arg-type]
        product=d.product,
    )


def index_path(size: int, model_id: str) -> Path:
    """Where the ``size``-point collection of ``model_id``'s vectors is built (one per model:
    the int8 variant's vectors never share the float model's index)."""
    from assist.stores import slug

    return SCRATCH / f"index-{slug(model_id)}-{size}"


def collection_for(size: int) -> str:
    return f"bench_{size}"


async def build_index(size: int, embedder: Any, *, batch: int = 1024) -> dict[str, Any]:
    """Build (from scratch) the ``size``-point edge collection under ``index_path(size, model)``.

    Sparse vectors: ``SparseEncoder`` (jieba) on every point's real text, timed. Dense:
    see :func:`plan_index`. Points go in through ``QdrantEdgeVectorStore.upsert`` (the
    production write path, payload included); then ``optimize()`` builds HNSW. Returns the
    measured times and the on-disk size.
    """
    import shutil

    from assist.config import SparseSettings
    from assist.sparse import SparseEncoder
    from assist.stores.qdrant_edge import QdrantEdgeVectorStore
    from assist.types import EncodedChunk

    root = index_path(size, embedder.model_id)
    if root.exists():
        shutil.rmtree(root)
    plan, enc = plan_index(size, embedder)
    sparse = SparseEncoder(SparseSettings())
    sparse.tokenize("预热 warm up")  # load jieba's dictionary outside the timed part
    store = QdrantEdgeVectorStore(root, collection_for(size), embedder.dim, optimize_after=0)
    await store.ensure_collection()
    t_sparse = t_upsert = 0.0
    t_all = time.perf_counter()
    memo: dict[str, Any] = {}  # cycled copies repeat texts: encode each distinct text once
    for start in range(0, size, batch):
        docs = plan.docs[start : start + batch]
        t0 = time.perf_counter()
        texts = [doc_embedding_text(d) for d in docs]
        new = [t for t in dict.fromkeys(texts) if t not in memo]
        memo.update(zip(new, sparse.encode_documents(new), strict=True))
        sv = [memo[t] for t in texts]
        t1 = time.perf_counter()
        items = [
            EncodedChunk(chunk=doc_chunk(d), dense=plan.dense[start + i].tolist(), sparse=s)
            for i, (d, s) in enumerate(zip(docs, sv, strict=True))
        ]
        await store.upsert(items)
        t2 = time.perf_counter()
        t_sparse += t1 - t0
        t_upsert += t2 - t1
    t0 = time.perf_counter()
    await store.optimize()
    t_opt = time.perf_counter() - t0
    total = time.perf_counter() - t_all
    count = await store.count()
    await store.close()
    result = {
        "points": count,
        "dense_note": plan.note,
        "sparse_distinct_texts": len(memo),
        "sparse_encode_s": round(t_sparse, 1),
        "upsert_s": round(t_upsert, 1),
        "optimize_hnsw_s": round(t_opt, 1),
        "index_side_total_s": round(total, 1),
        "on_disk_mb": dir_size_mb(root),
        "real_encode": enc,
        "path": str(root),
        "machine_after": machine(),
    }
    (SCRATCH / f"build-{size}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return result
