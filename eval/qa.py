"""``assist eval qa``: answers through the full product path on real-document QA sets.

Each question's knowledge is ingested into a fresh tenant of a temporary home (its own
SQLite database and embedded Qdrant collection) with the real indexer and the configured
embedder, then the question goes through :meth:`AssistPipeline.draft` exactly as an agent's
draft request does (retrieval, coverage, curated answers, the evidence-first or generative
draft, the claim and policy checks). Nothing is tuned to rows: the first rows in file order
are used, taken round-robin over the set's categories so that ``--limit`` keeps each one.

Datasets (see each README under ``../shared/data``):

* ``zh_cjrc_rc`` — each question against its own ~600-character judgment as the knowledge;
  span (gold answer contained in the reply, normalised), yes/no (the reply's leading
  verdict) and unanswerable (refused) questions; character F1 beside containment.
* ``en_mtrag_un`` — multi-turn conversations against their domain's passages; answerable /
  partial (correct: token F1 against the reference answer >= 0.3, the references being
  long free text), unanswerable (refused), underspecified (the reply asks the customer a
  question).
* ``en_emanual_qa`` — the whole phone manual as the knowledge; correct as for long references.
* ``zh_rgb_rag`` — each question against 5 passages at noise 0.4 (RGB's mix: 3 positives,
  2 negatives; every answer element in the reply) and against 5 negatives only (refused).

``unsupported_drafted`` counts replies returned as ``drafted`` that an independent claim
check (against the full text of the passages they cite) finds a sentence of unsupported.

Example:
    $ assist eval qa --dataset ../shared/data/zh_cjrc_rc --limit 60 --json
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from assist.claims import check_claims
from assist.db.evalruns import EvalItemRecord
from assist.errors import InputError
from assist.text import content_tokens
from assist.text.yesno import leading_verdict
from assist.types import Conversation, Draft, Turn
from eval.datasets import read_jsonl
from eval.harness import EvalOutcome, mean, model_ids, progress, rounded
from eval.rag import answer_ok, is_refusal, mix

__all__ = ["QaItem", "char_f1", "contains_answer", "evaluate_qa", "qa", "token_f1"]

ANSWERABLE = {"span", "yes", "no", "answerable", "partial", "manual", "noise0.4"}
REFUSE = {"unanswerable", "negatives"}
CLARIFY = {"underspecified"}
LONG_REFERENCE_CHARS = 60
LONG_REFERENCE_F1 = 0.3


# --------------------------------------------------------------------------- scoring
def _norm(text: str) -> str:
    """Lower case, NFKC, letters/digits/CJK only (the CJRC scorer's normalisation)."""
    t = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in t if c.isalnum())


def contains_answer(reply: str, golds: Sequence[str]) -> bool:
    """A gold answer occurs in the reply after normalisation.

    Example:
        >>> contains_answer("被告每月支付生活费 800 元 [1]。", ["800元", "生活费800元"])
        True
    """
    r = _norm(re.sub(r"\[\d+\]", "", reply))
    return any(_norm(g) and _norm(g) in r for g in golds)


def char_f1(reply: str, gold: str) -> float:
    """Character-level F1 after normalisation (the CJRC/CoQA scorer's, for Chinese)."""
    p, g = list(_norm(reply)), list(_norm(gold))
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def token_f1(reply: str, gold: str) -> float:
    """F1 of content tokens (English words, Chinese bigrams)."""
    p, g = content_tokens(reply), content_tokens(gold)
    common = len(p & g)
    if not p or not g or not common:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def _verdict(reply: str, phrases: Sequence[str] = ()) -> str | None:
    """The verdict the reply leads with (是的/有/可以/不是/没有/不可以/Yes/No…), after the
    tenant's greeting if the reply opens with one."""
    t = reply.strip()
    for p in phrases:
        if p and t.startswith(p):
            t = t[len(p):].lstrip()
            break
    v = leading_verdict(t)
    return v.upper() if v else None


def _asks_back(reply: str) -> bool:
    return bool(re.search(r"[?？]", reply))


def audit_claims(draft: Draft, style: Sequence[str] = (), question: str | None = None) -> list[str]:
    """Sentences of a ``drafted`` reply that the full text of its cited passages does not
    support (an independent re-check of the pipeline's output). ``style``: the tenant's
    phrasebook lines; ``question``: a yes/no lead is checked against the claim after it."""
    if draft.status != "drafted":
        return []
    texts = {r.chunk.id: f"{r.chunk.title}\n{r.chunk.text}" for r in draft.sources}
    evidence = {c.number: texts.get(c.chunk_id, c.snippet) for c in draft.citations}
    if not evidence:
        return [draft.text] if content_tokens(re.sub(r"\[\d+\]", "", draft.text)) else []
    return check_claims(draft.text, evidence, style=style, attribute=False, question=question).removed


# --------------------------------------------------------------------------- items
@dataclass
class QaItem:
    """One question: its knowledge (corpus rows), conversation, category and gold answers."""

    id: str
    category: str
    turns: list[Turn]
    golds: list[Any]
    group: str
    """Questions of one group share one tenant (one document, one domain, one passage mix)."""
    rows: list[dict[str, Any]]
    """The group's knowledge as corpus rows (id, title, text)."""
    language: str


def _round_robin(items: list[QaItem], limit: int | None) -> list[QaItem]:
    if not limit or limit >= len(items):
        return items
    by_cat: dict[str, list[QaItem]] = defaultdict(list)
    for it in items:
        by_cat[it.category].append(it)
    out: list[QaItem] = []
    queues = [list(v) for v in by_cat.values()]
    while len(out) < limit and any(queues):
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


def load_items(dataset: Path, limit: int | None) -> list[QaItem]:
    """The dataset's questions as :class:`QaItem`s (format recognised by its files)."""
    corpus = {r["id"]: r for r in read_jsonl(dataset / "corpus.jsonl")} if (dataset / "corpus.jsonl").exists() else {}
    items: list[QaItem] = []
    if (dataset / "tasks.jsonl").exists():  # en_mtrag_un
        by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in corpus.values():
            by_domain[r.get("domain", "all")].append(r)
        for t in read_jsonl(dataset / "tasks.jsonl"):
            turns = [Turn(role="customer" if x["role"] == "user" else "agent", text=x["text"]) for x in t["turns"]]
            domain = t.get("domain", "all")
            items.append(QaItem(t["id"], t["answerability"], turns, [t.get("reference_answer") or ""],
                                f"mtrag-{domain}", by_domain[domain], "en"))
        return _round_robin(items, limit)
    qa = read_jsonl(dataset / "qa.jsonl")
    if qa and "kind" in qa[0]:  # zh_cjrc_rc
        for q in qa:
            doc = corpus[q["doc_id"]]
            items.append(QaItem(q["id"], q["kind"], [Turn(text=q["question"])], q["answers"], q["doc_id"], [doc], "zh"))
        return _round_robin(items, limit)
    if qa and "positive_ids" in qa[0]:  # zh_rgb_rag: the two conditions of each question
        rows = qa[: (limit + 1) // 2] if limit else qa
        for q in rows:
            pos = [corpus[p] for p in q["positive_ids"]]
            neg = [corpus[p] for p in q["negative_ids"]]
            mixed = mix(pos, neg, 0.4)
            items.append(QaItem(q["id"], "noise0.4", [Turn(text=q["question"])], q["answers"], f"{q['id']}-n04",
                                mixed, "zh"))
            items.append(QaItem(q["id"] + "-neg", "negatives", [Turn(text=q["question"])], [], f"{q['id']}-neg",
                                neg[:5], "zh"))
        return items[:limit] if limit else items
    # en_emanual_qa: the whole manual is the knowledge
    rows = [{**r, "title": r.get("section_path") or r.get("title", "")} for r in corpus.values()]
    for q in qa:
        items.append(QaItem(q["id"], "manual", [Turn(text=q["question"])], q["answers"], "manual", rows, "en"))
    return items[:limit] if limit else items


def _correct(item: QaItem, draft: Draft, phrases: Sequence[str] = ()) -> tuple[float, float]:
    """(correct, F1) of an answerable item's reply."""
    reply = draft.text if draft.status in ("drafted", "curated") else ""
    if item.category == "noise0.4":
        return float(bool(reply) and answer_ok(reply, item.golds)), 0.0
    if item.category in ("yes", "no"):
        ok = _verdict(reply, phrases) == item.category.upper()
        return float(ok), float(ok)
    golds = [str(g) for g in item.golds if str(g)]
    if not golds:
        return 0.0, 0.0
    if item.language == "zh":
        return float(contains_answer(reply, golds)), max(char_f1(reply, g) for g in golds)
    f1 = max(token_f1(reply, g) for g in golds)
    if max(len(g) for g in golds) > LONG_REFERENCE_CHARS:
        return float(contains_answer(reply, golds) or f1 >= LONG_REFERENCE_F1), f1
    return float(contains_answer(reply, golds)), f1


# --------------------------------------------------------------------------- run
async def evaluate_qa(ctx: Any, dataset: Path, llm: Any, *, limit: int | None = 60,
                      calibration: bool = True) -> EvalOutcome:
    """Run the dataset's questions through the product's draft path (see the module docs).

    ``calibration``: each tenant's covered thresholds are fitted from its content when it is
    published, as in production (``assist/coverage.py``, with the run's chat model for the
    cross-lingual probes); False: the configured thresholds (``retrieval.min_dense_score``)."""
    from assist.db import Database
    from assist.pipeline import AssistPipeline
    from eval.retrieval import _parse_corpus
    from kb_ingest.indexing import Indexer

    items = load_items(dataset, limit)
    tmp = Path(tempfile.mkdtemp(prefix="assist-qa-"))
    s = ctx.settings.model_copy(update={
        "home": tmp, "database_url": None, "models_path": ctx.settings.models_dir.resolve(),
        "qdrant": ctx.settings.qdrant.model_copy(update={"mode": "edge", "path": None}),
    })
    db = Database(s.resolved_database_url)
    db.migrate()
    pipe = AssistPipeline.from_settings(s, llm=llm, db=db, embedder=ctx.pipeline.embedder)
    indexer = Indexer(settings=s, db=db, store=pipe.store, embedder=pipe.embedder, sparse=pipe.retriever.sparse)
    fits: dict[str, dict[str, Any]] = {}
    if calibration:
        from assist.calibration import CalibrationStore
        from assist.coverage import CoverageCalibrator

        cal_store = pipe.retriever.calibration
        assert isinstance(cal_store, CalibrationStore)
        indexer.coverage = CoverageCalibrator(settings=s, db=db, store=pipe.store, embedder=pipe.embedder,
                                              sparse=pipe.retriever.sparse, calibrations=cal_store, llm=llm)
    ingested: set[str] = set()
    records: list[EvalItemRecord] = []
    per_cat: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    ingest_s = 0.0
    try:
        with progress(len(items), f"qa {dataset.name}") as advance:
            for item in items:
                tenant = "qa-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", item.group)[:60]
                if item.group not in ingested:
                    t0 = time.perf_counter()
                    path = tmp / f"{tenant}.jsonl"
                    with path.open("w", encoding="utf-8") as fh:
                        for r in item.rows:
                            fh.write(json.dumps({"id": r["id"], "title": r.get("title", ""), "text": r["text"],
                                                 "language": item.language}, ensure_ascii=False) + "\n")
                    articles = _parse_corpus(path, s.ingest.max_file_bytes)
                    await indexer.ingest_articles(articles, tenant=tenant, publish=True)
                    await indexer.settle()  # the publish-time calibration, finished before the questions
                    pipe.invalidate_entities(tenant)
                    if calibration:
                        fitted = pipe.retriever.calibration(tenant) if pipe.retriever.calibration else None
                        fits[tenant] = _fit_summary(fitted)
                    ingested.add(item.group)
                    ingest_s += time.perf_counter() - t0
                conv = Conversation(tenant=tenant, turns=item.turns, language=item.language)  # type: ignore[arg-type]
                t0 = time.perf_counter()
                try:
                    draft = await pipe.draft(conv)
                except InputError as e:  # e.g. a turn over the message limit: counted, not fatal
                    draft = Draft(id=item.id, text="", status="no_draft", language=item.language,  # type: ignore[arg-type]
                                  flags=["input_error"], detail=e.message)
                seconds = time.perf_counter() - t0
                latencies.append(seconds)
                statuses[draft.status] += 1
                profile = pipe.registry.profile(tenant)
                phrases = [p for sec in ("greeting", "closing") for p in profile.phrases(item.language, sec)]
                m = _score(item, draft, phrases)
                for k, v in m.items():
                    per_cat[item.category][k].append(v)
                records.append(EvalItemRecord(item_id=item.id, metrics={**m, "seconds": round(seconds, 3)}, detail={
                    "category": item.category, "question": item.turns[-1].text[:300], "status": draft.status,
                    "reply": draft.text[:500], "flags": draft.flags, "golds": [str(g)[:200] for g in item.golds[:3]],
                }))
                advance(1)
    finally:
        await pipe.close()
        shutil.rmtree(tmp, ignore_errors=True)
    metrics = _summary(dataset.name, items, per_cat, latencies, statuses, ingest_s)
    metrics["calibration"] = _calibration_summary(fits) if calibration else "off"
    return EvalOutcome(kind="qa", dataset=dataset.name, metrics=metrics, items=records,
                       config={"limit": limit, "draft_mode": _mode(s), "min_dense_score": s.retrieval.min_dense_score,
                               "calibration": calibration},
                       model_ids=model_ids(s, llm=True) | {"llm": getattr(llm, "model_id", None)})


def _fit_summary(cal: Any) -> dict[str, Any]:
    if cal is None or not cal.coverage_fit:
        return {}
    fit = cal.coverage_fit
    return {"min_dense_score": cal.min_dense_score, "min_sparse_score": cal.min_sparse_score,
            "by_language": {k: v.min_dense_score for k, v in cal.coverage_by_language.items()},
            "probes": fit.get("probes", {}).get("total"), "seconds": fit.get("seconds"),
            "cross_lingual": fit.get("cross_lingual", {}).get("status"),
            "estimated_recall": fit.get("estimates", {}).get("answerable_recall"),
            "estimated_refusal": fit.get("estimates", {}).get("refusal")}


def _calibration_summary(fits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The tenants' fitted thresholds in brief (median, range, fit time)."""
    done = [f for f in fits.values() if f.get("min_dense_score") is not None]
    if not done:
        return {"tenants": len(fits), "fitted": 0}
    dense = sorted(float(f["min_dense_score"]) for f in done)
    secs = sorted(float(f.get("seconds") or 0) for f in done)
    out: dict[str, Any] = {"tenants": len(fits), "fitted": len(done),
                           "min_dense_median": round(statistics.median(dense), 4),
                           "min_dense_range": [dense[0], dense[-1]],
                           "sparse_on": sum(1 for f in done if f.get("min_sparse_score") is not None),
                           "fit_seconds_median": round(statistics.median(secs), 2), "fit_seconds_max": secs[-1],
                           "cross_lingual": dict(Counter(str(f.get("cross_lingual")) for f in done))}
    if len(done) <= 4:
        out["per_tenant"] = fits
    return out


def _mode(settings: Any) -> str:
    from assist.evidence import draft_mode

    return draft_mode(settings)


def _score(item: QaItem, draft: Draft, phrases: Sequence[str] = ()) -> dict[str, float]:
    refused = float(draft.status == "not_covered" or (draft.status != "no_draft" and is_refusal(draft.text)))
    m: dict[str, float] = {"refused": refused, "no_draft": float(draft.status == "no_draft"),
                           "unsupported_drafted": float(bool(audit_claims(draft, phrases, item.turns[-1].text)))}
    if item.category in ANSWERABLE:
        m["correct"], m["f1"] = _correct(item, draft, phrases)
    if item.category in CLARIFY:
        m["clarify"] = float(_asks_back(draft.text))
    return m


def _summary(name: str, items: list[QaItem], per_cat: dict[str, dict[str, list[float]]], latencies: list[float],
             statuses: Counter[str], ingest_s: float) -> dict[str, Any]:
    def pooled(key: str, cats: set[str]) -> float | None:
        vals = [v for c, d in per_cat.items() if c in cats for v in d.get(key, [])]
        return round(mean(vals), 4) if vals else None

    lat = sorted(latencies)
    out: dict[str, Any] = {
        "dataset": name,
        "questions": len(items),
        "answer_correct": pooled("correct", ANSWERABLE),
        "token_f1": pooled("f1", ANSWERABLE),
        "refusal_rate": pooled("refused", REFUSE),
        "clarify_rate": pooled("clarify", CLARIFY),
        "unsupported_drafted": int(sum(sum(d.get("unsupported_drafted", [])) for d in per_cat.values())),
        "answerable_refused": pooled("refused", ANSWERABLE),
        "no_draft": int(statuses.get("no_draft", 0)),
        "statuses": dict(statuses),
        "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
        "latency_p95_s": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 3) if lat else None,
        "ingest_s": round(ingest_s, 1),
        "by_category": {c: {"n": len(next(iter(d.values()), [])), **rounded({k: mean(v) for k, v in d.items()})}
                        for c, d in sorted(per_cat.items())},
    }
    return out


# --------------------------------------------------------------------------- command
def qa(
    dataset: Annotated[Path, typer.Option("--dataset", help="A QA dataset folder (zh_cjrc_rc, en_mtrag_un, "
                                                             "en_emanual_qa, zh_rgb_rag).")],
    limit: Annotated[int | None, typer.Option("--limit", help="First N questions (round-robin over categories).")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write report.html + summary.md here.")] = None,
    items: Annotated[Path | None, typer.Option("--items", help="Also write each question's result (JSONL).")] = None,
    calibration: Annotated[str, typer.Option(
        "--calibration", help="on: each tenant's covered thresholds are fitted from its content at publish "
                              "(as in production); off: the configured ones; both: off then on, in one run "
                              "(the off figures under calibration_off).")] = "on",
) -> None:
    """Answers through the full draft path on real-document QA sets: correctness, refusal,
    clarification, unsupported drafts, latency (each question's knowledge in a fresh tenant)."""
    from eval.cli import _with_llm

    if not dataset.is_dir():
        raise typer.BadParameter(f"{dataset} is not a folder", param_hint="--dataset")
    if calibration not in ("on", "off", "both"):
        raise typer.BadParameter("on, off or both", param_hint="--calibration")

    async def run(ctx: Any, llm: Any) -> EvalOutcome:
        off = None
        if calibration == "both":  # the same questions without, then with, in one model-server run
            off = await evaluate_qa(ctx, dataset, llm, limit=limit, calibration=False)
        outcome = await evaluate_qa(ctx, dataset, llm, limit=limit, calibration=calibration != "off")
        if off is not None:
            outcome.metrics["calibration_off"] = {k: v for k, v in off.metrics.items() if k != "calibration"}
        if items is not None:
            with items.open("w", encoding="utf-8") as fh:
                for r in outcome.items:
                    fh.write(json.dumps({"id": r.item_id, **r.metrics, **r.detail}, ensure_ascii=False) + "\n")
        return outcome

    _with_llm(run, as_json=as_json, report=report)
