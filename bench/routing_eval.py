"""Measure few-shot routing on banking77 and CLINC150 (+oos). Temporary: eval/ absorbs it.

Usage:
    HF_HUB_OFFLINE=1 .venv/bin/python bench/routing_eval.py --model e5-small --prompt query
    HF_HUB_OFFLINE=1 .venv/bin/python bench/routing_eval.py --model embeddinggemma --prompt Classification
    HF_HUB_OFFLINE=1 .venv/bin/python bench/routing_eval.py --label-names   # + "card arrival" examples
    # concatenation of normalised embeddings of several models (each with its prompt):
    HF_HUB_OFFLINE=1 .venv/bin/python bench/routing_eval.py --model e5-small+embeddinggemma \
        --prompt query+Classification

Embeddings are cached in /tmp/routing_cache (one .npy per model, prompt and file), so
switching methods or thresholds costs nothing. Everything the router learns (classifier
and out-of-scope threshold) comes from ``train_fewshot.jsonl``; ``intents.jsonl`` is
only scored. The "curve" line is different on purpose: it reads the test set to show
the best out-of-scope recall any threshold could reach at in-scope accuracy >= 0.90,
which is a property of the scores, not a deployable setting.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from sklearn.metrics import accuracy_score, f1_score  # noqa: E402

from assist.config import Settings  # noqa: E402
from assist.routing import OOS_LABEL, EmbeddingRouter  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Settings().resolved_data_dir  # ASSIST_DATA_DIR, default ../shared/data beside the repository
MODELS = REPO / ".assist" / "models"
CACHE = Path("/tmp/routing_cache")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def embed_cached(model: str, prompt: str, texts: list[str], tag: str) -> np.ndarray:
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:10]
    path = CACHE / f"{model}-{prompt}-{tag}-{key}.npy"
    if path.exists():
        return np.load(path)
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(MODELS / model), device="cpu")
    # The prompt is a name from the model's config ("query" for e5, "Classification" for
    # EmbeddingGemma); the same prompt on examples and messages (symmetric task).
    x = st.encode(
        texts, prompt_name=prompt, batch_size=64, normalize_embeddings=True, show_progress_bar=False
    )
    np.save(path, x)
    return x


class _Unused:
    """The router only needs an embedder for ``fit()``/``predict()``; we pass vectors."""


def embed_multi(models: str, prompts: str, texts: list[str], tag: str) -> np.ndarray:
    """``a+b`` models: each model's normalised vectors, concatenated (the router renormalises)."""
    parts = [
        embed_cached(m, p, texts, tag) for m, p in zip(models.split("+"), prompts.split("+"), strict=True)
    ]
    return np.hstack(parts) if len(parts) > 1 else parts[0]


def evaluate(args: argparse.Namespace, dataset: str) -> dict:
    train = read_jsonl(DATA / dataset / "train_fewshot.jsonl")
    test = read_jsonl(DATA / dataset / "intents.jsonl")
    if args.per_intent:
        # A cheaper test set for slow encoders: the first N rows of each in-scope intent (file
        # order) and every out-of-scope row. Same rows for every model, so runs compare.
        seen: dict[str, int] = {}
        subset = []
        for r in test:
            if r["label"] == OOS_LABEL or seen.get(r["label"], 0) < args.per_intent:
                seen[r["label"]] = seen.get(r["label"], 0) + 1
                subset.append(r)
        test = subset
    test_tag = f"{dataset}-test" if not args.per_intent else f"{dataset}-test{args.per_intent}"
    xtr = embed_multi(args.model, args.prompt, [r["text"] for r in train], f"{dataset}-train")
    xte = embed_multi(args.model, args.prompt, [r["text"] for r in test], test_tag)
    train_examples = [(r["text"], r["label"]) for r in train]
    router = EmbeddingRouter(
        _Unused(),  # type: ignore[arg-type]
        train_examples,
        method=args.method,  # type: ignore[arg-type]
        C=args.C,
        k=args.k,
        oos_signal=args.signal,
        label_names=args.label_names,
    )
    extra = [t for t, _ in router.examples[len(train_examples) :]]
    if extra:  # the label-name examples, appended after the training rows
        xtr = np.vstack([xtr, embed_multi(args.model, args.prompt, extra, f"{dataset}-labels")])
    router.fit_vectors(xtr)
    cal = router.calibrate_threshold(max_in_scope_rejection=args.reject)
    results = router.predict_vectors(xte, [r["text"] for r in test])
    gold = np.array([r["label"] for r in test])
    pred_label = np.array([r.label for r in results])
    conf = np.array([r.similarity if args.signal == "similarity" else r.confidence for r in results])
    inscope = gold != OOS_LABEL
    out: dict = {
        "dataset": dataset,
        "model": args.model,
        "prompt": args.prompt,
        "method": args.method,
        "C": args.C,
        "k": args.k,
        "oos_signal": args.signal,
        "label_names": args.label_names,
        "per_intent": args.per_intent,
        "n_test": int(len(test)),
        "accuracy_no_rejection": round(float(accuracy_score(gold[inscope], pred_label[inscope])), 4),
        "macro_f1_no_rejection": round(
            float(f1_score(gold[inscope], pred_label[inscope], average="macro")), 4
        ),
        "calibration": cal.model_dump(),
    }
    if (~inscope).any():
        rejected = conf < cal.threshold
        final = np.where(rejected, OOS_LABEL, pred_label)
        out["calibrated"] = {
            "threshold": round(cal.threshold, 4),
            "in_scope_accuracy": round(float((final[inscope] == gold[inscope]).mean()), 4),
            "oos_recall": round(float(rejected[~inscope].mean()), 4),
            "oos_precision": round(float((~inscope[rejected]).mean()) if rejected.any() else 0.0, 4),
            "overall_accuracy": round(float((final == gold).mean()), 4),
            "macro_f1_with_oos_class": round(float(f1_score(gold, final, average="macro")), 4),
        }
        # Curve point (reads the test labels): best oos recall with in-scope accuracy >= 0.90.
        best = None
        for t in np.unique(conf):
            rej = conf < t
            fin = np.where(rej, OOS_LABEL, pred_label)
            acc = float((fin[inscope] == gold[inscope]).mean())
            if acc >= 0.90:
                rec = float(rej[~inscope].mean())
                if best is None or rec > best[1]:
                    best = (float(t), rec, acc)
        out["curve_oos_recall_at_inscope_acc_0.90"] = (
            {
                "threshold": round(best[0], 4),
                "oos_recall": round(best[1], 4),
                "in_scope_accuracy": round(best[2], 4),
            }
            if best
            else None
        )
        # And the other way round: in-scope accuracy at the first threshold reaching oos recall 0.70.
        at70 = None
        for t in np.unique(conf):
            rej = conf < t
            if rej[~inscope].mean() >= 0.70:
                fin = np.where(rej, OOS_LABEL, pred_label)
                at70 = {
                    "threshold": round(float(t), 4),
                    "in_scope_accuracy": round(float((fin[inscope] == gold[inscope]).mean()), 4),
                }
                break
        out["curve_inscope_acc_at_oos_recall_0.70"] = at70
        from sklearn.metrics import roc_auc_score

        out["oos_auroc"] = round(float(roc_auc_score(~inscope, -conf)), 4)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="e5-small")
    p.add_argument("--prompt", default="query")
    p.add_argument("--method", default="logreg", choices=["logreg", "knn"])
    p.add_argument("--C", type=float, default=100.0)
    p.add_argument("--signal", default="similarity", choices=["similarity", "confidence"])
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--reject", type=float, default=0.05, help="max in-scope rejection for calibration")
    p.add_argument("--label-names", action="store_true", help="add label names as examples")
    p.add_argument("--per-intent", type=int, default=0, help="test on the first N rows per intent + all oos")
    p.add_argument("--datasets", default="en_banking77,en_clinc150_oos")
    args = p.parse_args()
    for ds in args.datasets.split(","):
        print(json.dumps(evaluate(args, ds), ensure_ascii=False))


if __name__ == "__main__":
    main()
