"""The coverage fit on synthetic score distributions, the probes, and the thresholds'
resolution per language (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from assist.calibration import CalibrationStore, CoverageThresholds, TenantCalibration
from assist.coverage import ProbeScores, fit_thresholds, make_probes, reference_questions
from assist.db.articles import RevisionRecord
from assist.types import ArticleMeta, Block, BlockKind


def _scores(dense, sparse=None) -> ProbeScores:
    dense = np.asarray(dense, float)
    return ProbeScores(dense, np.zeros_like(dense) if sparse is None else np.asarray(sparse, float))


def test_separated_sides_put_the_threshold_at_the_edge_of_the_negatives() -> None:
    rng = np.random.default_rng(0)
    pos = _scores(rng.uniform(0.90, 0.95, 200))
    neg = _scores(rng.uniform(0.75, 0.85, 200))
    fit = fit_thresholds(pos, neg, dense_range=(0.5, 0.97))
    assert fit.recall == 1.0 and fit.refusal >= 0.97
    # not the middle of the gap (0.875): copied probes overstate a customer's score
    assert 0.83 <= fit.min_dense_score <= 0.851
    assert fit.min_sparse_score is None and fit.basis == "fitted"


def test_overlap_keeps_the_required_recall() -> None:
    rng = np.random.default_rng(1)
    pos = _scores(rng.normal(0.86, 0.03, 400))
    neg = _scores(rng.normal(0.82, 0.03, 400))
    fit = fit_thresholds(pos, neg, min_recall=0.9)
    assert fit.recall >= 0.9
    assert fit.min_dense_score <= np.quantile(pos.dense, 0.1) + 1e-9
    assert 0.5 < fit.balanced_accuracy < 1.0


def test_reference_questions_set_a_floor_and_carry_a_single_article_tenant() -> None:
    pos = _scores([0.90, 0.91, 0.92])
    no_loao = _scores([])
    ref = _scores(np.linspace(0.60, 0.82, 48))
    fit = fit_thresholds(pos, no_loao, reference=ref, reference_refusal=0.95)
    assert fit.min_dense_score > np.quantile(ref.dense, 0.95)
    assert fit.recall == 1.0 and fit.reference_refusal is not None and fit.reference_refusal >= 0.95
    assert fit.negatives == 48


def test_negatives_only_gives_the_reference_floor() -> None:
    ref = _scores(np.linspace(0.60, 0.75, 40))
    fit = fit_thresholds(_scores([]), _scores([]), reference=ref, reference_refusal=0.95)
    assert fit.basis == "negatives_only"
    assert 0.74 < fit.min_dense_score < 0.76


def test_clamped_to_the_range() -> None:
    pos = _scores([0.30, 0.32, 0.35])
    neg = _scores([0.10, 0.12])
    assert fit_thresholds(pos, neg, dense_range=(0.5, 0.97)).min_dense_score == 0.5


def test_sparse_rule_only_when_it_adds_balanced_accuracy() -> None:
    # Dense cannot separate; BM25 can: the lexical rule is switched on.
    rng = np.random.default_rng(2)
    pos = _scores(rng.uniform(0.80, 0.90, 100), rng.uniform(15, 25, 100))
    neg = _scores(rng.uniform(0.80, 0.90, 100), rng.uniform(2, 8, 100))
    fit = fit_thresholds(pos, neg)
    assert fit.min_sparse_score is not None and 8 <= fit.min_sparse_score <= 15
    assert fit.balanced_accuracy > 0.9
    # Dense separates already: no lexical rule.
    pos2 = _scores(rng.uniform(0.90, 0.95, 100), rng.uniform(15, 25, 100))
    neg2 = _scores(rng.uniform(0.70, 0.80, 100), rng.uniform(2, 8, 100))
    assert fit_thresholds(pos2, neg2).min_sparse_score is None


def _rev(aid: str, blocks: list[Block], title: str = "", language: str = "zh") -> RevisionRecord:
    from datetime import UTC, datetime

    meta = ArticleMeta(id=aid, title=title, language=language)  # type: ignore[arg-type]
    return RevisionRecord(
        tenant="t",
        article_id=aid,
        revision=1,
        content_hash="h",
        meta=meta,
        blocks=blocks,
        chunk_ids=[],
        state="published",
        index_state="live",
        created_by=None,
        created_at=datetime.now(UTC),
    )


def test_probes_take_faq_phrasings_headings_and_first_sentences() -> None:
    faq = Block(
        kind=BlockKind.FAQ,
        text="Q/A",
        question="退款多久到账？",
        alt_questions=("钱什么时候退回来",),
        answer="3-7个工作日。",
        heading_path=("退款",),
    )
    text = Block(
        text="退款申请提交后，客服会在24小时内审核。审核通过后原路退回。", heading_path=("退款流程",)
    )
    en = Block(text="Orders ship within two days. Tracking is sent by e-mail.", heading_path=("Shipping",))
    probes = make_probes(
        [_rev("refund", [faq, text], "退款政策"), _rev("ship", [en], "Shipping", "en")], per_article=4
    )
    kinds = {(p.article_id, p.kind) for p in probes}
    assert {
        ("refund", "faq"),
        ("refund", "heading"),
        ("refund", "sentence"),
        ("ship", "heading"),
        ("ship", "sentence"),
    } <= kinds
    texts = [p.text for p in probes]
    assert "退款多久到账？" in texts and any(t.startswith("退款申请提交后") for t in texts)
    assert any("退款政策" in t and t.endswith("？") for t in texts)  # a heading as a question
    assert {p.language for p in probes if p.article_id == "ship"} == {"en"}
    assert len([p for p in probes if p.article_id == "refund"]) <= 4


def test_probes_are_capped_round_robin_over_articles() -> None:
    revs = [
        _rev(f"a{i}", [Block(text=f"第{i}条规定。" * 3 + "其他说明在这里。", heading_path=(f"章节{i}",))])
        for i in range(30)
    ]
    probes = make_probes(revs, per_article=6, max_probes=40)
    assert len(probes) == 40
    assert len({p.article_id for p in probes}) == 30  # every article before a second probe of any


def test_reference_set_has_both_languages() -> None:
    refs = reference_questions()
    assert len(refs["zh"]) >= 40 and len(refs["en"]) >= 40


def test_thresholds_per_language_and_the_embedder_guard(tmp_path) -> None:
    store = CalibrationStore(tmp_path)
    store.save(
        TenantCalibration(
            tenant="t",
            min_dense_score=0.84,
            min_sparse_score=None,
            coverage_by_language={"en": CoverageThresholds(min_dense_score=0.76)},
            coverage_fit={"embedder": "e5"},
        )
    )
    cal = store.get("t")
    assert cal is not None
    assert cal.coverage_thresholds(0.89, 12.4, language="zh", embedder="e5") == (
        0.84,
        None,
    )  # fitted: BM25 off
    assert cal.coverage_thresholds(0.89, 12.4, language="en", embedder="e5") == (0.76, None)
    assert cal.coverage_thresholds(0.89, 12.4, language="en", embedder="other") == (0.89, 12.4)
    legacy = TenantCalibration(tenant="t", min_dense_score=0.8)  # no fit: None = the configured one
    assert legacy.coverage_thresholds(0.89, 12.4, language="zh") == (0.8, 12.4)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_retriever_uses_the_question_language(language: str, tmp_path) -> None:
    from assist.config import RetrievalSettings
    from assist.retrieval import Retriever

    cal = TenantCalibration(
        tenant="t",
        min_dense_score=0.85,
        coverage_fit={"embedder": "x"},
        coverage_by_language={"en": CoverageThresholds(min_dense_score=0.75)},
    )

    class E:
        model_id = "x"

    r = Retriever(
        embedder=E(),
        sparse=None,
        store=None,
        settings=RetrievalSettings(),  # type: ignore[arg-type]
        calibration=lambda _t: cal,
    )
    covered = r.is_covered(0.8, None, tenant="t", language=language)
    assert covered is (language == "en")


async def test_cross_lingual_probes_from_the_model_and_the_breaker() -> None:
    import json

    from assist.config import Settings
    from assist.coverage import CoverageCalibrator, Probe
    from assist.llm.fake import FakeChatModel

    def translate(messages, settings):
        n = settings.json_schema["properties"]["questions"]["minItems"]
        return json.dumps({"questions": [f"How long does refund {i} take?" for i in range(n)]})

    probes = [Probe(f"退款{i}多久到账？", f"a{i}", "faq", "zh") for i in range(3)]
    s = Settings(_env_file=None)
    cal = CoverageCalibrator(
        settings=s,
        db=None,
        store=None,
        embedder=None,
        sparse=None,  # type: ignore[arg-type]
        calibrations=None,
        llm=FakeChatModel(reply_fn=translate),
    )  # type: ignore[arg-type]
    out, info = await cal._cross_lingual(probes)
    assert info["status"] == "fitted" and info["directions"]["zh->en"]["kept"] == 3
    assert {p.language for p in out} == {"en"} and {p.kind for p in out} == {"translated"}
    assert [p.article_id for p in out] == ["a0", "a1", "a2"]

    down = CoverageCalibrator(
        settings=s,
        db=None,
        store=None,
        embedder=None,
        sparse=None,  # type: ignore[arg-type]
        calibrations=None,
        llm=FakeChatModel(replies=[TimeoutError("stalled")]),
    )  # type: ignore[arg-type]
    out, info = await down._cross_lingual(probes)
    assert out == [] and info["status"] == "failed"
    out, info = await down._cross_lingual(probes)  # not asked again for a while
    assert info["status"].startswith("skipped")
    none = CoverageCalibrator(
        settings=s,
        db=None,
        store=None,
        embedder=None,
        sparse=None,  # type: ignore[arg-type]
        calibrations=None,
    )  # type: ignore[arg-type]
    assert (await none._cross_lingual(probes))[1]["status"] == "skipped: no chat model"
