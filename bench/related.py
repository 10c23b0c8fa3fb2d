"""What related content adds to a draft: the same drafts with it off, on from the draft's own
retrieval results only, and on with its extra search (the default). One command::

    .venv/bin/python bench/related.py --json

What it does (under a scratch home, ``ASSIST_BENCH_DIR`` or ``/tmp/assist-bench``):

1. ingests ``examples/kb`` for tenant ``nova`` once (kept between runs);
2. builds the pipeline in process (real e5 embedder, the Qdrant engine, SQLite), draft mode
   ``extractive`` with the scorer choosing evidence (no model call: the draft's own CPU work,
   so the related step is measured against the smallest draft, not hidden behind a model);
3. for each question of ``eval/golden`` (``--questions``), drafts it once per variant, the
   variants' order rotating per question so each sees the same machine load, and records the
   draft's wall time and the related step's own time (the pipeline's ``related`` event);
4. prints medians and p90s per variant, the added time per draft (paired differences with
   the ``off`` draft of the same question) and how many suggestions came.

Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MODELS, REPO, SCRATCH, percentile  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "off": {"related_max": 0},
    "reuse": {"related_max": 3, "related_search": False},
    "search": {"related_max": 3, "related_search": True},
}


async def run(questions: int, warmup: int, home: Path) -> dict[str, Any]:
    from assist.config import Settings
    from assist.llm.fake import FakeChatModel
    from assist.pipeline import AssistPipeline
    from assist.types import Conversation, Turn
    from kb_ingest.indexing import Indexer

    settings = Settings(
        _env_file=None,
        home=home,
        models_path=MODELS,
        tenants_dir=REPO / "examples" / "tenants",
        llm={"provider": "fake"},
        draft={"mode": "extractive", "selector": "scorer"},
    )
    marker = home / "ingested"
    if not marker.exists() and not (home / "assist.db").exists():
        ix = Indexer.from_settings(settings)
        try:
            await ix.ingest_paths([REPO / "examples" / "kb"], tenant="nova", publish=True)
        finally:
            await ix.close()
            ix.db.dispose()
        marker.write_text("nova\n")

    related_s: list[float] = []
    pipe = AssistPipeline.from_settings(settings, llm=FakeChatModel(replies=["unused"]))
    pipe.on_event = lambda name, fields: related_s.append(fields["seconds"]) if name == "related" else None
    items = [json.loads(x) for x in (REPO / "eval" / "golden" / "golden.jsonl").read_text().splitlines() if x]
    items = items[:questions]

    async def draft(item: dict[str, Any], variant: str) -> tuple[float, float | None, int]:
        for k, v in VARIANTS[variant].items():
            setattr(pipe.settings.draft, k, v)
        related_s.clear()
        conv = Conversation(tenant="nova", turns=[Turn(role="customer", text=item["question"])])
        started = time.perf_counter()
        d = await pipe.draft(conv)
        return time.perf_counter() - started, (related_s[0] if related_s else None), len(d.related)

    for item in items[:warmup]:
        for v in VARIANTS:
            await draft(item, v)
    names = list(VARIANTS)
    out: dict[str, dict[str, list[float]]] = {v: {"draft": [], "related": [], "count": []} for v in names}
    for i, item in enumerate(items):
        order = names[i % 3 :] + names[: i % 3]
        for v in order:
            wall, rel, n = await draft(item, v)
            out[v]["draft"].append(wall)
            out[v]["count"].append(n)
            if rel is not None:
                out[v]["related"].append(rel)
    await pipe.close()

    def ms(xs: list[float], p: float) -> float | None:
        return round(percentile(xs, p) * 1000, 1) if xs else None

    summary: dict[str, Any] = {"questions": len(items), "loadavg_end": os.getloadavg(), "variants": {}}
    for v in names:
        d = out[v]
        added = [a - b for a, b in zip(d["draft"], out["off"]["draft"], strict=True)]
        summary["variants"][v] = {
            "draft_ms_p50": ms(d["draft"], 50),
            "draft_ms_p90": ms(d["draft"], 90),
            "related_step_ms_p50": ms(d["related"], 50),
            "related_step_ms_p90": ms(d["related"], 90),
            "added_ms_p50_paired": round(statistics.median(added) * 1000, 1),
            "suggestions_mean": round(statistics.mean(d["count"]), 2),
            "drafts_with_suggestions": sum(1 for c in d["count"] if c),
        }
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--questions", type=int, default=80, help="golden questions to draft (each once per variant)"
    )
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument(
        "--home",
        type=Path,
        default=SCRATCH / "related",
        help="scratch home; one that already holds the ingested sample KB is reused",
    )
    args = ap.parse_args()
    load_start = os.getloadavg()
    summary = asyncio.run(run(args.questions, args.warmup, args.home))
    summary["loadavg_start"] = load_start
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{summary['questions']} drafts per variant; load average {load_start} -> {summary['loadavg_end']}")
    for v, s in summary["variants"].items():
        print(
            f"{v:7s} draft p50 {s['draft_ms_p50']} ms p90 {s['draft_ms_p90']} ms | related step p50 "
            f"{s['related_step_ms_p50']} ms | added p50 {s['added_ms_p50_paired']} ms | "
            f"{s['suggestions_mean']} suggestions/draft"
        )


if __name__ == "__main__":
    Path(SCRATCH).mkdir(parents=True, exist_ok=True)
    main()
