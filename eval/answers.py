"""Answer quality on the golden set: our drafts scored with ragas (see ragas_adapter).

Each answerable golden item is drafted through :meth:`AssistPipeline.draft` (retrieval,
curated-answer match or LLM draft), and ragas judges faithfulness to the retrieved
contexts, relevancy to the question, and context precision/recall against the reference.

Example:
    >>> out = await evaluate_answers(ctx, Path("eval/golden"), llm, limit=3)   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assist.db.evalruns import EvalItemRecord
from assist.types import Conversation
from eval.harness import EvalOutcome, limited, mean, model_ids, progress, rounded
from eval.ragas_adapter import METRICS, AnswerSample, JudgeConfig, ragas_scores
from eval.retrieval import load_golden


def judge_config(ctx: Any, llm: Any) -> JudgeConfig:
    """The judge: ``settings.llm.judge_model`` (default: the drafting model) on the same
    OpenAI-compatible endpoint as the drafting model."""
    s = ctx.settings.llm
    base_url = getattr(llm, "base_url", None) or s.base_url or f"http://127.0.0.1:{s.engine_port}/v1"
    model = s.judge_model or getattr(llm, "model_id", None) or s.model
    return JudgeConfig(base_url=base_url, model=model, api_key=s.api_key.get_secret_value() or None,
                       timeout_s=s.timeout_s)


async def evaluate_answers(ctx: Any, dataset: Path, llm: Any, *, limit: int | None = 5) -> EvalOutcome:
    items, tenant = load_golden(dataset)
    items = limited([i for i in items if i.expect == "answer" and i.reference], limit)
    samples: list[AnswerSample] = []
    statuses: list[str] = []
    with progress(len(items), "drafts") as advance:
        for it in items:
            draft = await ctx.pipeline.draft(Conversation(tenant=tenant, turns=it.turns))
            statuses.append(draft.status)
            samples.append(AnswerSample(user_input=it.turns[-1].text, response=draft.text or "",
                                        retrieved_contexts=[s.chunk.text for s in draft.sources] or [""],
                                        reference=it.reference))
            advance(1)
    judge = judge_config(ctx, llm)
    scores = await ragas_scores(samples, judge=judge, embedder=ctx.pipeline.embedder)
    records = [EvalItemRecord(item_id=it.id, metrics={**sc, "score": mean(sc.values()) if sc else 0.0},
                              detail={"question": s.user_input, "response": s.response[:500], "status": st,
                                      "category": it.category, "language": it.language})
               for it, s, sc, st in zip(items, samples, scores, statuses, strict=True)]
    metrics: dict[str, Any] = {"dataset": "golden-answers", "items": len(items)}
    for name in METRICS:
        vals = [sc[name] for sc in scores if name in sc]
        metrics[name] = mean(vals) if vals else None  # None: the judge scored no item
        metrics[f"{name}_scored"] = len(vals)
    metrics["curated_share"] = mean(float(s == "curated") for s in statuses)
    metrics["judge"] = judge.model
    metrics["note"] = "a 0.5B judge only proves the pipeline runs; use a strong judge for real numbers"
    return EvalOutcome(kind="answers", dataset="golden-answers", metrics=rounded(metrics), items=records,
                       config={"limit": limit, "tenant": tenant, "judge_base_url": judge.base_url},
                       model_ids=model_ids(ctx.settings, llm=True) | {"judge": judge.model})
