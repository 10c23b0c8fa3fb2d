"""Ingest benchmark: ingest rate vs raw encode rate, unchanged re-ingest, a 100k index build.

    .venv/bin/python bench/ingest.py --json                 # all three parts
    .venv/bin/python bench/ingest.py --parts rate,reingest --repeats 3 --json
    .venv/bin/python bench/ingest.py --parts build100k --json

Parts:

- ``rate``: the zh_bq_faq corpus through ``Indexer.ingest_paths`` (publish, SQLite, edge
  store, real e5) vs ``embedder.embed_documents`` on the very same ``embedding_text``
  strings, in the same process, alternating, ``--repeats`` times in fresh homes. Each
  ingest is instrumented per stage (parse, chunk incl. token counting, DB, dense encode,
  sparse encode, upsert, publish) by wrapping the collaborators, not by editing the indexer.
- ``reingest``: the same corpus again into the same home (nothing changed).
- ``build100k``: the index side of a 100k-chunk build (see ``bench.common.build_index``):
  measured sparse encoding, upsert, HNSW optimisation and on-disk size; the e5 encode
  time of 100k chunks is projected from passages/s measured on real rows.

Results are printed (``--json``: as JSON on stdout); nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    DATA,
    SCRATCH,
    StageTimer,
    bench_settings,
    build_index,
    doc_embedding_text,
    load_corpus,
    machine,
)

CORPUS = "zh_bq_faq"
PROJECTION_SAMPLE = 64  # rows of each other corpus encoded to measure its passages/s


def _instrument(indexer: Any, timer: StageTimer) -> None:
    """Time the indexer's collaborators (instance attributes / module functions)."""
    import kb_ingest.indexing as ix

    for attr, name in (
        ("parse_file", "parse"),
        ("chunk_article", "chunk (incl. token counting)"),
        ("latest_revisions", "db: latest_revisions"),
    ):
        fn = getattr(ix, attr)
        if not hasattr(fn, "__wrapped_bench__"):
            timer.wrap_sync(ix, attr, name)
            getattr(ix, attr).__wrapped_bench__ = fn
    timer.wrap_async(indexer.embedder, "embed_documents", "dense encode (e5)")
    timer.wrap_sync(indexer.sparse, "encode_documents", "sparse encode (jieba)")
    timer.wrap_async(indexer.store, "upsert", "store: upsert staged")
    timer.wrap_async(indexer.store, "existing_ids", "store: existing_ids")
    timer.wrap_async(indexer, "publish", "publish (store activate + db transitions)")
    timer.wrap_async(indexer.store, "activate", "  of which store: activate")
    repo = indexer._articles
    for attr in ("create_revision", "mark_index_state"):
        timer.wrap_sync(repo, attr, f"db: {attr}")


def _unwrap() -> None:
    import kb_ingest.indexing as ix

    for attr in ("parse_file", "chunk_article", "latest_revisions"):
        fn = getattr(ix, attr)
        orig = getattr(fn, "__wrapped_bench__", None)
        if orig is not None:
            setattr(ix, attr, orig)


async def _texts_like_ingest(indexer: Any, corpus: Path) -> list[str]:
    """The ``embedding_text`` strings the indexer embeds for ``corpus`` (same parser, chunker)."""
    from kb_ingest.chunking import embedding_text
    from kb_ingest.parsers import parse_file

    arts = parse_file(corpus, max_bytes=indexer.settings.ingest.max_file_bytes, root=corpus.parent)
    return [embedding_text(c) for a in arts for c in indexer._chunk(a, 1)]


def _corpus_file(limit: int | None) -> Path:
    """The corpus, or its first ``limit`` rows copied to a scratch ``corpus.jsonl``."""
    src = DATA / CORPUS / "corpus.jsonl"
    if not limit:
        return src
    dst = SCRATCH / f"{CORPUS}-{limit}" / "corpus.jsonl"
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, encoding="utf-8") as f:
        rows = [line for line in f if line.strip()][:limit]
    dst.write_text("".join(rows), encoding="utf-8")
    return dst


async def run_rate(repeats: int, profile: bool, limit: int | None = None) -> dict[str, Any]:
    from kb_ingest.indexing import Indexer

    corpus = _corpus_file(limit)
    runs: list[dict[str, Any]] = []
    reingest: list[dict[str, Any]] = []
    texts: list[str] | None = None
    embedder = None
    for r in range(repeats):
        home = SCRATCH / f"ingest-home-{r}"
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        settings = bench_settings(home)
        indexer = Indexer.from_settings(settings)
        if embedder is not None:
            indexer.embedder = embedder  # one model in memory across repeats
        embedder = indexer.embedder
        if texts is None:
            texts = await _texts_like_ingest(indexer, corpus)
            await embedder.embed_documents(texts[:64])  # warm the kernels

        # raw encode of the same strings, through the same async seam the indexer uses
        t0 = time.perf_counter()
        raw = await embedder.embed_documents(texts)
        raw_s = time.perf_counter() - t0
        del raw

        timer = StageTimer()
        _instrument(indexer, timer)
        prof = None
        if profile and r == 0:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        rep = await indexer.ingest_paths([corpus], tenant="bench", publish=True)
        ingest_s = time.perf_counter() - t0
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(SCRATCH / "ingest.prof"))
        _unwrap()
        n = rep.chunks_embedded
        runs.append(
            {
                "chunks": n,
                "articles": rep.articles,
                "errors": len(rep.errors),
                "raw_encode_s": round(raw_s, 2),
                "raw_passages_per_s": round(len(texts) / raw_s, 1),
                "ingest_s": round(ingest_s, 2),
                "ingest_chunks_per_s": round(n / ingest_s, 1),
                "ingest_over_raw_pct": round(100 * (n / ingest_s) / (len(texts) / raw_s), 1),
                "stages": timer.report(ingest_s),
            }
        )

        # re-ingest the unchanged corpus into the same home
        t0 = time.perf_counter()
        rep2 = await indexer.ingest_paths([corpus], tenant="bench", publish=True)
        re_s = time.perf_counter() - t0
        reingest.append(
            {
                "reingest_s": round(re_s, 3),
                "pct_of_full_ingest": round(100 * re_s / ingest_s, 2),
                "chunks_embedded": rep2.chunks_embedded,
                "chunks_skipped": rep2.chunks_skipped,
            }
        )
        await indexer.close()
        # Partial results survive an interrupted run (slow shared machine).
        (SCRATCH / "ingest-partial.json").write_text(json.dumps({"runs": runs, "reingest": reingest}))

    def med(key: str, rows: list[dict[str, Any]]) -> float:
        return round(statistics.median(x[key] for x in rows), 2)

    return {
        "corpus": CORPUS if not limit else f"{CORPUS} (first {limit} rows)",
        "texts": len(texts or []),
        "runs": runs,
        "median": {
            k: med(k, runs) for k in ("raw_passages_per_s", "ingest_chunks_per_s", "ingest_over_raw_pct")
        },
        "target_ingest_over_raw_pct": 90,
        "reingest_runs": reingest,
        "reingest_median_pct": med("pct_of_full_ingest", reingest),
        "reingest_median_s": med("reingest_s", reingest),
        "target_reingest_pct": 2,
    }


async def run_build100k(size: int) -> dict[str, Any]:
    from assist.embedders import make_embedder

    settings = bench_settings(SCRATCH / "build-home")
    embedder: Any = make_embedder(settings)  # the sentence-transformers one: *_sync methods
    embedder.warm_up()
    out = await build_index(size, embedder)
    # Projected encode time of `size` chunks from measured passages/s: zh_bq_faq in full
    # (short questions), a PROJECTION_SAMPLE-row sample of each other corpus (dstc Q&A,
    # long rgb passages), weighted by how many of the `size` points come from each corpus.
    from bench.common import CORPORA

    corpora = {c: load_corpus(c) for c in CORPORA}
    rates = {CORPORA[0]: out["real_encode"]["real_passages_per_s"]}
    for c in CORPORA[1:]:
        sample = [doc_embedding_text(d) for d in corpora[c][:PROJECTION_SAMPLE]]
        t0 = time.perf_counter()
        embedder.embed_documents_sync(sample)
        rates[c] = round(len(sample) / (time.perf_counter() - t0), 1)
    total_rows = sum(len(v) for v in corpora.values())
    mix = {c: round(size * len(corpora[c]) / total_rows) for c in CORPORA}
    projected = sum(mix[c] / rates[c] for c in CORPORA)
    out["projected_encode"] = {
        "passages_per_s_measured": rates,
        "points_per_corpus": mix,
        "projected_e5_encode_s": round(projected),
        "projected_total_build_s": round(projected + out["index_side_total_s"]),
        "note": "PROJECTED, not measured: e5 encode of all points at the measured rates",
    }
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="rate,reingest,build100k")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--limit", type=int, default=0, help="ingest only the first N corpus rows (0: all)")
    ap.add_argument("--profile", action="store_true", help="cProfile the first ingest (SCRATCH/ingest.prof)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {"machine_before": machine()}
    if parts & {"rate", "reingest"}:
        result["ingest"] = await run_rate(args.repeats, args.profile, args.limit or None)
    if "build100k" in parts:
        result["build"] = await run_build100k(args.size)
    result["machine_after"] = machine()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
