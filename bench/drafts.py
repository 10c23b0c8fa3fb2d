"""Drafts on the embedded model: our draft path against a plain LangChain RAG chain, and a
bounded load run with load shedding. One command, one run, the same questions for both::

    .venv/bin/python bench/drafts.py --port 8031 --questions 20 --json

What it does (everything under a scratch home, ``ASSIST_BENCH_DIR`` or ``/tmp/assist-bench``):

1. ingests ``examples/kb`` for tenant ``nova`` (the sample knowledge base), keeping the
   chunks the indexer makes;
2. starts (or reuses) the embedded vLLM CPU server on ``--port`` and the service in this
   process (uvicorn on a free loopback port), draft mode ``extractive``;
3. times the first draft after start and then, per question, **our draft** (``POST
   /v1/assist/draft`` over HTTP: retrieval, evidence selection by the model, claim check)
   and **the chain** (langchain-qdrant's ``QdrantVectorStore`` retriever over the same
   chunks with the same e5 embeddings, a prompt, ``ChatOpenAI`` on the same vLLM server),
   interleaved so both see the same machine load;
4. scores both on the golden set's questions (``eval/golden``): an answerable item is
   correct when the reply contains the reference's key facts (its numbers and quoted
   terms, normalised; without any, half of the reference's character bigrams), an
   unanswerable one when the reply declines;
5. load: ``--load 1,4,16`` concurrent drafters, each level a fixed number of requests
   (``--load-requests``), reporting p50/p95 of the answered drafts and the 503 count;
6. the model server's idle CPU (psutil over its process group) after ``--idle-wait`` s.

The model server is stopped at the end if this script started it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MODELS, REPO, SCRATCH, bench_settings, machine, percentile  # noqa: E402

TENANT = "nova"
CHAIN_PROMPT = {
    "zh": ("你是客服助手。只根据下面的资料回答顾客的问题，简短作答；资料里没有答案时只回答：资料中没有相关信息。\n\n"
           "资料：\n{context}\n\n顾客问题：{question}\n回答："),
    "en": ("You are a customer-service assistant. Answer the customer's question only from the passages "
           "below, briefly; if they do not contain the answer, reply only: The passages do not cover this.\n\n"
           "Passages:\n{context}\n\nCustomer question: {question}\nAnswer:"),
}
DECLINE = ("资料中没有", "没有相关信息", "do not cover", "does not cover", "not covered", "无法", "没有找到",
           "暂无", "cannot find", "no information", "知识库中没有", "未涉及", "not_covered")


# --------------------------------------------------------------------------- scoring
def norm(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in t if ch.isalnum())


def key_facts(reference: str) -> list[str]:
    """The reference's checkable facts: numbers (``3-7``, ``30``) and quoted terms."""
    ref = unicodedata.normalize("NFKC", reference)
    facts = re.findall(r"\d+(?:\s*[-–~]\s*\d+)?", ref)
    facts += re.findall(r"[“\"「](.+?)[”\"」]", ref)
    return [norm(f) for f in dict.fromkeys(facts) if norm(f)]


def correct(reply: str, item: dict[str, Any], declined: bool) -> bool:
    if item["expect"] == "not_covered":
        return declined
    if declined or not reply.strip():
        return False
    got = norm(reply)
    facts = key_facts(item["reference"])
    if facts:
        return all(f in got for f in facts)
    ref = norm(item["reference"])
    grams = {ref[i:i + 2] for i in range(len(ref) - 1)}
    return bool(grams) and sum(g in got for g in grams) / len(grams) >= 0.5


def chain_declined(reply: str) -> bool:
    low = reply.lower()
    return any(p in low for p in DECLINE)


def golden_questions(n: int) -> list[dict[str, Any]]:
    """``n`` golden items, zh and en alike: answerable ones and ~1 in 5 unanswerable."""
    rows = [json.loads(line) for line in open(REPO / "eval" / "golden" / "golden.jsonl", encoding="utf-8")]
    out: list[dict[str, Any]] = []
    for lang in ("zh", "en"):
        ans = [r for r in rows if r["language"] == lang and r["expect"] == "answer"]
        neg = [r for r in rows if r["language"] == lang and r["expect"] == "not_covered"]
        k_neg = max(1, n // 10)
        k_ans = n // 2 - k_neg
        out += ans[:: max(1, len(ans) // k_ans)][:k_ans] + neg[:k_neg]
    return out


def stats(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0}
    return {"n": len(seconds), "p50_s": round(percentile(seconds, 50), 3),
            "p95_s": round(percentile(seconds, 95), 3), "median_s": round(statistics.median(seconds), 3),
            "max_s": round(max(seconds), 3)}


# --------------------------------------------------------------------------- setup
def ingest(settings: Any) -> list[Any]:
    from kb_ingest.indexing import Indexer

    chunks: list[Any] = []

    async def run() -> None:
        ix = Indexer.from_settings(settings)
        chunk0 = ix._chunk

        def keep(art: Any, revision: int) -> list[Any]:
            out = chunk0(art, revision)
            chunks.extend(out)
            return out

        ix._chunk = keep  # type: ignore[method-assign]
        try:
            report = await ix.ingest_paths([REPO / "examples" / "kb"], tenant=TENANT, publish=True)
            assert report.articles > 10, report
        finally:
            await ix.close()
            ix.db.dispose()

    asyncio.run(run())
    return chunks


class Service:
    """The app in a uvicorn server on a loopback port, in a background thread."""

    def __init__(self, settings: Any) -> None:
        import socket

        import uvicorn

        from assist.db import Database, KeyRepository
        from serving.app import create_app

        db = Database(settings.resolved_database_url)
        self.key, _ = KeyRepository(db).create("bench", "agent", TENANT)
        db.dispose()
        self.app = create_app(settings)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Service:
        self.thread.start()
        deadline = time.monotonic() + 600
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


class Chain:
    """The plain LangChain RAG chain: Qdrant retriever (same chunks, same e5), prompt, ChatOpenAI."""

    def __init__(self, chunks: list[Any], embedder: Any, base_url: str, model: str, top_k: int) -> None:
        from langchain_core.documents import Document
        from langchain_core.embeddings import Embeddings
        from langchain_openai import ChatOpenAI
        from langchain_qdrant import QdrantVectorStore

        class E5(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return asyncio.run(embedder.embed_documents(texts))

            def embed_query(self, text: str) -> list[float]:
                return asyncio.run(embedder.embed_query(text))

        docs = [Document(page_content=c.text, metadata={"article_id": c.article_id, "language": c.language})
                for c in chunks]
        self.store = QdrantVectorStore.from_documents(docs, E5(), location=":memory:", collection_name="chain")
        self.k = top_k
        self.llm = ChatOpenAI(base_url=base_url, api_key="not-needed", model=model, temperature=0.0,
                              max_tokens=200, timeout=120, max_retries=0)

    def answer(self, question: str, language: str) -> str:
        from langchain_core.prompts import PromptTemplate

        docs = self.store.as_retriever(search_kwargs={"k": self.k}).invoke(question)
        context = "\n\n".join(f"[{i + 1}] {d.page_content}" for i, d in enumerate(docs))
        prompt = PromptTemplate.from_template(CHAIN_PROMPT[language])
        return str((prompt | self.llm).invoke({"context": context, "question": question}).content)


# --------------------------------------------------------------------------- runs
def our_draft(client: Any, question: str) -> tuple[float, int, dict[str, Any]]:
    t0 = time.perf_counter()
    r = client.post("/v1/assist/draft", json={"turns": [{"role": "customer", "text": question}]})
    dt = time.perf_counter() - t0
    return dt, r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else {})


async def load_level(url: str, key: str, questions: list[str], concurrency: int, total: int) -> dict[str, Any]:
    import httpx

    lat_ok: list[float] = []
    lat_shed: list[float] = []
    other: dict[int, int] = {}
    retry_after: list[int] = []
    queue = list(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            i = queue.pop()
            t0 = time.perf_counter()
            r = await client.post("/v1/assist/draft", json={"turns": [{"role": "customer",
                                                                       "text": questions[i % len(questions)]}]})
            dt = time.perf_counter() - t0
            if r.status_code == 200:
                lat_ok.append(dt)
            elif r.status_code in (429, 503):
                lat_shed.append(dt)
                retry_after.append(int(r.headers.get("Retry-After", "0")))
            else:
                other[r.status_code] = other.get(r.status_code, 0) + 1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=300) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return {"concurrency": concurrency, "requests": total, "answered": stats(lat_ok), "shed": len(lat_shed),
            "shed_max_wait_s": round(max(lat_shed), 3) if lat_shed else None,
            "retry_after_s": sorted(set(retry_after)), "other_statuses": other,
            "wall_s": round(time.perf_counter() - started, 1)}


def idle_cpu(pid: int, seconds: float) -> dict[str, Any]:
    """CPU percent (of one core) of the server's process group over ``seconds``."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return {"error": "server process not found"}
    t0 = {p.pid: sum(p.cpu_times()[:2]) for p in procs}
    time.sleep(seconds)
    per: dict[str, float] = {}
    for p in procs:
        try:
            used = sum(p.cpu_times()[:2]) - t0[p.pid]
            per[f"{p.pid}:{p.name()}"] = round(100 * used / seconds, 1)
        except psutil.Error:
            continue
    return {"seconds": seconds, "total_percent": round(sum(per.values()), 1), "per_process": per}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=int(os.environ.get("ASSIST_LLM__ENGINE_PORT", "8031")))
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--load", default="1,4,16", help="concurrency levels")
    ap.add_argument("--load-requests", type=int, default=16, help="requests per load level")
    ap.add_argument("--idle-wait", type=float, default=120.0, help="seconds idle before the idle-CPU probe")
    ap.add_argument("--home", type=Path, help="reuse a home from an earlier run (its knowledge base is "
                    "not ingested again; the chain comparison then needs --skip-compare)")
    ap.add_argument("--skip-compare", action="store_true", help="only the load run and the idle probe")
    ap.add_argument("--load-status", default="", help="load with the questions whose draft has this status "
                    "(e.g. drafted: only model-bound drafts), from one pass over the questions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.home and not args.skip_compare:
        ap.error("--home needs --skip-compare (the chain is built from the chunks an ingest makes)")

    import httpx

    import assist.llm as llm_pkg
    from assist.llm.local_server import LocalModelServer

    llm_pkg.ALLOW_BACKEND_REQUESTS = True
    home = args.home or Path(tempfile.mkdtemp(prefix="drafts-", dir=SCRATCH if SCRATCH.exists() else None))
    settings = bench_settings(
        home, tenants_dir=REPO / "examples" / "tenants",
        llm={"provider": "embedded", "engine_port": args.port,
             "engine_python": os.environ.get("ASSIST_LLM__ENGINE_PYTHON",
                                             str(MODELS.parent / "vllm-venv" / "bin" / "python"))},
        draft={"mode": "extractive"},
        server={"rate_limit": "100000/minute"},
    )
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "command": "python " + " ".join(sys.argv), "machine_before": machine(),
                              "load_average_before": os.getloadavg()}
    items = golden_questions(args.questions)
    t0 = time.perf_counter()
    chunks = [] if args.home else ingest(settings)
    result["ingest"] = {"chunks": len(chunks), "seconds": round(time.perf_counter() - t0, 1), "home": str(home)}

    server = LocalModelServer(settings)
    t0 = time.perf_counter()
    server.start()
    result["model_server"] = {"start_or_reuse_s": round(time.perf_counter() - t0, 1),
                              "reused": server.startup_s is None, "threads": server.threads}
    try:
        with Service(settings) as svc, httpx.Client(base_url=svc.url, timeout=300,
                                                   headers={"Authorization": f"Bearer {svc.key}"}) as client:
            first = our_draft(client, items[0]["question"])[0]
            result["first_draft_after_start_s"] = round(first, 2)
            if not args.skip_compare:
                compare(result, client, svc, server, chunks, items, settings, first)
            qs = [it["question"] for it in items if it["expect"] == "answer"]
            if args.load_status:
                qs = [q for q in qs if our_draft(client, q)[2].get("status") == args.load_status] or qs
                result["load_questions"] = qs
            result["load"] = []
            for level in [int(x) for x in args.load.split(",") if x.strip()]:
                result["load"].append(asyncio.run(load_level(svc.url, svc.key, qs, level, args.load_requests)))
            gate = getattr(svc.app.state, "admission", None)
            if gate is not None:
                result["admission"] = {"max_concurrency": gate.max_concurrency, "max_queue": gate.max_queue,
                                       "queue_timeout_s": gate.queue_timeout_s, **gate.stats.__dict__}
            if server._proc is not None:
                result["idle_cpu_right_after"] = idle_cpu(server._proc.pid, 15)
                time.sleep(max(0.0, args.idle_wait))
                result["idle_cpu_after_wait"] = {"waited_s": args.idle_wait, **idle_cpu(server._proc.pid, 30)}
    finally:
        server.stop()
    result["load_average_after"] = os.getloadavg()
    result["machine_after"] = machine()
    out = json.dumps(result, ensure_ascii=False, indent=2 if args.json else None)
    (home / "drafts.json").write_text(out)
    print(out)


def compare(result: dict[str, Any], client: Any, svc: Service, server: Any, chunks: list[Any],
            items: list[dict[str, Any]], settings: Any, first: float) -> None:
    """Our draft and the chain, interleaved, on the same questions."""
    pipe = svc.app.state.pipeline
    chain = Chain(chunks, pipe.embedder, server.base_url, server.served_model_name,
                  settings.retrieval.draft_passages)
    chain.answer(items[0]["question"], items[0]["language"])  # its own warm-up
    ours_s: list[float] = []
    chain_s: list[float] = []
    rows: list[dict[str, Any]] = []
    for it in items:
        dt, status, body = our_draft(client, it["question"])
        text = str(body.get("display_text") or body.get("text") or "")
        declined = body.get("status") in ("not_covered", "no_draft")
        ours_s.append(dt)
        t1 = time.perf_counter()
        ctext = chain.answer(it["question"], it["language"])
        chain_s.append(time.perf_counter() - t1)
        rows.append({"id": it["id"], "expect": it["expect"], "ours_s": round(dt, 2),
                     "ours_status": body.get("status", status), "ours_correct": correct(text, it, declined),
                     "chain_s": round(chain_s[-1], 2),
                     "chain_correct": correct(ctext, it, chain_declined(ctext)),
                     "ours": text[:160], "chain": ctext[:160]})
    o95, c95 = percentile(ours_s, 95), percentile(chain_s, 95)
    result["ours"] = {**stats(ours_s), "correct": sum(r["ours_correct"] for r in rows), "of": len(rows)}
    result["chain"] = {**stats(chain_s), "correct": sum(r["chain_correct"] for r in rows), "of": len(rows)}
    result["ratio_p95_ours_over_chain"] = round(o95 / c95, 3) if c95 else None
    result["ratio_median_ours_over_chain"] = round(statistics.median(ours_s) / statistics.median(chain_s), 3)
    result["first_over_warm_same_question"] = round(first / ours_s[0], 2)
    result["by_status"] = {st: stats([r["ours_s"] for r in rows if r["ours_status"] == st])
                           for st in sorted({str(r["ours_status"]) for r in rows})}
    result["rows"] = rows


if __name__ == "__main__":
    main()
