"""Few-shot routing evaluation (banking77, CLINC150 with out-of-scope).

The router learns only from ``train_fewshot.jsonl`` (classifier and, where the set has
``oos`` examples, the out-of-scope threshold by cross-validation); ``intents.jsonl`` is
only scored. Adapted from ``bench/routing_eval.py``. Vectors are cached under
``HOME/eval/cache`` per embedder and text list, so re-runs cost nothing.

Example:
    >>> out = await evaluate_routing(ctx, Path("../shared/data/en_clinc150_oos"))   # doctest: +SKIP
    >>> out.metrics["oos_recall"]
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from assist.db.evalruns import EvalItemRecord
from assist.embedders.base import Embedder
from assist.routing import OOS_LABEL, EmbeddingRouter
from eval.datasets import read_jsonl
from eval.harness import EvalOutcome, limited, model_ids, rounded


async def embed_cached(embedder: Embedder, texts: list[str], cache_dir: Path, tag: str) -> np.ndarray:
    """``embed_queries`` with an on-disk cache keyed by model id and the exact texts."""
    prompt = getattr(embedder, "query_prompt_name", None) or ""
    key = hashlib.sha1(("\x00".join(texts) + embedder.model_id + prompt).encode()).hexdigest()[:16]
    path = cache_dir / f"{tag}-{key}.npy"
    if path.exists():
        return np.load(path)
    x = np.asarray(await embedder.embed_queries(texts), dtype=np.float32)
    _save(path, x)
    return x


def _save(path: Path, x: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, x)


def routing_metrics(gold: list[str], pred: list[str], *, top_pairs: int = 10) -> dict[str, Any]:
    """Accuracy, macro-F1 (over gold labels, ``oos`` included when present), in-scope
    accuracy, out-of-scope recall/precision and the most confused (gold, predicted) pairs.

    Example:
        >>> m = routing_metrics(["a", "b", "oos"], ["a", "a", "oos"])
        >>> m["accuracy"], m["oos_recall"]
        (0.6667, 1.0)
    """
    from sklearn.metrics import f1_score

    g = np.array(gold)
    p = np.array(pred)
    ins = g != OOS_LABEL
    rej = p == OOS_LABEL
    out: dict[str, Any] = {
        "accuracy": float((g == p).mean()) if len(g) else 0.0,
        "macro_f1": float(f1_score(g, p, labels=sorted(set(gold)), average="macro", zero_division=0)),
        "in_scope_accuracy": float((g[ins] == p[ins]).mean()) if ins.any() else 0.0,
    }
    if (~ins).any():
        out["oos_recall"] = float(rej[~ins].mean())
        out["oos_precision"] = float((~ins[rej]).mean()) if rej.any() else 0.0
    pairs = Counter((a, b) for a, b in zip(gold, pred, strict=True) if a != b)
    out["confused"] = [{"gold": a, "pred": b, "count": c} for (a, b), c in pairs.most_common(top_pairs)]
    return rounded(out)


CURVE_BUDGETS = (0.01, 0.02, 0.03, 0.05, 0.10)


def operating_curve(router: EmbeddingRouter, xte: np.ndarray, gold: list[str],
                    budgets: tuple[float, ...] = CURVE_BUDGETS,
                    texts: list[str] | None = None) -> list[dict[str, float]]:
    """The in-scope accuracy / out-of-scope recall trade-off: for each rejection budget the
    threshold is re-calibrated on the training examples (never on the test rows) and the
    test rows are scored again. Which point to run is a product decision per tenant."""
    curve = []
    for b in budgets:
        router.calibrate_threshold(max_in_scope_rejection=b)
        res = router.predict_vectors(xte, texts)
        pred = [OOS_LABEL if r.out_of_scope else r.label for r in res]
        m = routing_metrics(gold, pred)
        curve.append({"max_in_scope_rejection": b, "threshold": round(router.oos_threshold, 4),
                      "in_scope_accuracy": m["in_scope_accuracy"], "oos_recall": m.get("oos_recall", 0.0),
                      "oos_precision": m.get("oos_precision", 0.0), "accuracy": m["accuracy"]})
    return curve


async def evaluate_routing(ctx: Any, dataset: Path, *, limit: int | None = None, method: str = "logreg",
                           max_in_scope_rejection: float | None = None) -> EvalOutcome:
    """Route every ``intents.jsonl`` text with an :class:`EmbeddingRouter` fitted on
    ``train_fewshot.jsonl``. With ``oos`` training examples the rejection threshold is
    calibrated on the training set (cross-validation), never on the test rows."""
    if max_in_scope_rejection is None:
        max_in_scope_rejection = ctx.settings.routing.max_in_scope_rejection
    train = read_jsonl(dataset / "train_fewshot.jsonl")
    test = limited(read_jsonl(dataset / "intents.jsonl"), limit)
    embedder = ctx.pipeline.routing_embedder
    cache = ctx.settings.home / "eval" / "cache"
    has_oos = any(r["label"] == OOS_LABEL for r in train)
    router = EmbeddingRouter(embedder, [(r["text"], r["label"]) for r in train], method=method,  # type: ignore[arg-type]
                             oos_threshold=None if has_oos else 0.0, label_names=ctx.settings.routing.label_names)
    # The router's examples are the training rows followed by the label-name examples.
    xtr = await embed_cached(embedder, [t for t, _ in router.examples], cache, f"{dataset.name}-train")
    xte = await embed_cached(embedder, [r["text"] for r in test], cache, f"{dataset.name}-test")
    router.fit_vectors(xtr)
    calibration = router.calibrate_threshold(max_in_scope_rejection=max_in_scope_rejection) if has_oos else None
    test_texts = [r["text"] for r in test]
    results = router.predict_vectors(xte, test_texts)
    pred = [OOS_LABEL if r.out_of_scope else r.label for r in results]
    gold = [r["label"] for r in test]
    metrics: dict[str, Any] = {"dataset": dataset.name, "n": len(test), **routing_metrics(gold, pred)}
    if has_oos:
        raw = [r.label for r in results]
        metrics["in_scope_accuracy_no_rejection"] = round(
            float(np.mean([a == b for a, b in zip(gold, raw, strict=True) if a != OOS_LABEL])), 4)
        metrics["oos_threshold"] = round(router.oos_threshold, 4)
        metrics["operating_curve"] = operating_curve(router, xte, gold, texts=test_texts)
    items = [EvalItemRecord(item_id=str(r.get("id", i)), metrics={"correct": float(g == p)},
                            detail={"text": r["text"], "gold": g, "pred": p, "confidence": round(res.confidence, 4),
                                    "category": r.get("domain") or g})
             for i, (r, g, p, res) in enumerate(zip(test, gold, pred, results, strict=True))]
    return EvalOutcome(kind="routing", dataset=dataset.name, metrics=metrics, items=items,
                       config={"method": method, "limit": limit, "lexical_weight": router.lexical_weight,
                               "center": router.center, "max_in_scope_rejection": max_in_scope_rejection,
                               "calibration": calibration.model_dump() if calibration else None},
                       model_ids=model_ids(ctx.settings))
