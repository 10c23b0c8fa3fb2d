"""Golden-file tests of every rendered prompt (each task in zh and en), plus the template
environment's guarantees: sandboxed, StrictUndefined, errors that name the variables.

A change to a template shows up here as a diff of the rendered text; after reviewing it,
regenerate the files with ``UPDATE_PROMPT_GOLDEN=1 .venv/bin/pytest tests/unit/test_prompts.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from assist.drafting import make_passages
from assist.errors import ConfigError
from assist.prompts import PromptLibrary
from assist.types import Chunk, RetrievedChunk

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).parent / "prompts_golden"
HISTORY = [{"role": "Customer", "text": "我的耳机充不进电"}, {"role": "Agent", "text": "请问是哪款耳机？"}]
# The shapes the code passes: drafting's Passage (make_passages) and the reranker's dicts.
DRAFT_PASSAGES = make_passages([
    RetrievedChunk(chunk=Chunk(id="c1", tenant="t", article_id="faq-earbuds", revision=2, chunk_index=0,
                               title="耳机无法充电怎么办？", heading_path=["FAQ", "充电"],
                               text="请清洁充电触点并使用原装线重新充电30分钟。"), score=0.9),
    RetrievedChunk(chunk=Chunk(id="c2", tenant="t", article_id="sop-refund-en", revision=1, chunk_index=1,
                               title="Refund procedure", heading_path=["Refund procedure", "Timing"],
                               text="Approved refunds take 3-7 business days."), score=0.8),
])[0]
RERANK_PASSAGES = [
    {"n": 1, "title": "耳机无法充电怎么办？", "text": "请清洁充电触点并使用原装线重新充电30分钟。"},
    {"n": 2, "title": "Refund procedure", "text": "Approved refunds take 3-7 business days."},
]
CATEGORIES = [{"id": "refund_return", "name": "退款退货"}, {"id": "repair_warranty", "name": "维修保修"}]
# One set of sample variables per task (the union of what its zh and en templates need).
SAMPLES: dict[str, dict[str, Any]] = {
    "clarify_topics": {"topics": ["Nova Buds 耳机", "Nova Watch 手表"],
                       "clarifying": "请您补充一些具体信息，我为您联系相关团队确认。"},
    "conversation_input": {"history": HISTORY},
    "coverage_translate": {"n": 2, "questions": ["How long does a refund take?", "Can I cancel an order?"]},
    "draft_reply": {"company": "Nova Electronics", "style": ["您好，很高兴为您服务。", "感谢您的耐心等待。"]},
    "draft_reply_input": {"history": HISTORY, "passages": DRAFT_PASSAGES, "question": "Nova X1 还能保修吗？"},
    "escalation_hints": {"categories": CATEGORIES},
    "evidence_select": {"max_selected": 2, "yes_no": True},
    "evidence_select_input": {"history": HISTORY, "question": "耳机充不进电怎么办？",
                              "sentences": [{"n": 1, "text": "请清洁充电触点。"}, {"n": 2, "text": "Approved refunds take 3-7 business days."}]},
    "not_covered": {"apology": "抱歉", "topic": "gift wrapping",
                    "clarifying": "请您补充一些具体信息，我为您联系相关团队确认。"},
    "paraphrase": {"question": "退款一般几天能退回来？", "n": 3},
    "query_rewrite": {},
    "simulate_conversation": {"n": 2, "turns": 3},
    "simulate_conversation_input": {"question": "退款一般几天能退回来？", "title": "退款多久能到账？",
                                    "article": "退款审核通过后 3-7 个工作日原路退回。"},
    "rerank": {},
    "rerank_input": {"query": "耳机充不进电怎么办", "passages": RERANK_PASSAGES},
    "summary": {},
}
LIB = PromptLibrary()
NAMES = LIB.names()


def test_every_task_has_zh_and_en_and_sample_variables() -> None:
    tasks = {n.rsplit(".", 1)[0] for n in NAMES}
    assert tasks == set(SAMPLES), "add sample variables for new tasks (and golden files)"
    for task in tasks:
        assert {f"{task}.zh", f"{task}.en"} <= set(NAMES), task
        for lang in ("zh", "en"):
            assert LIB.required_variables(task, lang) <= set(SAMPLES[task]), (task, lang)


@pytest.mark.parametrize("name", NAMES)
def test_rendered_prompt_matches_golden_file(name: str) -> None:
    task, lang = name.rsplit(".", 1)
    rendered = LIB.render(task, lang, **SAMPLES[task])
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_PROMPT_GOLDEN") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert path.is_file(), f"no golden file for {name}: run with UPDATE_PROMPT_GOLDEN=1 and review it"
    assert rendered == path.read_text(encoding="utf-8")


def test_missing_variable_names_required_and_provided() -> None:
    with pytest.raises(ConfigError) as e:
        LIB.render("draft_reply_input", "en", question="q")
    assert "history" in str(e.value) and "passages" in str(e.value) and "provided: ['question']" in str(e.value)


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "evil.en.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError, match="failed to render"):
        PromptLibrary(tmp_path).render("evil", "en")


def test_missing_template_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="missing"):
        LIB.render("no_such_task", "zh")


def test_variables_are_data_not_template_code() -> None:
    out = LIB.render("conversation_input", "en", history=[{"role": "Customer", "text": "{{ 7*7 }} {% if 1 %}x{% endif %}"}])
    assert "{{ 7*7 }}" in out and "49" not in out
