"""Knowledge-grounded dialogue evaluation (DSTC10 track 2 validation, en_dstc10_kgd).

Two decisions per turn, as the product makes them:

* **Detection** (does this turn need the KB?): the retriever's *covered* decision on the
  conversation (best dense cosine >= ``retrieval.min_dense_score``). Precision/recall/F1
  against ``knowledge_seeking``.
* **Selection** (which snippet?): recall@1/@5 and MRR@5 of the hybrid ranking against
  ``knowledge_ids`` on the knowledge-seeking turns (plain recall, not the official
  detection-weighted score).

The conversation window is the last ``retrieval.history_turns`` turns, as in production.

Example:
    >>> out = await evaluate_dialogue(ctx, Path("../shared/data/en_dstc10_kgd"))   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assist.db.evalruns import EvalItemRecord
from assist.types import SearchFilter, Turn
from eval.datasets import dataset_slug, read_jsonl
from eval.harness import EvalOutcome, limited, mean, model_ids, prf, progress, rounded
from eval.retrieval import ensure_corpus

_ROLES = {"U": "customer", "S": "agent"}


def dialogue_turns(row: dict[str, Any]) -> list[Turn]:
    turns = [Turn(role=_ROLES.get(t.get("speaker", "U"), "customer"), text=t["text"])  # type: ignore[arg-type]
             for t in row.get("context") or [] if str(t.get("text", "")).strip()]
    last = str(row.get("last_user_turn") or "").strip()
    if last and (not turns or turns[-1].text != last):
        turns.append(Turn(role="customer", text=last))
    return turns


async def evaluate_dialogue(ctx: Any, dataset: Path, *, limit: int | None = None, reindex: bool = False) -> EvalOutcome:
    rows = limited(read_jsonl(dataset / "dialogues.jsonl"), limit)
    tenant = f"eval-{dataset_slug(dataset)}"
    corpus = await ensure_corpus(ctx, dataset / "corpus.jsonl", tenant, reindex=reindex)
    id_map = corpus["id_map"]
    filters = SearchFilter(tenant=tenant)
    tp = fp = fn = tn = 0
    r1: list[float] = []
    r5: list[float] = []
    rr: list[float] = []
    items = []
    # Per turn: knowledge-seeking?, and the two coverage signals (for AUROC and the CV threshold).
    seeking: list[bool] = []
    dense_signal: list[float] = []
    sparse_signal: list[float] = []
    with progress(len(rows), "dialogue") as advance:
        for row in rows:
            turns = dialogue_turns(row)
            res = await ctx.pipeline.retriever.retrieve(turns[-1].text, filters, turns=turns, top_k=5)
            gold_ks = bool(row.get("knowledge_seeking"))
            pred_ks = res.covered
            tp += gold_ks and pred_ks
            fp += (not gold_ks) and pred_ks
            fn += gold_ks and not pred_ks
            tn += (not gold_ks) and not pred_ks
            seeking.append(gold_ks)
            dense_signal.append(res.top_dense if res.top_dense is not None else 0.0)
            sparse_signal.append(res.top_sparse if res.top_sparse is not None else 0.0)
            m: dict[str, float] = {"detect_ok": float(gold_ks == pred_ks)}
            ranked = list(dict.fromkeys(id_map.get(r.chunk.article_id, r.chunk.article_id) for r in res.chunks))
            if gold_ks and row.get("knowledge_ids"):
                gold = set(row["knowledge_ids"])
                rank = next((i for i, d in enumerate(ranked) if d in gold), None)
                m["r@1"] = float(rank == 0)
                m["r@5"] = float(rank is not None and rank < 5)
                m["mrr@5"] = 1.0 / (rank + 1) if rank is not None and rank < 5 else 0.0
                r1.append(m["r@1"])
                r5.append(m["r@5"])
                rr.append(m["mrr@5"])
            m["score"] = mean(m.values())
            items.append(EvalItemRecord(item_id=row["id"], metrics=m, detail={
                "last_user_turn": turns[-1].text, "knowledge_seeking": gold_ks, "covered": pred_ks,
                "top_dense": res.top_dense, "entity": res.entity, "top5": ranked[:5],
                "gold": row.get("knowledge_ids"), "category": "seeking" if gold_ks else "chit-chat"}))
            advance(1)
    det = prf(tp, fp, fn)
    metrics = {"dataset": dataset.name, "turns": len(rows), "knowledge_seeking": tp + fn,
               "detect_precision": det["precision"], "detect_recall": det["recall"], "detect_f1": det["f1"],
               "detect_accuracy": (tp + tn) / max(1, len(rows)),
               "select_r@1": mean(r1), "select_r@5": mean(r5), "select_mrr@5": mean(rr),
               # Threshold-free: how well each coverage signal separates the two kinds of turn.
               "detect_auroc_dense": _auroc(seeking, dense_signal),
               "detect_auroc_sparse": _auroc(seeking, sparse_signal),
               **_cv_detection(seeking, dense_signal),
               "detection_rule": f"retriever covered (top dense cosine >= {ctx.settings.retrieval.min_dense_score})"}
    return EvalOutcome(kind="dialogue", dataset=dataset.name, metrics=rounded(metrics), items=items,
                       config={"limit": limit, "tenant": tenant, "history_turns": ctx.settings.retrieval.history_turns,
                               "min_dense_score": ctx.settings.retrieval.min_dense_score},
                       model_ids=model_ids(ctx.settings))


def _auroc(gold: list[bool], score: list[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(gold, score)) if len(set(gold)) == 2 else None


def _cv_detection(gold: list[bool], score: list[float], folds: int = 5) -> dict[str, float]:
    """Detection as a deployment would calibrate it: the dense threshold that maximises F1
    on four fifths of the turns, applied to the other fifth (5-fold, turns in file order).
    Tells apart "the signal is weak" from "the default threshold belongs to another KB"."""
    if len(gold) < folds * 2 or len(set(gold)) < 2:
        return {}
    g = np.array(gold)
    x = np.array(score)
    pred = np.zeros(len(g), dtype=bool)
    thresholds = []
    for f in range(folds):
        test = np.arange(len(g)) % folds == f
        cand = np.unique(x[~test])
        f1s = [prf_arrays(g[~test], x[~test] >= t)["f1"] for t in cand]
        t = float(cand[int(np.argmax(f1s))])
        thresholds.append(t)
        pred[test] = x[test] >= t
    m = prf_arrays(g, pred)
    return {"detect_f1_cv": m["f1"], "detect_precision_cv": m["precision"], "detect_recall_cv": m["recall"],
            "detect_threshold_cv": float(np.median(thresholds))}


def prf_arrays(gold: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = int((gold & pred).sum())
    return prf(tp, int((~gold & pred).sum()), int((gold & ~pred).sum()))
