"""Harness smoke tests on tiny fixtures with fakes (FakeEmbedder + FakeChatModel)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assist.config import Settings
from assist.db.evalruns import EvalRunRepository
from assist.llm.fake import FakeChatModel
from eval.datasets import split_context
from eval.gate import check_gate, flatten
from eval.harness import ir_scores, store_outcome
from eval.rag import answer_ok, mix
from eval.report import write_report
from eval.retrieval import EvalContext, best_threshold, evaluate_beir
from eval.routing import routing_metrics

pytestmark = pytest.mark.unit


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, env="test", home=tmp_path / "home", models_path=tmp_path / "no-models",
                    llm={"provider": "fake"}, embedder={"model": "fake"}, escalation_use_llm=False,
                    tenants_dir=Path(__file__).resolve().parents[3] / "examples" / "tenants")


def test_ir_scores_match_hand_computed_values() -> None:
    run = {"q1": {"d1": 3.0, "d2": 2.0, "d3": 1.0}}
    qrels = {"q1": {"d2": 1, "d4": 1}, "q2": {"d9": 1}}  # q2 got no results: counts as 0
    means, per_q = ir_scores(run, qrels)
    # q1: first relevant at rank 2 -> RR 0.5; 1 of 2 relevant found in the top 5.
    assert per_q["q1"]["mrr@10"] == pytest.approx(0.5)
    assert per_q["q1"]["recall@1"] == 0.0
    assert per_q["q1"]["recall@5"] == pytest.approx(0.5)
    ideal = 1 + 1 / math.log2(3)
    assert per_q["q1"]["ndcg@10"] == pytest.approx((1 / math.log2(3)) / ideal)
    assert per_q["q2"]["ndcg@10"] == 0.0
    assert means["mrr@10"] == pytest.approx(0.25)


def test_routing_metrics_hand_computed() -> None:
    m = routing_metrics(["a", "a", "b", "oos", "oos"], ["a", "b", "b", "oos", "a"])
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["in_scope_accuracy"] == pytest.approx(round(2 / 3, 4))
    assert m["oos_recall"] == pytest.approx(0.5)
    assert m["oos_precision"] == pytest.approx(1.0)
    assert {"gold": "a", "pred": "b", "count": 1} in m["confused"]


def test_routing_operating_curve_trades_in_scope_for_oos_recall() -> None:
    import numpy as np

    from assist.routing import EmbeddingRouter
    from eval.routing import operating_curve

    rng = np.random.default_rng(0)
    centres = {lab: rng.normal(size=16) for lab in ("a", "b", "c")}
    examples = [(f"{lab}{i}", lab) for lab in centres for i in range(10)] + [(f"o{i}", "oos") for i in range(5)]
    x_train = np.stack([centres[lab] + 0.6 * rng.normal(size=16) if lab != "oos" else rng.normal(size=16)
                        for _, lab in examples])
    gold = [lab for lab in centres for _ in range(20)] + ["oos"] * 20
    x_test = np.stack([centres[lab] + 0.6 * rng.normal(size=16) if lab != "oos" else rng.normal(size=16)
                       for lab in gold])
    router = EmbeddingRouter(None, examples, oos_threshold=None, label_names=False,  # type: ignore[arg-type]
                             lexical_weight=0.0)  # vectors only: the curve is about the OOS signal
    router.fit_vectors(x_train)
    curve = operating_curve(router, x_test, gold, budgets=(0.0, 0.1, 0.3))
    thresholds = [p["threshold"] for p in curve]
    recalls = [p["oos_recall"] for p in curve]
    in_scope = [p["in_scope_accuracy"] for p in curve]
    assert thresholds == sorted(thresholds) and recalls == sorted(recalls)
    assert in_scope == sorted(in_scope, reverse=True)
    assert curve[0]["threshold"] == 0.0  # no budget: only messages unlike every class are rejected


def test_dialogue_detection_cv_and_auroc() -> None:
    from eval.dialogue import _auroc, _cv_detection

    gold = [True, False] * 20
    score = [0.9 if g else 0.5 for g in gold]
    assert _auroc(gold, score) == 1.0
    cv = _cv_detection(gold, score)
    assert cv["detect_f1_cv"] == 1.0 and 0.5 < cv["detect_threshold_cv"] <= 0.9
    assert _cv_detection([True] * 20, [0.9] * 20) == {}


def test_split_context_and_rgb_helpers() -> None:
    turns = split_context("hi | hello | what time is check in")
    assert [t.role for t in turns] == ["customer", "agent", "customer"]
    assert answer_ok("RCEP 包括东盟和中国", ["东盟", ["中国", "China"]])
    assert not answer_ok("只有东盟", ["东盟", ["中国", "China"]])
    assert mix(["p1", "p2", "p3"], ["n1", "n2", "n3", "n4"], 0.4) == ["p1", "p2", "p3", "n1", "n2"]
    assert mix(["p1"], ["n1", "n2", "n3", "n4", "n5"], 0.0) == ["p1", "n1", "n2", "n3", "n4"]


def test_best_threshold_balanced_accuracy() -> None:
    b = best_threshold([0.93, 0.92, 0.91], [0.90, 0.915])
    assert 0.90 < b["threshold"] <= 0.91 or 0.915 < b["threshold"] <= 0.92
    assert b["balanced_accuracy"] == pytest.approx((2 / 3 + 1.0) / 2) or b["balanced_accuracy"] == pytest.approx(
        (1.0 + 0.5) / 2)


def test_gate_fails_on_planted_regression() -> None:
    base = {"hit@5": 0.90, "covered_accuracy": 0.80, "false_escalation_rate": 0.0, "items": 80,
            "modes": {"dense": {"ndcg@10": 0.5}}}
    same = check_gate(dict(base), base, tolerance=0.02)
    assert same.passed
    worse = check_gate({**base, "hit@5": 0.85}, base, tolerance=0.02)
    assert not worse.passed and [r.metric for r in worse.failures] == ["hit@5"]
    # Within tolerance passes; lower-is-better metrics fail when they go up.
    assert check_gate({**base, "hit@5": 0.89}, base, tolerance=0.02).passed
    assert not check_gate({**base, "false_escalation_rate": 0.1}, base, tolerance=0.02).passed
    assert not check_gate({**base, "modes": {"dense": {"ndcg@10": 0.4}}}, base, tolerance=0.02).passed
    assert "modes.dense.ndcg@10" in flatten(base)


async def test_smoke_beir_rag_report_on_two_samples(tmp_path: Path, fake_settings: Settings) -> None:
    ds = tmp_path / "tiny_beir"
    ds.mkdir()
    _write_jsonl(ds / "corpus.jsonl", [
        {"id": "doc/1", "title": "Refunds", "text": "Refunds reach your card within 3-7 business days."},
        {"id": "doc-2", "title": "Warranty", "text": "Every product has a one-year warranty."},
    ])
    _write_jsonl(ds / "queries.jsonl", [{"id": "q1", "text": "Refunds reach your card within 3-7 business days."},
                                        {"id": "q2", "text": "Every product has a one-year warranty."}])
    (ds / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tdoc/1\t1\nq2\tdoc-2\t1\n", encoding="utf-8")

    ctx = EvalContext.open(fake_settings)
    try:
        out = await evaluate_beir(ctx, ds, modes=["sparse", "hybrid"])
        # Sparse matching of the identical text must rank the right article first, and the
        # "doc/1" corpus id must be mapped back from its sanitised article id.
        assert out.metrics["queries"] == 2
        assert out.metrics["modes"]["sparse"]["recall@1"] == 1.0
        assert set(out.metrics["modes"]) == {"sparse", "hybrid"}
        assert {"ndcg@10", "recall@1", "recall@5", "recall@10", "mrr@10"} <= set(out.metrics)
        again = await evaluate_beir(ctx, ds, modes=["sparse"])
        assert again.config["ingest"]["reused"] is True
        run_id = store_outcome(ctx.db, out)
        stored = EvalRunRepository(ctx.db).get(run_id)
        assert stored is not None and len(stored.items) == 2 and stored.model_ids["embedder"] == "fake"

        # RAG on 2 questions with a fake model that answers one correctly.
        rag = tmp_path / "tiny_rag"
        rag.mkdir()
        _write_jsonl(rag / "corpus.jsonl", [{"id": "p1", "title": "", "text": "退款 3-7 个工作日到账"},
                                            {"id": "n1", "title": "", "text": "保修一年"}])
        _write_jsonl(rag / "qa.jsonl", [
            {"id": "a", "question": "退款多久到账", "answers": ["3-7"], "positive_ids": ["p1"], "negative_ids": ["n1"]},
            {"id": "b", "question": "保修多久", "answers": ["两年"], "positive_ids": ["n1"], "negative_ids": ["p1"]},
        ])
        from eval.rag import evaluate_rag

        ctx.settings.retrieval.min_dense_score = -1.0  # fake vectors: never "not covered"
        llm = FakeChatModel(reply_fn=lambda messages, gen: "退款 3-7 个工作日到账 [1]")
        res = await evaluate_rag(ctx, rag, llm, limit=2, noise=[0.0])
        assert res.metrics["accuracy@noise0.0"] == pytest.approx(0.5)
        assert res.metrics["rejection_rate"] == 0.0
        assert llm.calls, "the drafting prompt path must call the model"
        first = llm.calls[0].messages
        assert first[0].role == "system" and "[1]" in first[-1].content and "退款 3-7" in first[-1].content

        paths = write_report(out, EvalRunRepository(ctx.db).list(kind="retrieval"), tmp_path / "report")
        html = paths["html"].read_text(encoding="utf-8")
        assert "<img" in html and "data:image/png;base64," in html
        assert paths["markdown"].read_text(encoding="utf-8").startswith("# retrieval")
    finally:
        await ctx.close()


def test_cli_gate_exits_nonzero_on_planted_regression(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eval.cli import app

    monkeypatch.setenv("ASSIST_HOME", str(tmp_path / "home"))
    base = tmp_path / "baseline.json"
    good = tmp_path / "good.json"
    bad = tmp_path / "bad.json"
    base.write_text(json.dumps({"kind": "golden", "dataset": "golden", "metrics": {"hit@5": 0.9, "mrr": 0.8}}))
    good.write_text(json.dumps({"metrics": {"hit@5": 0.91, "mrr": 0.79}}))
    bad.write_text(json.dumps({"metrics": {"hit@5": 0.80, "mrr": 0.8}}))
    runner = CliRunner()
    ok = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(good), "--tolerance", "0.02"])
    assert ok.exit_code == 0, ok.output
    fail = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(bad), "--tolerance", "0.02"])
    assert fail.exit_code == 1
    assert "FAIL" in fail.output and "hit@5" in fail.output


async def test_ragas_embeddings_work_inside_a_running_loop() -> None:
    """ragas calls the sync embedding methods from its own event loop (response relevancy)."""
    import asyncio

    from assist.embedders.fake import FakeEmbedder
    from eval.ragas_adapter import _embeddings

    emb = FakeEmbedder(dim=8)
    wrapped = _embeddings(emb)
    assert asyncio.get_running_loop()
    assert wrapped.embed_query("hello") == await emb.embed_query("hello")
    assert len(wrapped.embed_documents(["a", "b"])) == 2
