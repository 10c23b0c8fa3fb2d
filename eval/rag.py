"""RAG answer evaluation with the RGB protocol (zh_rgb_rag), through our own prompts.

Each question gets 5 passages: ``round(5 * noise)`` negatives and the rest positives
(first ones in file order, no sampling). Passages become retrieved chunks, go through
:func:`~assist.drafting.make_passages` and :class:`~assist.drafting.DraftWriter` (the
production prompt path), and the reply is correct when every element of ``answers``
appears in it (an inner list = aliases; lower-cased substring match as RGB's checker).

Before calling the model, the same covered decision as production is applied (best
dense cosine of the question against the passages vs ``retrieval.min_dense_score``):
"not covered" means our drafting would refuse, so it counts as a refusal. With only
negatives, refusing is correct (RGB's negative rejection).

Example:
    >>> out = await evaluate_rag(ctx, Path("../shared/data/zh_rgb_rag"), limit=5)   # doctest: +SKIP
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assist.db.evalruns import EvalItemRecord
from assist.drafting import DraftWriter, make_passages
from assist.errors import LLMError
from assist.prompts import PromptLibrary
from assist.types import ArticleType, BlockKind, Chunk, RetrievedChunk, Turn
from eval.datasets import iter_jsonl, read_jsonl
from eval.harness import EvalOutcome, limited, mean, model_ids, progress, rounded

RGB_REFUSAL = "文档信息不足，因此我无法基于提供的文档回答该问题。"
# Phrases that mark a refusal in a reply (RGB's expected text and what our prompts say).
REFUSAL_MARKERS = ("信息不足", "无法基于", "无法回答", "不能回答", "没有相关", "暂时没有", "没有提到", "未提及",
                   "没有提供", "insufficient information", "could not find", "cannot answer", "not in our knowledge")


def answer_ok(reply: str, answers: Sequence[Any]) -> bool:
    """RGB's check: every element appears in the reply (an inner list: any alias).

    Example:
        >>> answer_ok("东盟和中国都在内", ["东盟", ["中国", "China"]])
        True
    """
    text = reply.lower()
    if not answers:
        return False
    for a in answers:
        aliases = a if isinstance(a, list) else [a]
        if not any(str(x).lower() in text for x in aliases):
            return False
    return True


def is_refusal(reply: str) -> bool:
    return any(m.lower() in reply.lower() for m in REFUSAL_MARKERS)


def _as_list(v: Any) -> list[Any]:
    if isinstance(v, str):
        try:
            parsed = ast.literal_eval(v)
            return parsed if isinstance(parsed, list) else [v]
        except (ValueError, SyntaxError):
            return [v]
    return list(v or [])


def _chunk(i: int, title: str, text: str) -> RetrievedChunk:
    return RetrievedChunk(chunk=Chunk(id=f"rgb-{i}", tenant="eval", article_id=f"passage-{i}", revision=1,
                                      chunk_index=0, text=text, title=title, kind=BlockKind.TEXT,
                                      type=ArticleType.MANUAL, language="zh"), score=1.0)


def mix(pos: Sequence[str], neg: Sequence[str], noise: float, k: int = 5) -> list[str]:
    """RGB mix: ``round(k*noise)`` negatives, positives fill the rest (negatives make up a
    shortfall of positives). Positives first; order is fixed for reproducibility."""
    n_neg = min(len(neg), round(k * noise))
    n_pos = min(len(pos), k - n_neg)
    n_neg = min(len(neg), k - n_pos)
    return list(pos[:n_pos]) + list(neg[:n_neg])


class RagRunner:
    """Answers a question from given passages the way production drafting does."""

    def __init__(self, ctx: Any, llm: Any, *, language: str = "zh") -> None:
        self.ctx = ctx
        self.writer = DraftWriter(llm=llm, prompts=PromptLibrary(), company=ctx.pipeline.company)
        self.language = language
        self.min_score = ctx.settings.retrieval.min_dense_score

    async def answer(self, question: str, passages: Sequence[str]) -> dict[str, Any]:
        emb = self.ctx.pipeline.embedder
        q = await emb.embed_query(question)
        docs = await emb.embed_documents(list(passages)) if passages else []
        top = max((sum(a * b for a, b in zip(q, d, strict=True)) for d in docs), default=0.0)
        if top < self.min_score:
            return {"reply": "", "status": "not_covered", "top_dense": top}
        chunks = [_chunk(i, "", p) for i, p in enumerate(passages)]
        ps, _ = make_passages(chunks)
        try:
            reply = await self.writer.generate([Turn(role="customer", text=question)], ps, self.language, style=[])
        except LLMError as e:
            return {"reply": "", "status": "no_draft", "top_dense": top, "error": e.message}
        return {"reply": reply, "status": "drafted", "top_dense": top}


async def evaluate_rag(ctx: Any, dataset: Path, llm: Any, *, limit: int | None = 20,
                       noise: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8), subsets: bool = True) -> EvalOutcome:
    """Accuracy per noise ratio, rejection rate (negatives only), and, where present,
    integration (``qa_int``) and counterfactual (``qa_fact``) accuracy."""
    corpus = {r["id"]: r for r in iter_jsonl(dataset / "corpus.jsonl")}
    rows = limited(read_jsonl(dataset / "qa.jsonl"), limit)
    runner = RagRunner(ctx, llm)

    def text(pid: str) -> str:
        r = corpus[pid]
        return f"{r.get('title', '')}\n{r.get('text', '')}".strip()

    items: list[EvalItemRecord] = []
    acc: dict[str, list[float]] = {f"{n:.1f}": [] for n in noise}
    refused: list[float] = []
    total = len(rows) * (len(noise) + 1)
    with progress(total, "rag") as advance:
        for row in rows:
            pos = [text(p) for p in row["positive_ids"]]
            neg = [text(p) for p in row["negative_ids"]]
            m: dict[str, float] = {}
            detail: dict[str, Any] = {"question": row["question"], "answers": row["answers"], "category": "qa"}
            for n in noise:
                out = await runner.answer(row["question"], mix(pos, neg, n))
                ok = float(answer_ok(out["reply"], row["answers"]))
                acc[f"{n:.1f}"].append(ok)
                m[f"acc@noise{n:.1f}"] = ok
                detail[f"reply@{n:.1f}"] = out["reply"][:400] or out["status"]
                advance(1)
            out = await runner.answer(row["question"], neg[:5])
            r = float(out["status"] == "not_covered" or is_refusal(out["reply"]))
            refused.append(r)
            m["rejected"] = r
            detail["reply@negatives"] = out["reply"][:400] or out["status"]
            m["score"] = mean(m.values())
            items.append(EvalItemRecord(item_id=row["id"], metrics=m, detail=detail))
            advance(1)
    metrics: dict[str, Any] = {"dataset": dataset.name, "questions": len(rows),
                               **{f"accuracy@noise{k}": mean(v) for k, v in acc.items()},
                               "rejection_rate": mean(refused)}
    if subsets and (dataset / "qa_int.jsonl").exists():
        ok_int = []
        for row in limited(read_jsonl(dataset / "qa_int.jsonl"), limit):
            groups = _as_list(row.get("positive_groups"))
            passages = [g[0] if isinstance(g, list) and g else str(g) for g in groups][:5]
            negs = _as_list(row.get("negatives"))
            passages += [str(x) for x in negs[: max(0, 5 - len(passages))]]
            out = await runner.answer(row["question"], passages)
            ok = float(answer_ok(out["reply"], _as_list(row["answers"])))
            ok_int.append(ok)
            items.append(EvalItemRecord(item_id=row["id"], metrics={"integration_ok": ok, "score": ok},
                                        detail={"question": row["question"], "category": "integration",
                                                "reply": out["reply"][:400] or out["status"]}))
        metrics["integration_accuracy"] = mean(ok_int)
    if subsets and (dataset / "qa_fact.jsonl").exists():
        true_ok, fake_used = [], []
        for row in limited(read_jsonl(dataset / "qa_fact.jsonl"), limit):
            wrong = [str(x) for x in _as_list(row.get("positive_wrong"))][:5]
            out = await runner.answer(row["question"], wrong)
            reply = out["reply"]
            # Counterfactual: the passages state a false fact; repeating it is the failure.
            used = float(str(row.get("fake_answer", "\x00")) in reply)
            fake_used.append(used)
            true_ok.append(float(str(row.get("answer", "\x00")) in reply))
            items.append(EvalItemRecord(item_id=row["id"], metrics={"fake_repeated": used, "score": 1.0 - used},
                                        detail={"question": row["question"], "category": "counterfactual",
                                                "reply": reply[:400] or out["status"]}))
        metrics["counterfactual_fake_rate"] = mean(fake_used)
        metrics["counterfactual_true_rate"] = mean(true_ok)
    return EvalOutcome(kind="rag", dataset=dataset.name, metrics=rounded(metrics), items=items,
                       config={"limit": limit, "noise": list(noise), "passages": 5,
                               "min_dense_score": runner.min_score},
                       model_ids=model_ids(ctx.settings, llm=True) | {"llm": getattr(llm, "model_id", None)})
