"""``assist eval satisfaction``: customer-satisfaction prediction measured on STC-3.

The dataset (``zh_stc3_dialogues``: 3,700 Weibo customer-helpdesk dialogues, each rated by 19
annotators on S = customer satisfaction, -2..2) gives the target: the mean annotated S. Scored
with 5-fold cross-validation (the same folds for every predictor):

* ``trivial``: the training folds' mean S for every dialogue (its annotator distribution for NMD);
* ``lexicon``: the last customer turn's lexicon sentiment (:class:`assist.sentiment.SentimentAnalyzer`),
  mapped to S by a linear fit on the training folds;
* ``transparent``: the ops page's rule-based score (:func:`assist.ops.satisfaction.predict`) from
  what the text alone shows (mood, trend, repeats), linearly calibrated the same way;
* ``model``: ridge regression on the transparent features (:func:`assist.ops.satisfaction.text_features`)
  plus character 1-3-gram TF-IDF of the customer's and the helpdesk's turns (scikit-learn).

Metrics: Spearman and MAE against the mean S, and the set's official NMD (normalised match
distance between the predicted and the annotators' distribution over -2..2; lower is
better). A point prediction becomes a distribution as a discretised normal around it, with
the training folds' mean annotator spread.

Usage:
    assist eval satisfaction --dataset ../shared/data/zh_stc3_dialogues --json
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

__all__ = ["evaluate", "nmd", "satisfaction_command"]

BINS = np.array([-2, -1, 0, 1, 2], dtype=float)
ANCHORS = {"stc3_lstm_bow_baseline_nmd_S": 0.0783,
           "note": "organisers' LSTM+BoW baseline on part of the STC-3 test set (dataset README); "
                   "ours is cross-validated on the training set, so not directly comparable"}


def load(dataset: Path) -> list[dict[str, Any]]:
    path = dataset / "dialogues.jsonl" if dataset.is_dir() else dataset
    if not path.exists():
        raise typer.BadParameter(f"{path} not found: pass the folder holding dialogues.jsonl")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def distribution(raw: list[int]) -> np.ndarray:
    counts = np.array([sum(1 for x in raw if x == b) for b in BINS], dtype=float)
    return counts / max(1.0, counts.sum())


def nmd(p: np.ndarray, q: np.ndarray) -> float:
    """Normalised match distance of two distributions over the ordered bins (STC-3 ``eval.py``)."""
    return float(np.abs(np.cumsum(p) - np.cumsum(q)).sum() / (len(p) - 1))


def _spread_dist(mean: float, sigma: float) -> np.ndarray:
    w = np.exp(-0.5 * ((BINS - mean) / max(sigma, 1e-3)) ** 2)
    return w / w.sum()


def _metrics(pred: np.ndarray, y: np.ndarray, dists: np.ndarray, pred_dists: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    rho = spearmanr(pred, y).statistic if np.std(pred) > 0 else 0.0
    return {"spearman": round(float(0.0 if math.isnan(rho) else rho), 4),
            "mae": round(float(np.abs(pred - y).mean()), 4),
            "nmd": round(float(np.mean([nmd(a, b) for a, b in zip(pred_dists, dists, strict=True)])), 4)}


def evaluate(dataset: Path, *, folds: int = 5, seed: int = 0, limit: int | None = None) -> dict[str, Any]:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from assist.ops.satisfaction import Facts, predict, text_features
    from assist.sentiment import SentimentAnalyzer

    rows = load(dataset)[:limit]
    sentiment = SentimentAnalyzer()
    y = np.array([r["quality"]["S"] for r in rows], dtype=float)
    dists = np.array([distribution(r["quality"]["raw"]["S"]) for r in rows])
    sigmas = np.array([np.std(r["quality"]["raw"]["S"]) for r in rows])
    turns = [[(t["role"], t["text"]) for t in r["turns"]] for r in rows]
    feats = np.array([text_features(t, sentiment) for t in turns])
    cust = [" ".join(x for role, x in t if role == "customer") for t in turns]
    help_ = [" ".join(x for role, x in t if role != "customer") for t in turns]
    lex = np.array([sentiment.analyze(next((x for role, x in reversed(t) if role == "customer"), "")).score
                    for t in turns])
    transparent = np.array([predict(Facts(last_sentiment=f[1], trend={1.0: "improving", -1.0: "worsening"}.get(
        f[4], "stable"), upset=f[2] <= -0.2, repeats=int(f[11]))).score for f in feats])

    preds = {k: np.zeros(len(rows)) for k in ("trivial", "lexicon", "transparent", "model")}
    pdists = {k: np.zeros((len(rows), len(BINS))) for k in preds}
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(feats):
        sigma = float(sigmas[train].mean())
        preds["trivial"][test] = y[train].mean()
        pdists["trivial"][test] = dists[train].mean(axis=0)
        for name, x in (("lexicon", lex), ("transparent", transparent)):
            lr = LinearRegression().fit(x[train, None], y[train])
            preds[name][test] = lr.predict(x[test, None])
        scaler = StandardScaler().fit(feats[train])
        tf_c = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=3, sublinear_tf=True, max_features=50000)
        tf_h = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=3, sublinear_tf=True, max_features=50000)
        xtr = hstack([csr_matrix(scaler.transform(feats[train])), tf_c.fit_transform([cust[i] for i in train]),
                      tf_h.fit_transform([help_[i] for i in train])]).tocsr()
        xte = hstack([csr_matrix(scaler.transform(feats[test])), tf_c.transform([cust[i] for i in test]),
                      tf_h.transform([help_[i] for i in test])]).tocsr()
        model = Ridge(alpha=3.0).fit(xtr, y[train])
        preds["model"][test] = np.clip(model.predict(xte), -2, 2)
        for name in ("lexicon", "transparent", "model"):
            pdists[name][test] = np.array([_spread_dist(m, sigma) for m in preds[name][test]])

    results = {k: _metrics(preds[k], y, dists, pdists[k]) for k in preds}
    return {
        "dataset": str(dataset), "dialogues": len(rows), "target": "mean annotated S (customer satisfaction, -2..2)",
        "folds": folds, **results["model"], "model": "ridge(text features + char 1-3-gram tf-idf)",
        "baselines": {k: results[k] for k in ("trivial", "lexicon", "transparent")}, "anchors": ANCHORS,
    }


def satisfaction_command(
    dataset: Annotated[Path, typer.Option("--dataset", help="Folder with dialogues.jsonl (zh_stc3_dialogues).")],
    folds: Annotated[int, typer.Option("--folds", min=2)] = 5,
    limit: Annotated[int | None, typer.Option("--limit", help="First N dialogues only (smoke runs).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Satisfaction prediction against STC-3's annotated S: Spearman, MAE and NMD, beside baselines."""
    out = evaluate(dataset, folds=folds, limit=limit)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{out['dialogues']} dialogues, {folds}-fold CV; target {out['target']}")
    typer.echo(f"  model        spearman={out['spearman']:.3f} mae={out['mae']:.3f} nmd={out['nmd']:.4f}")
    for k, v in out["baselines"].items():
        typer.echo(f"  {k:12} spearman={v['spearman']:.3f} mae={v['mae']:.3f} nmd={v['nmd']:.4f}")
