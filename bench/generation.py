"""Draft generation speed on the embedded model: time to first token and decode tokens/s.

    .venv/bin/python bench/generation.py --json

Uses the embedded server (``assist.llm.local_server.LocalModelServer``: vLLM's CPU build,
qwen2.5-0.5b-instruct) and streams 10 customer-service prompts through
``OpenAICompatibleChatModel.stream``. A server already healthy on ``--port`` is reused
(``LocalModelServer`` does that itself) and left running; one this script starts is
stopped at the end. Do not run it while ``tests/integration`` runs a vLLM server
(``pgrep -f vllm.entrypoints``): two engines on two shared cores measure nothing.

Tokens are counted with the model's own tokenizer on the streamed text; decode rate is
``(tokens - 1) / (t_last_delta - t_first_delta)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MODELS, SCRATCH, bench_settings, machine, percentile  # noqa: E402

PROMPTS = [
    "客户说：我的信用卡还款日是哪天？能不能推迟几天还款？请给客服写一段简短的回复草稿。",
    "客户说：借款申请一直显示审核中，已经三天了，怎么回事？请写一段回复草稿。",
    "客户说：为什么我的额度突然降低了？请写一段礼貌的回复草稿。",
    "客户说：提前还款要收手续费吗？请写一段回复草稿。",
    "客户说：我没有收到验证码，无法登录。请写一段回复草稿。",
    "Customer: Can I bring my dog to the A and B Guest House? Draft a short agent reply.",
    "Customer: What time is check-in at the Grant Hotel? Draft a short agent reply.",
    "Customer: I was charged twice for the same order, I want a refund. Draft a short agent reply.",
    "Customer: Does the restaurant have vegetarian options and free parking? Draft a reply.",
    "Customer: My card was declined abroad, what should I do? Draft a short agent reply.",
]


async def run(port: int, max_tokens: int) -> dict[str, Any]:
    import assist.llm as llm_pkg
    from assist.llm.local_server import LocalModelServer, resolve_model_dir
    from assist.llm.openai_compat import OpenAICompatibleChatModel
    from assist.types import ChatMessage, GenSettings

    llm_pkg.ALLOW_BACKEND_REQUESTS = True  # this script exists to call the backend
    settings = bench_settings(
        SCRATCH / "gen-home",
        # The vLLM virtualenv that scripts/install.sh made next to the prepared models.
        llm={"provider": "embedded", "engine_port": port,
             "engine_python": os.environ.get("ASSIST_LLM__ENGINE_PYTHON",
                                             str(MODELS.parent / "vllm-venv" / "bin" / "python"))},
    )
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(resolve_model_dir(settings)), local_files_only=True)
    server = LocalModelServer(settings)
    t0 = time.perf_counter()
    await server.astart()
    start_s = time.perf_counter() - t0
    model = OpenAICompatibleChatModel(server.base_url, settings.llm.model)
    gen = GenSettings(temperature=0.0, max_tokens=max_tokens, seed=0)
    rows: list[dict[str, Any]] = []
    try:
        async for _ in model.stream(
            [ChatMessage(role="user", content="你好")], settings=GenSettings(max_tokens=4)
        ):
            pass  # warm-up
        for p in PROMPTS:
            t_send = time.perf_counter()
            t_first = t_last = None
            parts = []
            async for delta in model.stream([ChatMessage(role="user", content=p)], settings=gen):
                now = time.perf_counter()
                t_first = t_first or now
                t_last = now
                parts.append(delta)
            text = "".join(parts)
            n = len(tok.encode(text, add_special_tokens=False))
            assert t_first is not None and t_last is not None
            rows.append(
                {
                    "ttft_ms": round((t_first - t_send) * 1000, 1),
                    "tokens": n,
                    "decode_tok_per_s": round((n - 1) / (t_last - t_first), 2)
                    if n > 1 and t_last > t_first
                    else None,
                    "total_s": round(t_last - t_send, 2),
                }
            )
    finally:
        await model.aclose()
        await server.astop()
    ttft: list[float] = [float(r["ttft_ms"]) for r in rows]
    rates: list[float] = [float(r["decode_tok_per_s"]) for r in rows if r["decode_tok_per_s"]]
    return {
        "server_start_or_reuse_s": round(start_s, 1),
        "prompts": len(rows),
        "max_tokens": max_tokens,
        "ttft_ms_p50": round(percentile(ttft, 50), 1),
        "ttft_ms_p95": round(percentile(ttft, 95), 1),
        "decode_tok_per_s_median": round(statistics.median(rates), 2) if rates else None,
        "runs": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8011)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    busy = subprocess.run(["pgrep", "-f", "vllm.entrypoints"], capture_output=True, text=True).stdout.split()
    result: dict[str, Any] = {"machine_before": machine(), "other_vllm_pids": busy}
    result["generation"] = asyncio.run(run(args.port, args.max_tokens))
    result["machine_after"] = machine()
    print(json.dumps(result, ensure_ascii=False, indent=2 if args.json else 1))


if __name__ == "__main__":
    main()
