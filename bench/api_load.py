"""Bounded load test of the HTTP API on loopback, and its overhead over the pipeline in process.

    python bench/api_load.py --requests 500 --concurrency 50 --json

What it does: ingests the sample knowledge base (examples/kb, tenant ``nova``) into a
temporary ASSIST_HOME (or reuses ``--home``), starts the real app under uvicorn on a free
127.0.0.1 port (a background thread of this process), and sends ``--requests`` requests per
endpoint from ``--concurrency`` concurrent httpx clients to ``/v1/search`` and
``/v1/assist/draft``. Then it runs the same queries through ``AssistPipeline`` in process with
the same concurrency. Reported: p50/p95 latency, error rate, throughput, and the API/in-process
ratio of wall time (target <= 1.3x).

Drafts use ``FakeChatModel`` (a scripted model, no tokens generated), so the draft numbers are
the service's own cost (retrieval, masking, citation checks, storage of the suggestion);
the real model's tokens/s is measured by the vLLM benchmark, not here.
Caveat: client and server share one process (and its GIL) on this small machine, which
inflates the API side; a second machine would measure lower overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUERIES = ["退款多久到账？", "换货需要什么条件？", "NovaBook 14 Pro 保修多久？", "物流延迟怎么补偿？",
           "How long does a refund take?", "How do I reset my NovaWatch S3?", "发票怎么开？",
           "Can I return earbuds after 7 days?", "扫地机器人不充电怎么办", "What is the VIP hotline?"]


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def _summary(lat: list[float], errors: int, n: int, wall: float) -> dict[str, Any]:
    return {"requests": n, "errors": errors, "error_rate": errors / n if n else 0.0,
            "p50_ms": round(_pct(lat, 50) * 1000, 1), "p95_ms": round(_pct(lat, 95) * 1000, 1),
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
            "wall_s": round(wall, 2), "rps": round(n / wall, 1) if wall else None}


async def _run_pool(n: int, concurrency: int, one) -> dict[str, Any]:
    lat: list[float] = []
    errors = 0
    counter = iter(range(n))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            try:
                ok = await one(i)
            except Exception:
                ok = False
            lat.append(time.perf_counter() - t0)
            errors += 0 if ok else 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return _summary(lat, errors, n, time.perf_counter() - t0)


def _settings(home: Path):
    from assist.config import Settings

    models = Path(os.environ.get("ASSIST_TEST_MODELS", REPO / ".assist" / "models"))
    return Settings(_env_file=None, env="test", home=home, models_path=models, tenants_dir=REPO / "examples/tenants",
                    llm={"provider": "fake"}, server={"rate_limit": "1000000/minute"})


def _ingest(settings) -> None:
    from kb_ingest.indexing import Indexer

    async def go() -> None:
        ix = Indexer.from_settings(settings)
        try:
            await ix.ingest_paths([REPO / "examples" / "kb"], tenant="nova", publish=True)
        finally:
            await ix.close()
            ix.db.dispose()

    asyncio.run(go())


def _reply(messages, gen) -> str:
    return "{}" if gen.json_schema else "Refunds take 3-7 business days [1]."


async def _api(base: str, key: str, n: int, conc: int) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120,
                                 limits=limits) as c:
        async def search(i: int) -> bool:
            r = await c.post("/v1/search", json={"query": QUERIES[i % len(QUERIES)]})
            return r.status_code == 200

        async def draft(i: int) -> bool:
            r = await c.post("/v1/assist/draft",
                             json={"turns": [{"role": "customer", "text": QUERIES[i % len(QUERIES)]}]})
            return r.status_code == 200

        await search(0)  # warm-up
        return {"search": await _run_pool(n, conc, search), "draft": await _run_pool(n, conc, draft)}


async def _inprocess(settings, n: int, conc: int) -> dict[str, Any]:
    from assist.llm.fake import FakeChatModel
    from assist.pipeline import AssistPipeline
    from assist.types import Conversation, Turn

    pipe = AssistPipeline.from_settings(settings, llm=FakeChatModel(reply_fn=_reply))
    try:
        async def search(i: int) -> bool:
            await pipe.search(QUERIES[i % len(QUERIES)], tenant="nova")
            return True

        async def draft(i: int) -> bool:
            await pipe.draft(Conversation(tenant="nova", turns=[Turn(role="customer", text=QUERIES[i % len(QUERIES)])]))
            return True

        await search(0)
        return {"search": await _run_pool(n, conc, search), "draft": await _run_pool(n, conc, draft)}
    finally:
        await pipe.close()
        if pipe.db is not None:
            pipe.db.dispose()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=500, help="requests per endpoint")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--home", type=Path, help="an ASSIST_HOME with tenant nova already ingested")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import uvicorn

    from assist.db import Database, KeyRepository
    from assist.llm.fake import FakeChatModel
    from serving.app import create_app

    home = args.home or Path(tempfile.mkdtemp(prefix="assist-bench-"))
    settings = _settings(home)
    t0 = time.perf_counter()
    if args.home is None:
        _ingest(settings)
    ingest_s = time.perf_counter() - t0
    db = Database(settings.resolved_database_url)
    db.migrate()
    key, _ = KeyRepository(db).create("bench", "agent", "nova")
    db.dispose()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, llm=FakeChatModel(reply_fn=_reply)),
                                           host="127.0.0.1", port=port, log_level="warning", access_log=False))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        if not th.is_alive():
            raise SystemExit("the API server did not start")
        time.sleep(0.1)
    try:
        api = asyncio.run(_api(f"http://127.0.0.1:{port}", key, args.requests, args.concurrency))
    finally:
        server.should_exit = True
        th.join(30)
    local = asyncio.run(_inprocess(settings, args.requests, args.concurrency))
    out = {
        "requests_per_endpoint": args.requests, "concurrency": args.concurrency, "llm": "FakeChatModel (scripted)",
        "ingest_s": round(ingest_s, 1), "api": api, "in_process": local,
        "overhead_ratio": {k: round(api[k]["wall_s"] / local[k]["wall_s"], 2) for k in ("search", "draft")},
        "target_ratio": 1.3,
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for where in ("api", "in_process"):
            for k, v in out[where].items():
                print(f"{where:10s} {k:6s} p50 {v['p50_ms']:8.1f} ms  p95 {v['p95_ms']:8.1f} ms  "
                      f"errors {v['error_rate']:.1%}  {v['rps']} req/s")
        print("overhead (API wall / in-process wall):", out["overhead_ratio"])
    return out


if __name__ == "__main__":
    main()
