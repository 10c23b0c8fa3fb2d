"""Benchmark an embedder: encode rate, query latency, memory and retrieval quality.

One model per process (so RSS is that model's), exact cosine search (no ANN error):

    .venv/bin/python bench/embedders.py --model e5-small --json bench/results/e5-small.json
    .venv/bin/python bench/embedders.py --model embeddinggemma --tasks speed,bq \
        --json bench/results/embeddinggemma.json

Tasks: ``speed`` (passages/s on the first 1000 zh_bq_faq passages at batch 32, median
single-query latency, RSS), ``bq`` (zh_bq_faq nDCG@10, R@10), ``dstc`` (en_dstc10_kgd R@1 / R@5 /
MRR@5 with the ``text_with_context`` query). Metrics come from ir-measures.

``--query-prompt`` / ``--document-prompt`` pick other named prompts of the model for the
quality tasks, e.g. a symmetric setup for question-to-question matching:
``--model e5-small --query-prompt query --document-prompt query`` or
``--model embeddinggemma --query-prompt STS --document-prompt STS``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import ir_measures  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from ir_measures import MRR, R, nDCG  # noqa: E402

from assist.config import EmbedderSettings, Settings  # noqa: E402
from assist.embedders import make_embedder  # noqa: E402

SPEED_PASSAGES = 1000
LATENCY_QUERIES = 50
TOP_K = 100


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _qrels(path: Path) -> list[ir_measures.Qrel]:
    rows = path.read_text(encoding="utf-8").splitlines()[1:]  # header: query-id corpus-id score
    return [ir_measures.Qrel(q, d, int(s)) for q, d, s in (r.split("\t") for r in rows if r.strip())]


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _search(q: np.ndarray, docs: np.ndarray, qids: list[str], dids: list[str]) -> list[ir_measures.ScoredDoc]:
    scores = q @ docs.T  # unit vectors: dot product == cosine
    run: list[ir_measures.ScoredDoc] = []
    for i, qid in enumerate(qids):
        top = np.argpartition(-scores[i], min(TOP_K, len(dids) - 1))[:TOP_K]
        run.extend(ir_measures.ScoredDoc(qid, dids[j], float(scores[i, j])) for j in top)
    return run


def bench(
    model: str,
    tasks: set[str],
    data: Path,
    models_dir: Path | None,
    batch_size: int,
    json_path: Path | None = None,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
) -> dict[str, Any]:
    settings = Settings(  # type: ignore[call-arg]  # _env_file is pydantic-settings' own
        _env_file=None, embedder=EmbedderSettings(model=model, batch_size=batch_size)
    )
    if models_dir:
        settings.models_path = models_dir
    embedder = make_embedder(settings)
    out: dict[str, Any] = {"model": model, "batch_size": batch_size}

    def checkpoint(step: str) -> None:
        # Partial results survive a run that is stopped early (slow models, busy machines).
        out["env"] = _env()
        print(f"[{step}] " + json.dumps(out, ensure_ascii=False), file=sys.stderr, flush=True)
        if json_path:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    embedder.warm_up()
    out["load_s"] = round(time.perf_counter() - t0, 2)
    out["dim"] = embedder.dim
    encode_docs = embedder.embed_documents_sync  # type: ignore[attr-defined]
    encode_queries = embedder.embed_queries_sync  # type: ignore[attr-defined]
    if query_prompt or document_prompt:
        st = embedder._load()  # type: ignore[attr-defined]  # the sentence-transformers model

        def prompted(name: str | None, default: Any) -> Any:
            if not name:
                return default
            return lambda texts: np.asarray(st.encode(list(texts), prompt_name=name, batch_size=batch_size,
                                                      normalize_embeddings=True, convert_to_numpy=True))

        encode_docs = prompted(document_prompt, encode_docs)
        encode_queries = prompted(query_prompt, encode_queries)
        out["prompts"] = {"query": query_prompt, "document": document_prompt}
    encode_docs(["预热"])  # first call pays one-off allocations

    bq_corpus = _jsonl(data / "zh_bq_faq" / "corpus.jsonl")
    bq_texts = [d["text"] for d in bq_corpus]
    bq_vectors: list[np.ndarray] = []
    if "speed" in tasks:
        t0 = time.perf_counter()
        bq_vectors.append(encode_docs(bq_texts[:SPEED_PASSAGES]))
        dt = time.perf_counter() - t0
        out["passages_per_s"] = round(SPEED_PASSAGES / dt, 1)
        queries = [q["text"] for q in _jsonl(data / "zh_bq_faq" / "queries.jsonl")[:LATENCY_QUERIES]]
        latencies = []
        for q in queries:
            t0 = time.perf_counter()
            encode_queries([q])
            latencies.append(time.perf_counter() - t0)
        out["query_latency_ms_median"] = round(1000 * statistics.median(latencies), 1)
        out["rss_mb"] = round(_rss_mb(), 0)
        out["rss_mb_delta"] = round(_rss_mb() - rss0, 0)
        checkpoint("speed")

    if "bq" in tasks:
        done = sum(len(v) for v in bq_vectors)
        bq_vectors.append(encode_docs(bq_texts[done:]))
        docs = np.concatenate(bq_vectors)
        queries = _jsonl(data / "zh_bq_faq" / "queries.jsonl")
        q = encode_queries([x["text"] for x in queries])
        run = _search(q, docs, [x["id"] for x in queries], [d["id"] for d in bq_corpus])
        agg = ir_measures.calc_aggregate([nDCG @ 10, R @ 10], _qrels(data / "zh_bq_faq" / "qrels.tsv"), run)
        out["bq_ndcg@10"] = round(agg[nDCG @ 10], 3)
        out["bq_r@10"] = round(agg[R @ 10], 3)
        checkpoint("bq")

    if "dstc" in tasks:
        corpus = _jsonl(data / "en_dstc10_kgd" / "corpus.jsonl")
        t0 = time.perf_counter()
        docs = encode_docs([f"{d['title']}\n{d['text']}" for d in corpus])
        out["dstc_encode_s"] = round(time.perf_counter() - t0, 1)
        queries = _jsonl(data / "en_dstc10_kgd" / "queries.jsonl")
        q = encode_queries([x["text_with_context"] for x in queries])
        run = _search(q, docs, [x["id"] for x in queries], [d["id"] for d in corpus])
        agg = ir_measures.calc_aggregate(
            [R @ 1, R @ 5, MRR @ 5], _qrels(data / "en_dstc10_kgd" / "qrels.tsv"), run
        )
        out["dstc_r@1"] = round(agg[R @ 1], 3)
        out["dstc_r@5"] = round(agg[R @ 5], 3)
        out["dstc_mrr@5"] = round(agg[MRR @ 5], 3)
        checkpoint("dstc")
    out["env"] = _env()
    return out


def _env() -> dict[str, Any]:
    import torch

    # The load average tells how much the CPU was shared while measuring.
    return {
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="e5-small", help="prepared name, ST directory, or fake[:DIM]")
    p.add_argument("--tasks", default="speed,bq,dstc", help="comma list of speed,bq,dstc")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--models-dir", type=Path, default=None, help="default: ASSIST_HOME/models")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--query-prompt", default=None, help="a named prompt of the model for queries")
    p.add_argument("--document-prompt", default=None, help="a named prompt of the model for documents")
    p.add_argument("--json", type=Path, default=None, help="also write the result to this file")
    args = p.parse_args(argv)
    tasks = {t.strip() for t in args.tasks.split(",") if t.strip()}
    unknown = tasks - {"speed", "bq", "dstc"}
    if unknown:
        p.error(f"unknown tasks: {', '.join(sorted(unknown))}")
    result = bench(args.model, tasks, args.data, args.models_dir, args.batch_size, args.json,
                   query_prompt=args.query_prompt, document_prompt=args.document_prompt)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
