"""Retrieval evaluation on BEIR-layout sets, the golden-set gate and the covered-threshold
calibration.

A BEIR corpus is ingested into its own tenant (``eval-<dirname>``) through the real
indexer, queries go through the real :class:`~assist.retrieval.Retriever` (hybrid, dense
or sparse), and the ranked article ids are mapped back to corpus ids for scoring.

Example:
    >>> ctx = EvalContext.open(Settings())                                # doctest: +SKIP
    >>> out = await evaluate_beir(ctx, Path("../shared/data/zh_bq_faq"))
    >>> out.metrics["ndcg@10"]
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assist.config import Settings
from assist.db import Database
from assist.db.evalruns import EvalItemRecord
from assist.errors import InputError
from assist.pipeline import AssistPipeline
from assist.retrieval import Mode, RetrievalResult
from assist.runtime import Runtime
from assist.types import Conversation, SearchFilter, Turn
from eval.datasets import BeirDataset, dataset_slug, iter_jsonl, read_jsonl, split_context
from eval.harness import (
    EvalOutcome,
    ir_scores,
    limited,
    mean,
    model_ids,
    offline_env,
    progress,
    rounded,
)
from kb_ingest.frontmatter import sanitize_id

ALL_MODES: tuple[Mode, ...] = ("dense", "sparse", "hybrid")


@dataclass
class EvalContext:
    """One runtime (pipeline, embedder, store, database: :mod:`assist.runtime`) shared by
    all evaluations of a command.

    The pipeline gets a fake chat model unless ``llm`` is given or ``need_llm`` is set
    (then the configured model, the embedded server started and stopped by the runtime):
    retrieval, golden and calibration never call the model, and must not need a model
    server to run in CI.
    """

    settings: Settings
    runtime: Runtime
    _indexer: Any = field(default=None, init=False)

    @classmethod
    def open(cls, settings: Settings, *, llm: Any = None, need_llm: bool = False) -> EvalContext:
        offline_env()
        from assist.llm.fake import FakeChatModel

        if llm is None and not need_llm:
            llm = FakeChatModel(replies=["(no model)"])
        return cls(settings=settings, runtime=Runtime.build(settings, llm=llm))

    @property
    def pipeline(self) -> AssistPipeline:
        return self.runtime.pipeline

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def indexer(self) -> Any:
        if self._indexer is None:
            from kb_ingest.indexing import Indexer

            # Shares the runtime's store: an embedded Qdrant path can be opened only once.
            self._indexer = Indexer.from_runtime(self.runtime, batch_size=self.settings.embedder.batch_size * 2)
        return self._indexer

    async def close(self) -> None:
        await self.runtime.close()


# --------------------------------------------------------------------------- corpus
def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _parse_corpus(corpus: Path, max_bytes: int) -> list[Any]:
    """Parse a corpus file; evaluation corpora may exceed the upload limit, so allow its size."""
    from kb_ingest.parsers import parse_file

    return parse_file(corpus, max_bytes=max(max_bytes, corpus.stat().st_size + 1), root=corpus.parent)


_MAPPING_VERSION = 2
"""Version of the corpus-row -> article mapping below; bump it when the mapping changes so
stored corpora are re-ingested (2: domain-wide rows get their domain as product)."""


async def ensure_corpus(ctx: EvalContext, corpus: Path, tenant: str, *, reindex: bool = False) -> dict[str, Any]:
    """Ingest a BEIR ``corpus.jsonl`` into ``tenant`` (published), reusing what is there.

    Rows' ``entity_name`` becomes the article ``product`` (a parser alias), so the
    retriever's entity carry-over sees hotel/restaurant names. In such an entity-organised
    corpus a row without an entity belongs to its domain's own service (DSTC10's train and
    taxi FAQ, entity ``*``), not to every entity: its ``domain`` becomes its product. Left
    empty, the product filter would treat those rows as general knowledge that applies to
    every hotel and restaurant.

    A marker under ``HOME/eval/corpora`` records the corpus hash and embedder: when they
    match and the tenant exists, the indexer is not even asked (``reindex=True`` asks it;
    it then skips unchanged articles itself, embedding nothing).

    Returns:
        ``{"id_map": {article id: corpus id}, "ingest": {...timings and counts}}``.
    """
    from assist.db.lookup import tenant_exists
    from kb_ingest.parsers import content_hash

    started = time.perf_counter()
    rows = list(iter_jsonl(corpus))
    id_map = {sanitize_id(str(r.get("id", r.get("_id")))): str(r.get("id", r.get("_id"))) for r in rows}
    sha = _file_sha(corpus)
    marker = ctx.settings.home / "eval" / "corpora" / f"{tenant}.json"
    want = {"sha256": sha, "embedder": ctx.pipeline.embedder.model_id, "sparse": model_ids(ctx.settings)["sparse"],
            "rows": len(rows), "qdrant": str(ctx.settings.qdrant_path.resolve()), "mapping": _MAPPING_VERSION}
    if not reindex and marker.exists() and tenant_exists(ctx.db, tenant):
        if json.loads(marker.read_text()) == want:
            return {"id_map": id_map, "ingest": {"reused": True, "seconds": round(time.perf_counter() - started, 2)}}
    articles = _parse_corpus(corpus, ctx.settings.ingest.max_file_bytes)
    if any(r.get("entity_name") for r in rows):
        service = {sanitize_id(str(r.get("id", r.get("_id")))): str(r["domain"])
                   for r in rows if not r.get("entity_name") and r.get("domain")}
        for a in articles:
            if a.meta.product is None and a.meta.id in service:
                a.meta.product = service[a.meta.id]
                a.content_hash = content_hash(a.meta, a.blocks)
    with progress(len(articles), f"ingest {tenant}") as advance:
        done = [0]

        def on_progress(stage: str, n: int, total: int) -> None:
            if stage == "embed":
                advance(n - done[0])
                done[0] = n

        report = await ctx.indexer.ingest_articles(articles, tenant=tenant, publish=True, progress=on_progress)
        # Articles the database already holds are skipped by content hash; their chunks may
        # still be missing from this collection (another embedder, or int8): fill them in.
        rebuilt = await ctx.indexer.reindex(tenant)
    ctx.pipeline.invalidate_entities(tenant)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(want))
    return {"id_map": id_map, "ingest": {"reused": False, "seconds": round(time.perf_counter() - started, 2),
                                         "articles": report.articles,
                                         "chunks_embedded": report.chunks_embedded + rebuilt.chunks_embedded,
                                         "chunks_skipped": report.chunks_skipped, "errors": len(report.errors)}}


# --------------------------------------------------------------------------- BEIR
def _ranking(result: RetrievalResult, id_map: dict[str, str]) -> dict[str, float]:
    ranked: dict[str, float] = {}
    n = len(result.chunks)
    for i, r in enumerate(result.chunks):
        doc = id_map.get(r.chunk.article_id, r.chunk.article_id)
        ranked.setdefault(doc, float(n - i))
    return ranked


async def evaluate_beir(
    ctx: EvalContext,
    dataset: Path,
    *,
    query_field: str = "text",
    modes: Sequence[Mode] = ALL_MODES,
    limit: int | None = None,
    top_k: int = 100,
    reindex: bool = False,
    fit_fusion: bool = False,
) -> EvalOutcome:
    """nDCG@10, Recall@1/5/10/100 and MRR@10 of each retrieval mode on a BEIR folder.

    ``fit_fusion``: first choose the tenant's DBSF weights on the first half of the queries
    (file order) and store them as its calibration (:func:`fit_tenant_fusion`); the metrics
    of the second half, which the fit never saw, are reported beside those of all queries.

    ``query_field="text_with_context"`` splits the field on ``" | "`` into turns (last =
    customer) and passes them as the conversation, so the conversation-aware query and
    entity carry-over are exercised.
    """
    ds = BeirDataset.load(dataset)
    tenant = f"eval-{dataset_slug(dataset)}"
    corpus = await ensure_corpus(ctx, ds.corpus_path, tenant, reindex=reindex)
    id_map = corpus["id_map"]
    queries = limited(ds.queries, limit)
    for q in queries:
        if query_field not in q:
            raise InputError(f"query {q.get('id')} has no field {query_field!r}; fields: {sorted(q)}")
    qrels = {str(q["id"]): ds.qrels[str(q["id"])] for q in queries}
    default: Mode = "hybrid" if "hybrid" in modes else modes[0]
    filters = SearchFilter(tenant=tenant)
    fit: dict[str, Any] | None = None
    if fit_fusion:
        fit = await fit_tenant_fusion(ctx, tenant, queries[: len(queries) // 2], qrels, id_map,
                                      query_field=query_field, source=dataset.name)
    per_mode: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, Any]] = {str(q["id"]): {} for q in queries}
    seconds: dict[str, float] = {}
    for mode in modes:
        run: dict[str, dict[str, float]] = {}
        started = time.perf_counter()
        with progress(len(queries), f"{dataset.name} {mode}") as advance:
            for q in queries:
                qid = str(q["id"])
                text = str(q[query_field])
                turns = split_context(text) if query_field != "text" and " | " in text else None
                res = await ctx.pipeline.retriever.retrieve(turns[-1].text if turns else text, filters,
                                                            turns=turns, top_k=top_k, mode=mode)
                run[qid] = _ranking(res, id_map)
                if mode == default:
                    details[qid] = {"query": text[-300:], "top5": list(run[qid])[:5], "gold": sorted(qrels[qid]),
                                    "entity": res.entity, "covered": res.covered, "top_dense": res.top_dense}
                advance(1)
        seconds[mode] = round(time.perf_counter() - started, 1)
        means, per_q = ir_scores(run, qrels)
        per_mode[mode] = {"means": rounded(means), "per_query": per_q}
    main = per_mode[default]["means"]
    metrics: dict[str, Any] = {"dataset": dataset.name, "queries": len(queries), "mode": default, **main,
                               "modes": {m: v["means"] for m, v in per_mode.items()},
                               "fusion": _fusion_label(ctx, tenant)}
    if fit is not None:
        held_out = [str(q["id"]) for q in queries[len(queries) // 2:]]
        metrics["fusion_fit"] = fit
        metrics["second_half"] = {m: rounded({k: mean(v["per_query"][q][k] for q in held_out)
                                              for k in v["means"]}) for m, v in per_mode.items()}
    items = [
        EvalItemRecord(item_id=qid, metrics={**{f"{m}.{k}": v for m in per_mode
                                                 for k, v in per_mode[m]["per_query"][qid].items()
                                                 if k in ("ndcg@10", "recall@5")},
                                              **per_mode[default]["per_query"][qid]},
                       detail=details[qid])
        for qid in qrels
    ]
    return EvalOutcome(
        kind="retrieval", dataset=dataset.name, metrics=metrics, items=items,
        config={"query_field": query_field, "modes": list(modes), "limit": limit, "top_k": top_k,
                "tenant": tenant, "retrieval": ctx.settings.retrieval.model_dump(), "seconds": seconds,
                "ingest": corpus["ingest"]},
        model_ids=model_ids(ctx.settings),
    )


def _fusion_label(ctx: EvalContext, tenant: str) -> str:
    r = ctx.pipeline.retriever
    w = r.fusion_weights(tenant)
    return f"dbsf {w[0]}:{w[1]}" if w is not None else f"rrf k={r.settings.rrf_k} w={r.settings.sparse_weight}"


class _MemoEmbedder:
    """The retriever's embedder with query vectors remembered (a fit asks each question
    once per candidate weighting)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.memo = inner, {}
        self.model_id, self.dim = inner.model_id, inner.dim

    async def embed_query(self, text: str) -> list[float]:
        if text not in self.memo:
            self.memo[text] = await self.inner.embed_query(text)
        return self.memo[text]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def fit_tenant_fusion(ctx: EvalContext, tenant: str, queries: Sequence[dict[str, Any]],
                            qrels: dict[str, dict[str, int]], id_map: dict[str, str], *,
                            query_field: str = "text", source: str = "") -> dict[str, Any]:
    """Choose the tenant's DBSF weights on labelled questions and store them.

    Every candidate of :data:`assist.calibration.FUSION_GRID` (dense only ... sparse only)
    runs the questions through the product retriever (entity scope included); the weights
    with the best mean nDCG@10 become the tenant's calibration (the configured weights stay
    unless beaten). Needs ``retrieval.fusion = dbsf``.
    """
    from assist.calibration import FUSION_GRID, CalibrationStore, TenantCalibration, fit_fusion, ndcg_at_10

    r = ctx.pipeline.retriever
    if r.settings.fusion != "dbsf":
        raise InputError("--fit-fusion fits DBSF weights: set ASSIST_RETRIEVAL__FUSION=dbsf")
    cal_store = r.calibration if isinstance(r.calibration, CalibrationStore) else \
        CalibrationStore(ctx.settings.home / "calibration")
    saved_cal, saved_emb = r.calibration, r.embedder
    scores: dict[tuple[int, int], list[float]] = {}
    r.embedder = _MemoEmbedder(saved_emb)  # type: ignore[assignment]
    try:
        with progress(len(FUSION_GRID) * len(queries), f"fit fusion {tenant}") as advance:
            for w in FUSION_GRID:
                trial = TenantCalibration(tenant=tenant, fusion_weights=w)
                r.calibration = lambda _t, trial=trial: trial
                scores[w] = []
                for q in queries:
                    qid, text = str(q["id"]), str(q[query_field])
                    turns = split_context(text) if query_field != "text" and " | " in text else None
                    res = await r.retrieve(turns[-1].text if turns else text, SearchFilter(tenant=tenant),
                                           turns=turns, top_k=10)
                    scores[w].append(ndcg_at_10(list(_ranking(res, id_map)), qrels[qid]))
                    advance(1)
    finally:
        r.calibration, r.embedder = saved_cal, saved_emb
    weights, report = fit_fusion(scores, default=ctx.settings.retrieval.fusion_weights)
    report.update({"source": f"{source}: first {len(queries)} questions (file order)", "metric": "ndcg@10"})
    cal_store.update(tenant, fusion_weights=weights, fusion_fit=report)
    return report


# --------------------------------------------------------------------------- golden
@dataclass(frozen=True)
class GoldenItem:
    id: str
    language: str
    question: str | None
    turns: list[Turn]
    reference: str
    article_ids: list[str]
    expect: str
    escalation_target: str | None
    category: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> GoldenItem:
        turns = [Turn(role=t.get("role", "customer"), text=t["text"]) for t in row.get("turns") or []]
        if not turns and row.get("question"):
            turns = [Turn(role="customer", text=row["question"])]
        if not turns:
            raise InputError(f"golden item {row.get('id')}: needs 'question' or 'turns'")
        expect = row.get("expect", "answer")
        if expect not in ("answer", "not_covered", "escalate"):
            raise InputError(f"golden item {row['id']}: expect must be answer|not_covered|escalate, not {expect!r}")
        return cls(id=str(row["id"]), language=row.get("language", "zh"), question=row.get("question"),
                   turns=turns, reference=row.get("reference", ""), article_ids=list(row.get("article_ids") or []),
                   expect=expect, escalation_target=row.get("escalation_target"),
                   category=row.get("category") or expect)


def load_golden(dataset: Path) -> tuple[list[GoldenItem], str]:
    """The golden items of ``dataset`` (a folder with ``golden.jsonl`` or the file) and its tenant."""
    path = dataset / "golden.jsonl" if dataset.is_dir() else dataset
    items = [GoldenItem.from_row(r) for r in read_jsonl(path)]
    meta = path.parent / "meta.json"
    tenant = json.loads(meta.read_text()).get("tenant", "nova") if meta.exists() else "nova"
    return items, tenant


async def _golden_signals(ctx: EvalContext, item: GoldenItem, tenant: str, top_k: int,
                          *, extra: bool = False) -> dict[str, Any]:
    """Hybrid ranking and covered decision; with ``extra`` also the dense margin, the best
    sparse score and dense/sparse agreement (candidate covered signals for calibration)."""
    filters = SearchFilter(tenant=tenant)
    turns = item.turns
    res = await ctx.pipeline.retriever.retrieve(turns[-1].text, filters, turns=turns, top_k=top_k)
    ids = list(dict.fromkeys(r.chunk.article_id for r in res.chunks))
    if not extra:
        return {"ranked": ids, "covered": res.covered, "top_dense": res.top_dense}
    dense = await ctx.pipeline.retriever.retrieve(turns[-1].text, filters, turns=turns, top_k=2, mode="dense")
    sparse = await ctx.pipeline.retriever.retrieve(turns[-1].text, filters, turns=turns, top_k=1, mode="sparse")
    d = [r.score for r in dense.chunks]
    return {
        "ranked": ids,
        "covered": res.covered,
        "top_dense": res.top_dense,
        "dense_margin": (d[0] - d[1]) if len(d) > 1 else (d[0] if d else 0.0),
        "top_sparse": sparse.chunks[0].score if sparse.chunks else 0.0,
        "agree": bool(dense.chunks and sparse.chunks
                      and dense.chunks[0].chunk.article_id == sparse.chunks[0].chunk.article_id),
    }


async def evaluate_golden(ctx: EvalContext, dataset: Path, *, top_k: int = 5, limit: int | None = None,
                          escalation: bool = True) -> EvalOutcome:
    """The fast CI gate: retrieval hit@1/hit@k on the answerable items, covered-decision
    accuracy (answerable → covered, unanswerable → not covered) and escalation accuracy
    (should escalate, to the expected target). No model needed."""
    items, tenant = load_golden(dataset)
    items = limited(items, limit)
    ctx.pipeline.check_tenant(tenant)
    records: list[EvalItemRecord] = []
    hits1: list[float] = []
    hitsk: list[float] = []
    mrr: list[float] = []
    cov_ok: list[float] = []
    esc_ok: list[float] = []
    esc_target_ok: list[float] = []
    false_esc: list[float] = []
    with progress(len(items), "golden") as advance:
        for it in items:
            sig = await _golden_signals(ctx, it, tenant, top_k)
            m: dict[str, float] = {}
            if it.expect in ("answer", "not_covered"):
                ok = float(sig["covered"] == (it.expect == "answer"))
                cov_ok.append(ok)
                m["covered_ok"] = ok
            if it.article_ids:
                gold = set(it.article_ids)
                rank = next((i for i, a in enumerate(sig["ranked"]) if a in gold), None)
                m["hit@1"] = float(rank == 0)
                m[f"hit@{top_k}"] = float(rank is not None and rank < top_k)
                m["mrr"] = 1.0 / (rank + 1) if rank is not None and rank < top_k else 0.0
                hits1.append(m["hit@1"])
                hitsk.append(m[f"hit@{top_k}"])
                mrr.append(m["mrr"])
            target = None
            if escalation:
                decision, _, _ = await ctx.pipeline.escalate(Conversation(tenant=tenant, turns=it.turns))
                target = decision.target if decision.escalate else None
                if it.expect == "escalate":
                    m["escalate_ok"] = float(decision.escalate)
                    m["target_ok"] = float(decision.escalate and target == it.escalation_target)
                    esc_ok.append(m["escalate_ok"])
                    esc_target_ok.append(m["target_ok"])
                else:
                    # Plain questions must not be escalated by a hard rule.
                    m["false_escalation"] = float(decision.escalate and bool(decision.rule_ids))
                    false_esc.append(m["false_escalation"])
            m["score"] = mean(v for k, v in m.items() if k != "false_escalation") if m else 0.0
            records.append(EvalItemRecord(item_id=it.id, metrics=m, detail={
                "language": it.language, "category": it.category, "expect": it.expect,
                "question": it.turns[-1].text, "gold": it.article_ids, "ranked": sig["ranked"][:top_k],
                "covered": sig["covered"], "top_dense": sig["top_dense"], "escalation_target": target}))
            advance(1)
    metrics: dict[str, Any] = {
        "dataset": "golden", "items": len(items), "answerable": len(hitsk),
        "hit@1": mean(hits1), f"hit@{top_k}": mean(hitsk), "mrr": mean(mrr),
        "covered_accuracy": mean(cov_ok),
    }
    if escalation:
        metrics.update({"escalation_recall": mean(esc_ok), "escalation_target_accuracy": mean(esc_target_ok),
                        "false_escalation_rate": mean(false_esc)})
    by_lang: dict[str, list[float]] = {}
    for r in records:
        if f"hit@{top_k}" in r.metrics:
            by_lang.setdefault(r.detail["language"], []).append(r.metrics[f"hit@{top_k}"])
    metrics["by_language"] = {k: round(mean(v), 4) for k, v in sorted(by_lang.items())}
    return EvalOutcome(kind="golden", dataset="golden", metrics=rounded(metrics), items=records,
                       config={"top_k": top_k, "tenant": tenant, "limit": limit,
                               "min_dense_score": ctx.settings.retrieval.min_dense_score},
                       model_ids=model_ids(ctx.settings))


# --------------------------------------------------------------------------- calibration
def best_threshold(pos: Sequence[float], neg: Sequence[float]) -> dict[str, float]:
    """The threshold ``t`` (predict positive when ``score >= t``) maximising balanced accuracy.

    Candidates are midpoints between consecutive distinct scores, so the chosen value does
    not sit exactly on a calibration example.

    Example:
        >>> best_threshold([0.9, 0.8], [0.5, 0.6])["balanced_accuracy"]
        1.0
    """
    values = sorted(set(pos) | set(neg))
    cands = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)] + [values[-1] + 1e-6]
    best = {"threshold": cands[0], "balanced_accuracy": -1.0, "tpr": 0.0, "tnr": 0.0}
    for t in cands:
        tpr = sum(p >= t for p in pos) / len(pos) if pos else 0.0
        tnr = sum(n < t for n in neg) / len(neg) if neg else 0.0
        bal = (tpr + tnr) / 2
        if bal > best["balanced_accuracy"] + 1e-12:
            best = {"threshold": t, "balanced_accuracy": bal, "tpr": tpr, "tnr": tnr}
    return best


def auroc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not pos or not neg:
        return 0.0
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


async def calibrate(ctx: EvalContext, dataset: Path, *, limit: int | None = None) -> EvalOutcome:
    """Choose ``retrieval.min_dense_score`` on the golden set (answerable vs not covered),
    and measure alternative signals (dense margin, sparse top score) the same way."""
    items, tenant = load_golden(dataset)
    items = [i for i in limited(items, limit) if i.expect in ("answer", "not_covered")]
    signals: dict[str, dict[str, list[float]]] = {"top_dense": {"pos": [], "neg": []},
                                                  "dense_margin": {"pos": [], "neg": []},
                                                  "top_sparse": {"pos": [], "neg": []}}
    records = []
    with progress(len(items), "calibrate") as advance:
        for it in items:
            sig = await _golden_signals(ctx, it, tenant, 5, extra=True)
            side = "pos" if it.expect == "answer" else "neg"
            for name in signals:
                signals[name][side].append(float(sig[name] or 0.0))
            records.append(EvalItemRecord(item_id=it.id, metrics={k: float(sig[k] or 0.0) for k in signals},
                                          detail={"expect": it.expect, "language": it.language,
                                                  "category": it.category, "question": it.turns[-1].text}))
            advance(1)
    report: dict[str, Any] = {}
    for name, s in signals.items():
        b = best_threshold(s["pos"], s["neg"])
        report[name] = rounded({**b, "auroc": auroc(s["pos"], s["neg"]),
                                "pos_mean": mean(s["pos"]), "neg_mean": mean(s["neg"]),
                                "pos_min": min(s["pos"], default=0.0), "neg_max": max(s["neg"], default=0.0)})
    current = ctx.settings.retrieval.min_dense_score
    pos, neg = signals["top_dense"]["pos"], signals["top_dense"]["neg"]
    cur_bal = ((sum(p >= current for p in pos) / max(1, len(pos))) + (sum(n < current for n in neg) / max(1, len(neg)))) / 2
    metrics = {"dataset": "golden", "answerable": len(pos), "unanswerable": len(neg),
               "min_dense_score": round(report["top_dense"]["threshold"], 4),
               "balanced_accuracy": report["top_dense"]["balanced_accuracy"],
               "current_threshold": current, "current_balanced_accuracy": round(cur_bal, 4),
               "signals": report}
    return EvalOutcome(kind="calibrate", dataset="golden", metrics=metrics, items=records,
                       config={"tenant": tenant, "limit": limit}, model_ids=model_ids(ctx.settings))
