"""Per-tenant coverage calibration from the tenant's own content, at publish time.

The "covered" decision (:meth:`assist.retrieval.Retriever.is_covered`: the best dense
cosine reaches ``min_dense_score``, or the best BM25 score reaches ``min_sparse_score``)
needs thresholds that fit the tenant's knowledge and embedder: the ones calibrated on the
sample knowledge base refuse most questions about long real documents and every question
asked in the other language. This module fits them per tenant, from what the tenant
published, without labelled questions:

1. **Probes** (:func:`make_probes`): questions made from each live article: its FAQ
   question phrasings, its headings and title turned into questions, and the first
   sentence of its sections (cut to a question's length); capped per article and per
   tenant. With a chat model, a sample is translated into the other language (zh <-> en;
   one structured call per direction, bounded in count and time): the cross-lingual probes.
2. **Positives**: each probe's best dense cosine and BM25 score against the tenant's live
   index (what an answerable question scores).
3. **Negatives**: the same probes with their own article left out (leave-one-article-out:
   the best score among the *other* articles, what a question whose article is absent
   scores), plus a neutral off-topic reference set shipped with the product
   (``assist/resources/coverage_reference.yaml``, zh and en), which carries tenants with
   one or few articles.
4. **Fit** (:func:`fit_thresholds`): covered = dense >= t_d or sparse >= t_s. Among the
   thresholds that keep at least ``coverage.min_recall`` of the positives covered, the
   best balanced accuracy (mean of positive recall and negative refusal) wins; within
   ``tolerance`` of the best, the *lowest* thresholds win (probes copied from an article
   score higher against it than a customer's own words do, so the edge of the negatives,
   not the middle of the gap, is where a real question's score is still covered). The
   dense threshold is clamped to ``coverage.dense_range`` and never below the score that
   refuses ``coverage.reference_refusal`` of the off-topic reference questions. A BM25
   threshold (an "or" rule) is kept when it raises the objective of dense alone at all
   (measured on the sample KB: requiring a gain of 0.02 dropped it for Chinese questions
   and lost two answerable golden items to it).
   The fit runs for all probes and, where a language has enough probes, per query
   language (a lower threshold for cross-lingual questions where the data says so).

The result is stored in the tenant's :class:`~assist.calibration.TenantCalibration`
(``min_dense_score``, ``min_sparse_score``, ``coverage_by_language`` and the
``coverage_fit`` report: probes, scores, chosen thresholds, estimated recall and refusal,
when, from which revisions and embedder).

Example:
    >>> cal = CoverageCalibrator(settings=s, db=db, store=store, embedder=e5, sparse=bm25,
    ...                          calibrations=CalibrationStore(home / "calibration"))  # doctest: +SKIP
    >>> (await cal.calibrate("nova")).min_dense_score                                   # doctest: +SKIP
    0.84
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import yaml

from assist.calibration import CalibrationStore, CoverageThresholds, TenantCalibration
from assist.resources import resource_path
from assist.text.lang import Lang, detect_language
from assist.text.sentences import clause_spans, sentences
from assist.types import BlockKind, ChatMessage, GenSettings, SearchFilter

if TYPE_CHECKING:
    from assist.config import Settings
    from assist.db import Database
    from assist.db.articles import RevisionRecord
    from assist.embedders.base import Embedder
    from assist.llm.base import ChatModel
    from assist.prompts import PromptLibrary
    from assist.sparse import SparseEncoder
    from assist.stores.base import VectorStore

log = logging.getLogger(__name__)

__all__ = [
    "CoverageCalibrator",
    "FitResult",
    "Probe",
    "ProbeScores",
    "fit_thresholds",
    "make_probes",
    "reference_questions",
]

ProbeKind = Literal["faq", "heading", "sentence", "translated"]
LANGUAGES: tuple[Lang, Lang] = ("zh", "en")
MIN_LANGUAGE_POSITIVES = 8
"""A language gets its own thresholds only with this many probes in it."""
SPARSE_MIN_GAIN = 0.0
"""A BM25 threshold is kept when it adds more than this to the objective of dense alone."""
_HEADING_TEMPLATES = {
    "zh": ("关于{h}，有什么规定？", "{h}是什么？", "{h}怎么办？"),
    "en": ("What about {h}?", "What is {h}?", "How does {h} work?"),
}
_MAX_PROBE_CHARS = {"zh": 40, "en": 160}
_SEARCH_K = 20
MAX_CACHED_VECTORS = 20_000
MODEL_RETRY_S = 300.0
DUPLICATE_MARGIN = 0.01
"""A leave-one-article-out score within this of the probe's own article's is no negative."""


# --------------------------------------------------------------------------- probes
@dataclass(frozen=True)
class Probe:
    """A question made from an article (see the module docs)."""

    text: str
    article_id: str
    kind: ProbeKind
    language: str
    """The probe's own language (a translated probe's is the other one)."""


def _question_from_heading(heading: str, language: str, i: int) -> str:
    h = heading.strip().strip("#").strip()
    if h.endswith(("?", "？")):
        return h
    templates = _HEADING_TEMPLATES["zh" if language == "zh" else "en"]
    return templates[i % len(templates)].format(h=h)


def _cut(sentence: str, language: str) -> str:
    """A sentence cut to a question's length: whole clauses up to the language's limit."""
    limit = _MAX_PROBE_CHARS["zh" if language == "zh" else "en"]
    s = sentence.strip()
    if len(s) <= limit:
        return s.rstrip("。.!！;；")
    out = ""
    for a, b in clause_spans(s):
        piece = s[a:b]
        if out and len(out) + len(piece) + 1 > limit:
            break
        out = f"{out}，{piece}" if out and language == "zh" else (f"{out}, {piece}" if out else piece)
    return (out or s[:limit]).strip()


def _article_probes(rev: RevisionRecord, per_article: int) -> list[Probe]:
    """Up to ``per_article`` probes of one article, the kinds taken in turn (FAQ phrasing,
    heading, first sentence, ...) so each kind the article has is represented."""
    lang = rev.meta.language
    aid = rev.article_id
    faq: list[str] = []
    headings: list[str] = []
    firsts: list[str] = []
    rest: list[str] = []
    seen_sections: set[tuple[str, ...]] = set()
    if rev.meta.title.strip():
        headings.append(rev.meta.title.strip())
    for b in rev.blocks:
        if b.kind == BlockKind.FAQ and b.question:
            faq.extend([b.question, *b.alt_questions])
            continue
        for h in b.heading_path:
            if h.strip() and h.strip() not in headings:
                headings.append(h.strip())
        if b.kind == BlockKind.TABLE:
            continue
        sents = [s for s in sentences(b.text) if len(s.strip()) >= 6]
        if not sents:
            continue
        if b.heading_path not in seen_sections:
            seen_sections.add(b.heading_path)
            firsts.append(sents[0])
            rest.extend(sents[1:])
        else:
            rest.extend(sents)
    # A long section without headings (a judgment, a plain-text manual page) still gives
    # several probes: evenly spaced sentences after the first ones.
    if rest:
        step = max(1, len(rest) // max(1, per_article))
        firsts.extend(rest[::step])
    kinds: list[tuple[ProbeKind, list[str]]] = [
        ("faq", faq),
        ("heading", [_question_from_heading(h, lang, i) for i, h in enumerate(headings)]),
        ("sentence", [_cut(s, lang) for s in firsts]),
    ]
    out: list[Probe] = []
    seen: set[str] = set()
    while len(out) < per_article and any(q for _, q in kinds):
        for kind, queue in kinds:
            while queue and len(out) < per_article:
                text = queue.pop(0).strip()
                if len(text) >= 2 and text not in seen:
                    seen.add(text)
                    out.append(Probe(text, aid, kind, detect_language(text, default=lang)))
                    break
    return out


def make_probes(
    revisions: Sequence[RevisionRecord], *, per_article: int = 6, max_probes: int = 400
) -> list[Probe]:
    """Probe questions of the tenant's live articles, round-robin over articles up to
    ``max_probes`` (so a large tenant samples every article rather than the first ones)."""
    per = [_article_probes(r, per_article) for r in revisions]
    out: list[Probe] = []
    depth = 0
    while len(out) < max_probes and any(len(p) > depth for p in per):
        for p in per:
            if len(p) > depth and len(out) < max_probes:
                out.append(p[depth])
        depth += 1
    return out


@lru_cache(maxsize=1)
def reference_questions() -> dict[str, tuple[str, ...]]:
    """The neutral off-topic reference questions per language (package resource)."""
    data = yaml.safe_load(resource_path("coverage_reference.yaml").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(data.get(lang), list) for lang in LANGUAGES):
        raise ValueError("coverage_reference.yaml: a list of questions under zh and under en")
    return {lang: tuple(str(q) for q in data[lang] if str(q).strip()) for lang in LANGUAGES}


# --------------------------------------------------------------------------- fit
@dataclass
class ProbeScores:
    """Scores of questions against the tenant's index: dense cosines and BM25 scores
    (0 where the question has no lexical term)."""

    dense: np.ndarray
    sparse: np.ndarray

    @classmethod
    def of(cls, dense: Sequence[float], sparse: Sequence[float]) -> ProbeScores:
        return cls(np.asarray(dense, dtype=float), np.asarray(sparse, dtype=float))

    def __len__(self) -> int:
        return len(self.dense)

    def concat(self, other: ProbeScores) -> ProbeScores:
        return ProbeScores(
            np.concatenate([self.dense, other.dense]), np.concatenate([self.sparse, other.sparse])
        )


@dataclass
class FitResult:
    """Chosen thresholds and what they do on the fitting probes."""

    min_dense_score: float
    min_sparse_score: float | None
    recall: float
    """Share of the positives covered."""
    refusal: float
    """Share of the negatives refused."""
    reference_refusal: float | None
    """Share of the off-topic reference questions refused (None: none given)."""
    balanced_accuracy: float
    positives: int
    negatives: int
    basis: str = "fitted"
    """``fitted`` (positives and negatives), ``negatives_only`` (no probe in the language:
    the threshold that still refuses the reference questions), ``clamped``."""

    def report(self) -> dict[str, Any]:
        return {
            "min_dense_score": round(self.min_dense_score, 4),
            "min_sparse_score": None if self.min_sparse_score is None else round(self.min_sparse_score, 3),
            "recall": round(self.recall, 3),
            "refusal": round(self.refusal, 3),
            "reference_refusal": None if self.reference_refusal is None else round(self.reference_refusal, 3),
            "balanced_accuracy": round(self.balanced_accuracy, 3),
            "positives": self.positives,
            "negatives": self.negatives,
            "basis": self.basis,
        }


def _candidates(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Threshold candidates: midpoints between neighbouring observed values, plus the
    range ends, inside [lo, hi]."""
    v = np.unique(values[np.isfinite(values)])
    mids = (v[:-1] + v[1:]) / 2 if len(v) > 1 else v
    c = np.unique(np.concatenate([mids, v, [lo, hi]]))
    return c[(c >= lo) & (c <= hi)]


def fit_thresholds(
    pos: ProbeScores,
    neg: ProbeScores,
    *,
    reference: ProbeScores | None = None,
    min_recall: float = 0.9,
    dense_range: tuple[float, float] = (0.5, 0.97),
    reference_refusal: float = 0.95,
    tolerance: float = 0.01,
    use_sparse: bool = True,
    recall_weight: float = 0.5,
) -> FitResult:
    """Choose (min_dense, min_sparse) for "covered = dense >= t_d or sparse >= t_s".

    ``neg`` holds the leave-one-article-out negatives; ``reference`` the off-topic reference
    questions (also negatives; and the dense threshold never drops below the score that
    refuses ``reference_refusal`` of them). Criterion: among candidates that keep
    ``min_recall`` of the positives (all candidates when none does, then the one with the
    best recall), the best weighted accuracy ``recall_weight * recall + (1 - recall_weight) *
    refusal`` (0.5: balanced accuracy); within ``tolerance`` of it, the highest recall, then
    the lowest dense threshold. See the module docs for why.
    """
    negs = neg.concat(reference) if reference is not None and len(reference) else neg
    lo, hi = dense_range
    if reference is not None and len(reference):
        floor = float(np.quantile(reference.dense, reference_refusal, method="higher")) + 1e-4
        lo = min(max(lo, floor), hi)
    if not len(pos):
        # No probe: the lowest threshold that still refuses the reference questions.
        ref_ref = float(np.mean(reference.dense < lo)) if reference is not None and len(reference) else None
        return FitResult(
            lo,
            None,
            0.0,
            float(np.mean(negs.dense < lo)) if len(negs) else 1.0,
            ref_ref,
            0.0,
            0,
            len(negs),
            basis="negatives_only",
        )
    d_cand = _candidates(np.concatenate([pos.dense, negs.dense]), lo, hi)

    def evaluate(t_s: float | None) -> tuple[np.ndarray, np.ndarray]:
        pc = pos.dense[None, :] >= d_cand[:, None]
        nc = negs.dense[None, :] >= d_cand[:, None] if len(negs) else np.zeros((len(d_cand), 0), bool)
        if t_s is not None:
            pc |= (pos.sparse >= t_s)[None, :]
            if len(negs):
                nc |= (negs.sparse >= t_s)[None, :]
        recall = pc.mean(axis=1)
        refusal = 1.0 - nc.mean(axis=1) if len(negs) else np.ones(len(d_cand))
        return recall, refusal

    def best(t_s: float | None) -> tuple[float, float, float, float]:
        recall, refusal = evaluate(t_s)
        ba = recall_weight * recall + (1.0 - recall_weight) * refusal
        ok = recall >= min_recall - 1e-12
        if not ok.any():
            ok = recall >= recall.max() - 1e-12
        top = ba[ok].max()
        near = ok & (ba >= top - tolerance)
        # highest recall, then the lowest dense threshold
        idx = [i for i in np.flatnonzero(near)]
        i = min(idx, key=lambda j: (-recall[j], d_cand[j]))
        return float(d_cand[i]), float(recall[i]), float(refusal[i]), float(ba[i])

    t_d, rec, ref, ba = best(None)
    t_s: float | None = None
    if use_sparse and np.any(pos.sparse > 0):
        s_all = np.concatenate([pos.sparse, negs.sparse])
        s_cand = np.unique(np.quantile(s_all[s_all > 0], np.linspace(0.5, 1.0, 21)))
        for cand in s_cand:
            d, r, f, b = best(float(cand))
            if b > ba + SPARSE_MIN_GAIN and r >= min(rec, min_recall):
                t_d, rec, ref, ba, t_s = d, r, f, b, float(cand)
    ref_refusal = None
    if reference is not None and len(reference):
        covered = reference.dense >= t_d
        if t_s is not None:
            covered |= reference.sparse >= t_s
        ref_refusal = float(1.0 - covered.mean())
    basis = "clamped" if t_d in (lo, hi) and rec < min_recall else "fitted"
    return FitResult(t_d, t_s, rec, ref, ref_refusal, ba, len(pos), len(negs), basis=basis)


def _quantiles(values: np.ndarray) -> dict[str, float] | None:
    if not len(values):
        return None
    qs = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {k: round(float(v), 4) for k, v in zip(("p05", "p25", "p50", "p75", "p95"), qs, strict=True)}


def _histogram(values: np.ndarray, lo: float, hi: float, bins: int = 20) -> list[int]:
    if not len(values):
        return [0] * bins
    h, _ = np.histogram(np.clip(values, lo, hi), bins=bins, range=(lo, hi))
    return [int(x) for x in h]


# --------------------------------------------------------------------------- calibrator
@dataclass
class CoverageCalibrator:
    """Fits and stores a tenant's covered thresholds (see the module docs).

    :meth:`calibrate` does the work; :meth:`schedule` runs it as a background task, one at a
    time per tenant (a publish during a running fit makes it run once more when done);
    :meth:`settle` waits for the running ones. A failed fit is logged and the tenant keeps
    its previous calibration.
    """

    settings: Settings
    db: Database
    store: VectorStore
    embedder: Embedder
    sparse: SparseEncoder
    calibrations: CalibrationStore
    llm: ChatModel | None = None
    """The chat model for cross-lingual probes; None: none (reported as skipped)."""
    prompts: PromptLibrary | None = None
    _tasks: dict[str, asyncio.Task[TenantCalibration | None]] = field(
        default_factory=dict, init=False, repr=False
    )
    _dirty: set[str] = field(default_factory=set, init=False, repr=False)
    _vectors: dict[str, list[float]] = field(default_factory=dict, init=False, repr=False)
    _model_down_until: float = field(default=0.0, init=False, repr=False)
    _answered_elsewhere: int = field(default=0, init=False, repr=False)
    """After a failed translation call the model is not asked again for
    :data:`MODEL_RETRY_S` (a stalled or absent model server must not slow every publish)."""
    """Probe and reference embeddings by text (a re-fit after one publish embeds only the new
    probes); bounded by :data:`MAX_CACHED_VECTORS`."""

    # ------------------------------------------------------------------ scheduling
    def schedule(self, tenant: str) -> asyncio.Task[TenantCalibration | None]:
        """Fit the tenant's thresholds in the background (call from the event loop)."""
        task = self._tasks.get(tenant)
        if task is not None and not task.done():
            self._dirty.add(tenant)
            return task
        task = asyncio.get_running_loop().create_task(self._run(tenant), name=f"coverage-{tenant}")
        self._tasks[tenant] = task
        return task

    async def _run(self, tenant: str) -> TenantCalibration | None:
        result: TenantCalibration | None = None
        while True:
            self._dirty.discard(tenant)
            try:
                result = await self.calibrate(tenant)
            except asyncio.CancelledError:
                log.warning("coverage calibration of tenant %s cancelled; the previous one stays", tenant)
                raise
            except Exception:
                log.exception("coverage calibration of tenant %s failed; the previous one stays", tenant)
            if tenant not in self._dirty:
                return result

    async def settle(self, wait_s: float | None = None) -> bool:
        """Wait for the running fits (at most ``wait_s`` seconds); True when all are done."""
        pending = [t for t in self._tasks.values() if not t.done()]
        if not pending:
            return True
        _, still = await asyncio.wait(pending, timeout=wait_s)
        return not still

    # ------------------------------------------------------------------ the fit
    def _live_revisions(self, tenant: str) -> list[RevisionRecord]:
        from assist.db import ArticleRepository

        repo = ArticleRepository(self.db)
        live = {a.id: a.live_revision for a in repo.list_articles(tenant) if a.live_revision is not None}
        return [r for r in repo.indexed_revisions(tenant) if live.get(r.article_id) == r.revision]

    async def calibrate(self, tenant: str, *, force: bool = True) -> TenantCalibration | None:
        """Fit and store the tenant's thresholds; None when it has no live article (nothing
        stored). ``force=False`` skips the fit when the live revisions and the embedder are
        those of the stored fit."""
        t0 = time.perf_counter()
        cs = self.settings.coverage
        revisions = self._live_revisions(tenant)
        if not revisions:
            log.info("coverage calibration: tenant %s has no live article", tenant)
            return None
        pairs = sorted((r.article_id, r.revision) for r in revisions)
        digest = hashlib.sha1(json.dumps(pairs).encode()).hexdigest()[:16]
        current = self.calibrations.get(tenant)
        if (
            not force
            and current is not None
            and current.coverage_fit.get("revisions_digest") == digest
            and current.coverage_fit.get("embedder") == self.embedder.model_id
        ):
            return current
        probes = make_probes(revisions, per_article=cs.probes_per_article, max_probes=cs.max_probes)
        translated, cross = await self._cross_lingual(probes)
        probes = probes + translated
        article_ids = sorted({r.article_id for r in revisions})
        self._answered_elsewhere = 0
        pos_d, pos_s, neg_d, neg_s, neg_lang = await self._score_probes(tenant, probes, article_ids)
        refs = reference_questions()
        ref_texts = [q for lang in LANGUAGES for q in refs[lang]]
        ref_langs = [lang for lang in LANGUAGES for _ in refs[lang]]
        ref_d, ref_s = await self._score_plain(tenant, ref_texts)
        plangs = np.asarray([p.language for p in probes])
        pos = ProbeScores.of(pos_d, pos_s)
        loao = ProbeScores.of(
            [d for d in neg_d if d is not None],
            [s for d, s in zip(neg_d, neg_s, strict=True) if d is not None],
        )
        loao_lang = np.asarray([lang for d, lang in zip(neg_d, neg_lang, strict=True) if d is not None])
        ref = ProbeScores.of(ref_d, ref_s)
        rlangs = np.asarray(ref_langs)
        kw: dict[str, Any] = {
            "min_recall": cs.min_recall,
            "dense_range": tuple(cs.dense_range),
            "reference_refusal": cs.reference_refusal,
            "recall_weight": cs.recall_weight,
        }
        overall = fit_thresholds(pos, loao, reference=ref, **kw)
        by_lang: dict[str, FitResult] = {}
        for lang in LANGUAGES:
            pm, nm, rm = plangs == lang, loao_lang == lang, rlangs == lang
            lang_ref = ProbeScores(ref.dense[rm], ref.sparse[rm])
            if int(pm.sum()) >= MIN_LANGUAGE_POSITIVES:
                by_lang[lang] = fit_thresholds(
                    ProbeScores(pos.dense[pm], pos.sparse[pm]),
                    ProbeScores(loao.dense[nm], loao.sparse[nm]),
                    reference=lang_ref,
                    **kw,
                )
            else:
                # No probes in this language (no chat model for cross-lingual ones): the
                # overall threshold, lowered to what still refuses this language's
                # off-topic reference questions.
                only = fit_thresholds(
                    ProbeScores.of([], []), ProbeScores.of([], []), reference=lang_ref, **kw
                )
                if only.min_dense_score < overall.min_dense_score:
                    by_lang[lang] = only
        if cs.never_stricter:
            # The probes overstate how close a customer's question comes (they are copied
            # from the articles), so a fit above the configured thresholds is the unreliable
            # direction: it refused most answerable questions of a phone manual (quality.md).
            rs = self.settings.retrieval
            for fit in [overall, *by_lang.values()]:
                _cap(fit, rs.min_dense_score, rs.min_sparse_score)
        seconds = time.perf_counter() - t0
        lo, hi = 0.5, 1.0
        report: dict[str, Any] = {
            "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "embedder": self.embedder.model_id,
            "articles": len(revisions),
            "revisions": dict(pairs[:50]),
            "revisions_digest": digest,
            "probes": {
                "total": len(probes),
                "by_kind": {
                    k: int(sum(1 for p in probes if p.kind == k))
                    for k in ("faq", "heading", "sentence", "translated")
                },
                "by_language": {lang: int((plangs == lang).sum()) for lang in LANGUAGES},
                "examples": [
                    {"text": p.text[:120], "kind": p.kind, "article": p.article_id} for p in probes[:6]
                ],
            },
            "cross_lingual": cross,
            "positives": len(pos),
            "negatives": {
                "leave_one_article_out": len(loao),
                "reference": len(ref),
                "answered_elsewhere": self._answered_elsewhere,
            },
            "distributions": {
                "positive_dense": _quantiles(pos.dense),
                "negative_dense": _quantiles(loao.dense),
                "reference_dense": _quantiles(ref.dense),
                "positive_sparse": _quantiles(pos.sparse),
                "negative_sparse": _quantiles(loao.sparse),
                "histogram_range": [lo, hi],
                "histogram_positive_dense": _histogram(pos.dense, lo, hi),
                "histogram_negative_dense": _histogram(loao.dense, lo, hi),
                "histogram_reference_dense": _histogram(ref.dense, lo, hi),
            },
            "criterion": (
                f"max {cs.recall_weight} x positive recall + {round(1 - cs.recall_weight, 3)} x negative "
                f"refusal subject to recall >= "
                f"{cs.min_recall}; within 0.01 of the best, the highest recall then the lowest "
                f"threshold; dense clamped to {list(cs.dense_range)} and >= the score refusing "
                f"{cs.reference_refusal} of the off-topic reference questions; BM25 only when it adds "
                f">= {SPARSE_MIN_GAIN} to the objective"
            ),
            "thresholds": {"all": overall.report(), **{k: v.report() for k, v in by_lang.items()}},
            "estimates": {
                "answerable_recall": round(overall.recall, 3),
                "refusal": round(overall.refusal, 3),
                "reference_refusal": overall.reference_refusal,
            },
            "seconds": round(seconds, 2),
        }
        cal = self.calibrations.update(
            tenant,
            min_dense_score=round(overall.min_dense_score, 4),
            min_sparse_score=None if overall.min_sparse_score is None else round(overall.min_sparse_score, 3),
            coverage_by_language={
                k: CoverageThresholds(
                    min_dense_score=round(v.min_dense_score, 4),
                    min_sparse_score=None if v.min_sparse_score is None else round(v.min_sparse_score, 3),
                )
                for k, v in by_lang.items()
            },
            coverage_fit=report,
        )
        log.info(
            "coverage calibration of tenant %s: dense %.4f sparse %s (%d probes, %d articles, %.1f s)",
            tenant,
            overall.min_dense_score,
            overall.min_sparse_score,
            len(probes),
            len(revisions),
            seconds,
        )
        return cal

    # ------------------------------------------------------------------ parts
    async def _cross_lingual(self, probes: list[Probe]) -> tuple[list[Probe], dict[str, Any]]:
        """Translations of a sample of the probes into the other language (structured
        output, one call per direction, bounded count and time)."""
        cs = self.settings.coverage
        if not cs.cross_lingual or cs.cross_lingual_probes == 0:
            return [], {"status": "off"}
        if self.llm is None:
            return [], {"status": "skipped: no chat model"}
        if time.monotonic() < self._model_down_until:
            return [], {"status": "skipped: the chat model failed recently"}
        prompts = self.prompts
        if prompts is None:
            from assist.prompts import PromptLibrary

            prompts = self.prompts = PromptLibrary()
        out: list[Probe] = []
        info: dict[str, Any] = {"status": "fitted", "directions": {}}
        for src in LANGUAGES:
            dst: Lang = "en" if src == "zh" else "zh"
            pool = [p for p in probes if p.language == src]
            if not pool:
                continue
            step = max(1, len(pool) // cs.cross_lingual_probes)
            sample = pool[::step][: cs.cross_lingual_probes]
            t0 = time.perf_counter()
            try:
                texts = await asyncio.wait_for(
                    self._translate([p.text for p in sample], dst, prompts), timeout=cs.model_timeout_s
                )
            except Exception as e:  # the model is optional: a failure only skips these probes
                log.warning(
                    "coverage calibration: translating probes %s->%s failed (%s: %s); cross-lingual "
                    "probes skipped for %.0f s",
                    src,
                    dst,
                    type(e).__name__,
                    e,
                    MODEL_RETRY_S,
                )
                info["directions"][f"{src}->{dst}"] = {"status": f"failed: {type(e).__name__}"}
                self._model_down_until = time.monotonic() + MODEL_RETRY_S
                break
            kept = [
                Probe(t, p.article_id, "translated", dst)
                for p, t in zip(sample, texts, strict=False)
                if t and detect_language(t, default=src) == dst
            ]
            out.extend(kept)
            info["directions"][f"{src}->{dst}"] = {
                "asked": len(sample),
                "kept": len(kept),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        if not info["directions"]:
            info["status"] = "skipped: no probes"
        elif not out:
            info["status"] = "failed"
        return out, info

    async def _translate(self, texts: list[str], language: str, prompts: PromptLibrary) -> list[str]:
        assert self.llm is not None
        n = len(texts)
        schema = {
            "type": "object",
            "additionalProperties": False,
            "required": ["questions"],
            "properties": {
                "questions": {
                    "type": "array",
                    "minItems": n,
                    "maxItems": n,
                    "items": {"type": "string", "maxLength": 200},
                }
            },
        }
        prompt = prompts.render("coverage_translate", language, n=n, questions=texts)
        gen = GenSettings(
            temperature=0.0,
            max_tokens=min(60 * n + 40, 1200),
            json_schema=schema,
            timeout_s=self.settings.coverage.model_timeout_s,
        )
        done = await self.llm.complete(
            [
                ChatMessage(role="system", content="Output JSON only."),
                ChatMessage(role="user", content=prompt),
            ],
            settings=gen,
        )
        raw = done.text.strip()
        m = re.search(r"\{.*\}", raw, re.S)
        data = json.loads(m.group(0) if m else raw)
        qs = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(qs, list):
            raise ValueError("no questions in the reply")
        return [str(q).strip()[:200] for q in qs[:n]]

    async def _score_probes(
        self, tenant: str, probes: list[Probe], article_ids: list[str]
    ) -> tuple[list[float], list[float], list[float | None], list[float], list[str]]:
        """Per probe: best dense and BM25 score over the tenant (positives), and over the
        other articles (leave-one-article-out negatives; None when there is no other)."""
        f = SearchFilter(tenant=tenant)
        vecs = await self._embed([p.text for p in probes])
        pos_d: list[float] = []
        pos_s: list[float] = []
        neg_d: list[float | None] = []
        neg_s: list[float] = []
        langs: list[str] = []
        multi = len(article_ids) > 1
        for p, vec in zip(probes, vecs, strict=True):
            others = [a for a in article_ids if a != p.article_id] if multi else []
            hits = await self.store.search(dense=vec, sparse=None, filters=f, top_k=_SEARCH_K)
            top = max((_dense(h) for h in hits), default=0.0)
            own = max((_dense(h) for h in hits if h.chunk.article_id == p.article_id), default=None)
            other = max((_dense(h) for h in hits if h.chunk.article_id != p.article_id), default=None)
            if other is None and others:
                more = await self.store.search(
                    dense=vec, sparse=None, top_k=1, filters=f.model_copy(update={"article_ids": others})
                )
                other = _dense(more[0]) if more else None
            if other is not None and own is not None and other >= own - DUPLICATE_MARGIN:
                # Another article matches as well as the probe's own one: the knowledge is
                # there twice (an FAQ and the policy it restates, a zh/en pair), so the probe
                # without its article is still answerable: no negative.
                other = None
                self._answered_elsewhere += 1
            sv = self.sparse.encode_query(p.text)
            s_top, s_other = 0.0, 0.0
            if sv.indices:
                shits = await self.store.search(dense=None, sparse=sv, filters=f, top_k=_SEARCH_K)
                s_top = max((_sparse(h) for h in shits), default=0.0)
                s_hit = max((_sparse(h) for h in shits if h.chunk.article_id != p.article_id), default=None)
                if s_hit is None and others:
                    smore = await self.store.search(
                        dense=None, sparse=sv, top_k=1, filters=f.model_copy(update={"article_ids": others})
                    )
                    s_hit = _sparse(smore[0]) if smore else None
                s_other = s_hit or 0.0
            pos_d.append(top)
            pos_s.append(s_top)
            neg_d.append(other)
            neg_s.append(s_other)
            langs.append(p.language)
        return pos_d, pos_s, neg_d, neg_s, langs

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        """Query embeddings, from the cache where present (batched for the rest)."""
        prefix = self.embedder.model_id + "\x00"
        todo = list(dict.fromkeys(t for t in texts if prefix + t not in self._vectors))
        if todo:
            if len(self._vectors) + len(todo) > MAX_CACHED_VECTORS:
                self._vectors.clear()
            for t, v in zip(todo, await self.embedder.embed_queries(todo), strict=True):
                self._vectors[prefix + t] = v
        return [self._vectors[prefix + t] for t in texts]

    async def _score_plain(self, tenant: str, texts: list[str]) -> tuple[list[float], list[float]]:
        """Best dense and BM25 score of the reference questions."""
        f = SearchFilter(tenant=tenant)
        vecs = await self._embed(texts)
        dense: list[float] = []
        sparse: list[float] = []
        for text, vec in zip(texts, vecs, strict=True):
            hits = await self.store.search(dense=vec, sparse=None, filters=f, top_k=1)
            dense.append(_dense(hits[0]) if hits else 0.0)
            sv = self.sparse.encode_query(text)
            shits = await self.store.search(dense=None, sparse=sv, filters=f, top_k=1) if sv.indices else []
            sparse.append(_sparse(shits[0]) if shits else 0.0)
        return dense, sparse


def _cap(fit: FitResult, max_dense: float, max_sparse: float | None) -> None:
    """Never stricter than the configured thresholds (``coverage.never_stricter``)."""
    if fit.min_dense_score > max_dense:
        fit.min_dense_score, fit.basis = max_dense, "capped"
    if max_sparse is not None and (fit.min_sparse_score is None or fit.min_sparse_score > max_sparse):
        fit.min_sparse_score = max_sparse
        fit.basis = "capped"


def _dense(h: Any) -> float:
    return float(h.dense_score if h.dense_score is not None else h.score)


def _sparse(h: Any) -> float:
    return float(h.sparse_score if h.sparse_score is not None else h.score)
