"""Curated-answer precision: does the verbatim FAQ path answer only true paraphrases?

Two layouts:

* **A question-matching set** (``zh_bq_faq``: ``corpus.jsonl`` of stored questions,
  ``queries.jsonl``, ``qrels.tsv`` = the query's paraphrases, ``hard_negatives.tsv`` =
  human-judged look-alikes that are *not* paraphrases). The corpus is ingested as its own
  tenant (every row a stored FAQ question), each query goes through the product retriever,
  and the retrieved first entry is put to :class:`~assist.curated.CuratedMatcher` (its
  rivals: the next entries of other articles). A curated hit on one of the query's
  human-judged non-paraphrases is a **false match** (``false_match_rate``, over the queries
  that have hard negatives); a hit anywhere outside the query's cluster is counted too
  (``outside_cluster_rate``: an upper bound, BQ's clusters miss unlabelled paraphrases),
  beside the paraphrase hit rate over all queries, for the matcher and the cosine-only rule
  it replaced. ``pairs``: every labelled pair put to the matcher directly, by halves.
* **The golden set** (``golden.jsonl``): the sample KB's answerable questions through the
  pipeline's own curated path, to check that true paraphrases still get curated answers.

Example:
    $ assist eval curated --dataset ../shared/data/zh_bq_faq --json
    $ assist eval curated --dataset eval/golden --json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from assist.curated import CuratedMatcher
from assist.db.evalruns import EvalItemRecord
from assist.types import SearchFilter
from eval.datasets import BeirDataset, dataset_slug, iter_jsonl, read_qrels
from eval.harness import EvalOutcome, limited, mean, model_ids, progress, rounded


def _matcher(ctx: Any, *, min_margin: float | None, key_terms: bool) -> CuratedMatcher:
    rs = ctx.settings.retrieval
    margin = rs.curated_min_margin if min_margin is None else min_margin
    return CuratedMatcher(ctx.pipeline.embedder, min_score=rs.curated_min_score, min_margin=margin,
                          check_key_terms=key_terms)


async def evaluate_curated(ctx: Any, dataset: Path, *, limit: int | None = None, min_margin: float | None = None,
                           key_terms: bool = True) -> EvalOutcome:
    """False-match and paraphrase-hit rates of the curated path (see the module docs)."""
    if (dataset / "golden.jsonl").exists() or dataset.suffix == ".jsonl":
        return await _golden(ctx, dataset, limit=limit, min_margin=min_margin, key_terms=key_terms)
    from eval.retrieval import ensure_corpus

    ds = BeirDataset.load(dataset)
    tenant = f"eval-{dataset_slug(dataset)}"
    corpus = await ensure_corpus(ctx, ds.corpus_path, tenant)
    id_map = corpus["id_map"]
    texts = {str(r.get("id", r.get("_id"))): str(r.get("text", "")) for r in iter_jsonl(ds.corpus_path)}
    hard_path = dataset / "hard_negatives.tsv"
    hard = read_qrels(hard_path) if hard_path.exists() else {}
    matcher = _matcher(ctx, min_margin=min_margin, key_terms=key_terms)
    queries = limited(ds.queries, limit)
    filters = SearchFilter(tenant=tenant)
    records: list[EvalItemRecord] = []
    with progress(len(queries), f"curated {dataset.name}") as advance:
        for q in queries:
            qid, text = str(q["id"]), str(q["text"])
            res = await ctx.pipeline.retriever.retrieve(text, filters)
            docs = list(dict.fromkeys(id_map.get(r.chunk.article_id, r.chunk.article_id) for r in res.chunks))
            if not docs:
                advance(1)
                continue
            top, rivals = docs[0], docs[1: 1 + matcher.rivals]
            d = await matcher.decide(text, [texts.get(top, "")], [[texts.get(r, "")] for r in rivals])
            paraphrase = top in ds.qrels.get(qid, {})
            cosine_only = d.score >= matcher.min_score
            records.append(EvalItemRecord(item_id=qid, metrics={
                "accepted": float(d.accepted), "cosine_only": float(cosine_only), "paraphrase": float(paraphrase),
                "score": round(d.score, 4)}, detail={
                "query": text, "top": top, "top_text": texts.get(top, ""), "reason": d.reason,
                "margin": None if d.margin is None else round(d.margin, 4), "hard_negative_query": qid in hard,
                "labelled_hard_negative": top in hard.get(qid, {})}))
            advance(1)

    def rate(rows: list[EvalItemRecord], key: str, para: bool) -> float:
        return mean(float(r.metrics[key] == 1.0 and (r.metrics["paraphrase"] == 1.0) == para) for r in rows)

    on_hard = [r for r in records if r.detail["hard_negative_query"]]
    accepted = [r for r in records if r.metrics["accepted"] == 1.0]
    reasons: dict[str, int] = {}
    for r in records:
        reasons[r.detail["reason"]] = reasons.get(r.detail["reason"], 0) + 1
    labelled = [r for r in on_hard if r.detail["labelled_hard_negative"]]
    pairs = await _pairs(matcher, texts, {str(q["id"]): str(q["text"]) for q in queries}, ds.qrels, hard)
    metrics: dict[str, Any] = {
        "dataset": dataset.name, "queries": len(records), "hard_negative_queries": len(on_hard),
        # the product path: each query's first retrieved entry put to the matcher
        "false_match_rate": rate(labelled, "accepted", False) * len(labelled) / max(1, len(on_hard)),
        "paraphrase_hit_rate": rate(records, "accepted", True),
        "outside_cluster_rate": rate(on_hard, "accepted", False),
        "precision_vs_qrels": mean(r.metrics["paraphrase"] for r in accepted) if accepted else 0.0,
        "decisions": reasons,
        # every labelled pair put to the matcher directly (retrieval aside)
        "pairs": pairs,
        "cosine_only": {"false_match_rate": rate(labelled, "cosine_only", False) * len(labelled) / max(1, len(on_hard)),
                        "paraphrase_hit_rate": rate(records, "cosine_only", True),
                        "outside_cluster_rate": rate(on_hard, "cosine_only", False)},
    }
    return EvalOutcome(kind="curated", dataset=dataset.name, metrics=rounded(metrics), items=records,
                       config=_config(ctx, matcher, limit, tenant), model_ids=model_ids(ctx.settings))


async def _pairs(matcher: CuratedMatcher, corpus: dict[str, str], queries: dict[str, str],
                 qrels: dict[str, dict[str, int]], hard: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The matcher on every labelled pair: false accepts on the human-judged non-paraphrases
    (``hard_negatives.tsv``), true accepts on the paraphrases (``qrels.tsv``), by halves
    (queries in file order) so that a threshold read off one half is checked on the other."""
    import numpy as np

    order = list(queries)
    half = set(order[: len(order) // 2])
    todo = [(q, d, True) for q in order for d in qrels.get(q, {}) if d in corpus] + \
           [(q, d, False) for q in order for d in hard.get(q, {}) if d in corpus]
    texts = sorted({queries[q] for q, _, _ in todo} | {corpus[d] for _, d, _ in todo})
    vecs = np.asarray(await matcher.embedder.embed_queries(texts), dtype=np.float32)
    row = {t: i for i, t in enumerate(texts)}
    out: dict[str, Any] = {"paraphrase_pairs": 0, "hard_negative_pairs": 0}
    counts = {(h, para, k): 0 for h in (1, 2) for para in (True, False) for k in ("n", "new", "cos")}
    for q, d, para in todo:
        sim = float(vecs[row[queries[q]]] @ vecs[row[corpus[d]]])
        h = 1 if q in half else 2
        counts[(h, para, "n")] += 1
        counts[(h, para, "new")] += matcher.judge(queries[q], [corpus[d]], [sim]).accepted
        counts[(h, para, "cos")] += sim >= matcher.min_score
    for h in (1, 2):
        for para, name in ((True, "paraphrase_accept"), (False, "false_accept")):
            n = max(1, counts[(h, para, "n")])
            out[f"{name}_h{h}"] = round(counts[(h, para, "new")] / n, 4)
            out[f"{name}_h{h}_cosine_only"] = round(counts[(h, para, "cos")] / n, 4)
    out["paraphrase_pairs"] = counts[(1, True, "n")] + counts[(2, True, "n")]
    out["hard_negative_pairs"] = counts[(1, False, "n")] + counts[(2, False, "n")]
    return out


async def _golden(ctx: Any, dataset: Path, *, limit: int | None, min_margin: float | None,
                  key_terms: bool) -> EvalOutcome:
    """Curated hits on the golden set's answerable questions: the matcher against the
    cosine-only rule, and whether each hit is one of the item's gold articles."""
    from eval.retrieval import load_golden

    items, tenant = load_golden(dataset)
    items = [i for i in limited(items, limit) if i.expect == "answer"]
    matcher = _matcher(ctx, min_margin=min_margin, key_terms=key_terms)
    old = CuratedMatcher(ctx.pipeline.embedder, min_score=matcher.min_score, min_margin=0.0, check_key_terms=False)
    records = []
    for it in items:
        res = await ctx.pipeline.retriever.retrieve(it.turns[-1].text, SearchFilter(tenant=tenant), turns=it.turns)
        new_hit = await matcher.match(it.turns[-1].text, res.chunks)
        old_hit = await old.match(it.turns[-1].text, res.chunks)
        hit = new_hit or old_hit
        records.append(EvalItemRecord(item_id=it.id, metrics={
            "accepted": float(new_hit is not None), "cosine_only": float(old_hit is not None),
            "correct": float(hit is not None and hit.chunk.article_id in it.article_ids)},
            detail={"question": it.turns[-1].text, "language": it.language,
                    "article": hit.chunk.article_id if hit else None}))
    metrics = {"dataset": "golden", "answerable": len(records),
               "curated_hits": sum(r.metrics["accepted"] for r in records),
               "curated_hits_cosine_only": sum(r.metrics["cosine_only"] for r in records),
               "lost": [r.item_id for r in records if r.metrics["cosine_only"] and not r.metrics["accepted"]],
               "wrong_article": [r.item_id for r in records if r.metrics["accepted"] and not r.metrics["correct"]]}
    return EvalOutcome(kind="curated", dataset="golden", metrics=metrics, items=records,
                       config=_config(ctx, matcher, limit, tenant), model_ids=model_ids(ctx.settings))


def _config(ctx: Any, m: CuratedMatcher, limit: int | None, tenant: str) -> dict[str, Any]:
    return {"tenant": tenant, "limit": limit, "min_score": m.min_score, "min_margin": m.min_margin,
            "key_terms": m.check_key_terms, "fusion": ctx.settings.retrieval.fusion}


def curated_command(
    dataset: Annotated[Path, typer.Option("--dataset", help="A question-matching set (zh_bq_faq) or eval/golden.")],
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N queries.")] = None,
    min_margin: Annotated[float | None, typer.Option("--min-margin", help="Override retrieval.curated_min_margin.")] = None,
    no_key_terms: Annotated[bool, typer.Option("--no-key-terms", help="Cosine (and margin) only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Curated answers: false-match rate on hard negatives, paraphrase hit rate (or golden hits)."""
    from eval.cli import _run

    _run(lambda ctx: evaluate_curated(ctx, dataset, limit=limit, min_margin=min_margin,
                                      key_terms=not no_key_terms), as_json=as_json, report=None)
