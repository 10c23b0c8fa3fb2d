"""``assist eval adapt``: never trains on the evaluation set; a tiny real run reports
dense nDCG@10 before and after through the product's retrieval path."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from assist.config import Settings
from assist.embedders.adapt import AdaptConfig
from assist.errors import InputError
from eval.adapt import evaluate_adapt

pytestmark = pytest.mark.unit

DOCS = {
    "d1": "怎么还信用卡",
    "d2": "借款额度是多少",
    "d3": "如何修改绑定的手机号",
    "d4": "为什么借款审核没通过",
}
QUERIES = {"q1": ("信用卡怎么还款", "d1"), "q2": ("我能借多少钱", "d2"), "q3": ("手机号换了怎么改", "d3")}


def _beir(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(
            json.dumps({"id": k, "title": "", "text": v}, ensure_ascii=False) + "\n" for k, v in DOCS.items()
        ),
        encoding="utf-8",
    )
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"id": k, "text": t}, ensure_ascii=False) + "\n" for k, (t, _) in QUERIES.items()),
        encoding="utf-8",
    )
    (folder / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{k}\t{d}\t1\n" for k, (_, d) in QUERIES.items())
    )
    return folder


def test_refuses_to_train_on_the_evaluation_set(tmp_path: Path) -> None:
    ds = _beir(tmp_path / "set")
    s = Settings(_env_file=None, env="test", home=tmp_path / "home", models_path=tmp_path / "models")
    with pytest.raises(InputError, match="never train on the test set"):
        anyio.run(lambda: evaluate_adapt(s, ds, ds))


def test_tiny_adaptation_is_measured_before_and_after(models_dir: Path, tmp_path: Path) -> None:
    if not (models_dir / "e5-small" / "modules.json").is_file():
        pytest.skip("e5-small is not prepared")
    models = tmp_path / "models"
    models.mkdir()
    (models / "e5-small").symlink_to(models_dir / "e5-small")
    ds = _beir(tmp_path / "tiny_set")
    train = tmp_path / "pairs.jsonl"
    train.write_text(
        "".join(
            json.dumps(r, ensure_ascii=False) + "\n"
            for r in [
                {"sentence1": "怎么还款", "sentence2": "如何还款", "label": 1},
                {"sentence1": "额度多少", "sentence2": "能借多少", "label": 1},
                {"sentence1": "怎么还款", "sentence2": "怎么借款", "label": 0},
            ]
        ),
        encoding="utf-8",
    )
    s = Settings(
        _env_file=None, env="test", home=tmp_path / "home", models_path=models, llm={"provider": "fake"}
    )
    cfg = AdaptConfig(max_steps=1, batch_size=2, warmup_ratio=0.0)
    out = anyio.run(lambda: evaluate_adapt(s, train, ds, config=cfg))
    m = out.metrics
    assert out.kind == "adapt" and m["queries"] == 3 and m["steps"] == 1 and m["pairs"] == 2
    assert 0 < m["ndcg@10_before"] <= 1 and 0 < m["ndcg@10_after"] <= 1
    assert m["ndcg@10_delta"] == round(m["ndcg@10_after"] - m["ndcg@10_before"], 4)
    assert Path(m["model"]).parent == models / "adapted" / "_eval" and m["trained_now"]
    assert out.model_ids["adapted_embedder"] == Path(m["model"]).name
    assert {i.item_id for i in out.items} == set(QUERIES)
    again = anyio.run(lambda: evaluate_adapt(s, train, ds, config=cfg))
    assert (
        not again.metrics["trained_now"] and again.metrics["model"] == m["model"]
    )  # same data + config: reused
