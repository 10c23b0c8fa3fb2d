"""The golden set without models: repository, import of eval/golden, one click from an
accepted draft, simulated customers (FakeChatModel paraphrases), key facts, tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.config import Settings
from assist.db import Database, FeedbackRepository, SuggestionRepository
from assist.db.golden import GoldenRepository
from assist.errors import ConfigError, InputError, NotFoundError
from assist.knowledge_loop import golden_from_feedback, import_golden, simulate_customers
from assist.llm.fake import FakeChatModel
from assist.publish_gate import key_facts, tolerance_for
from tests.db_fixtures import database  # noqa: F401 - pytest fixture

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[3]


def test_repository_add_list_delete_and_bad_input(database: Database) -> None:  # noqa: F811
    repo = GoldenRepository(database)
    a = repo.add("t", "How long do refunds take?", expected_article="faq-refund", expected_revision=2,
                 language="en", reference="within 7 days")
    assert a.expected == "faq-refund@2" and a.source == "manual"
    assert [i.id for i in repo.list("t")] == [a.id] and repo.list("other") == []
    with pytest.raises(InputError):
        repo.add("t", "   ")
    with pytest.raises(InputError):
        repo.add("t", "q", source="invented")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        repo.delete("other", a.id)  # another tenant's item is not found
    repo.delete("t", a.id)
    assert repo.list("t") == []


def test_import_eval_golden_is_idempotent(database: Database) -> None:  # noqa: F811
    first = import_golden(database, ROOT / "eval" / "golden", tenant="nova")
    rows = [json.loads(x) for x in (ROOT / "eval/golden/golden.jsonl").read_text(encoding="utf-8").splitlines() if x]
    answerable = [r for r in rows if r.get("expect") == "answer" and r.get("article_ids")]
    assert first.added == len(answerable) and first.skipped == len(rows) - len(answerable)
    assert import_golden(database, ROOT / "eval" / "golden", tenant="nova").added == 0
    with pytest.raises(InputError):
        import_golden(database, ROOT / "nowhere", tenant="nova")


def test_accepted_draft_becomes_a_golden_item_rejected_does_not(database: Database) -> None:  # noqa: F811
    sug = SuggestionRepository(database).add(
        "t", "draft", {"turns": [{"role": "customer", "text": "退款多久到账？"}]},
        {"text": "3-7 个工作日 [1]", "language": "zh",
         "citations": [{"number": 1, "article_id": "faq-refund", "revision": 3}]})
    fb = FeedbackRepository(database).add("t", "edited", suggestion_id=sug.id, final_text="审核后 3-7 个工作日原路退回。")
    item = golden_from_feedback(database, "t", fb.id, actor="km")
    assert (item.question, item.expected, item.reference, item.source) == (
        "退款多久到账？", "faq-refund@3", "审核后 3-7 个工作日原路退回。", "accepted_draft")
    assert golden_from_feedback(database, "t", fb.id).id == item.id  # one click twice: one item
    rejected = FeedbackRepository(database).add("t", "rejected", suggestion_id=sug.id, reason="wrong")
    with pytest.raises(InputError):
        golden_from_feedback(database, "t", rejected.id)
    with pytest.raises(NotFoundError):
        golden_from_feedback(database, "other", fb.id)


async def test_simulated_customers_paraphrase_items_keeping_the_expected_article(database: Database) -> None:  # noqa: F811
    repo = GoldenRepository(database)
    parent = repo.add("t", "退款一般几天能退回来？", expected_article="faq-refund", expected_revision=1, language="zh",
                      reference="3-7 个工作日")
    llm = FakeChatModel(reply_fn=lambda m, s: json.dumps(
        {"paraphrases": ["钱多久能退到卡上", "退款要等几天啊", "退款一般几天能退回来？"]}, ensure_ascii=False))
    r = await simulate_customers(database, llm, "t", per_item=3)
    assert (r.items, r.added, r.skipped) == (1, 2, 1)  # the question itself is not a paraphrase
    sims = repo.list("t", source="simulated")
    assert {s.question for s in sims} == {"钱多久能退到卡上", "退款要等几天啊"}
    assert all(s.expected == parent.expected and s.reference == parent.reference for s in sims)
    assert "退款一般几天能退回来？" in llm.calls[0].messages[-1].content
    again = await simulate_customers(database, llm, "t", per_item=3)
    assert again.added == 0  # simulated items are not paraphrased again, known phrasings not re-added


def test_key_facts_and_tolerance(tmp_path: Path) -> None:
    assert {v for v, _ in key_facts("签收后 7 天内可退货，运费 10 元")} == {7.0, 10.0}
    assert key_facts("请联系客服。") == []
    s = Settings(_env_file=None, tenants_dir=tmp_path)
    assert tolerance_for(s, "t") == 0
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "knowledge_loop.yaml").write_text("publish_gate:\n  max_regressions: 2\n")
    assert tolerance_for(s, "t") == 2
    (tmp_path / "t" / "knowledge_loop.yaml").write_text("publish_gate:\n  max_regressions: many\n")
    with pytest.raises(ConfigError):
        tolerance_for(s, "t")
