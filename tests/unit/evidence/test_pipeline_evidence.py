"""Evidence-first drafts through AssistPipeline with the real e5 embedder, the embedded
Qdrant engine and SQLite; the chat model is a fake that answers the structured selection."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assist.llm.fake import FakeChatModel
from assist.types import Conversation, Turn
from tests.unit.pipeline.conftest import e5, make_pipeline, stack, write  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.unit, pytest.mark.slow]

# A long rules document: its answer sits in a later section, far from the first chunk.
FILLER = "".join(f"第{i}条 客服人员应按照服务规范第{i}项的要求，做好来电登记、工单流转和回访记录，确保信息完整准确。" for i in range(1, 31))
DUTY_DOC = f"""---
id: duty-rules
type: policy
title: 客服中心值班管理制度
language: zh
status: published
effective_from: 2026-01-01
---
# 客服中心值班管理制度

## 总则

{FILLER}

## 交接班

值班人员应提前十分钟到岗签到。交接班时，值班人员不得离开岗位，须当面交接未结工单。

## 节假日

节假日值班按排班表执行，调班须经主管批准。
"""


def choose(pattern: str):
    """A fake model that picks the numbered sentence matching ``pattern`` (or none)."""

    def reply(messages, settings):
        assert settings.json_schema is not None and settings.max_tokens <= 32
        user = messages[-1].content
        picked = [int(n) for n, text in re.findall(r"\[(\d+)\] <<<(.*?)>>>", user) if re.search(pattern, text)]
        return json.dumps({"evidence": picked[:1]})

    return reply


def conv(text: str) -> Conversation:
    return Conversation(tenant="t", turns=[Turn(role="customer", text=text)])


@pytest.fixture
async def duty_kb(stack, tmp_path: Path):  # noqa: F811
    settings, db, store, ix = stack
    settings.draft.mode = "extractive"
    settings.draft.selector = "model"
    settings.retrieval.min_dense_score = 0.0  # these tests are about drafting, not coverage
    write(tmp_path / "kb" / "duty.md", DUTY_DOC)
    report = await ix.ingest_paths([tmp_path / "kb"], tenant="t", publish=True)
    assert not report.errors and report.chunks_total >= 2
    return stack


async def test_extractive_draft_quotes_the_rule_with_its_citation(duty_kb) -> None:
    llm = FakeChatModel(reply_fn=choose("不得离开"))
    pipe = make_pipeline(duty_kb, llm)
    d = await pipe.draft(conv("交接班的时候值班人员可以走吗？"))
    assert d.status == "drafted", (d.flags, d.detail)
    assert "不得离开岗位" in d.text and "可以走" not in d.text
    assert d.citations and "不得离开" in "".join(s.chunk.text for s in d.sources if s.chunk.id == d.citations[0].chunk_id)
    assert len(llm.calls) == 1  # one short structured call, nothing else


async def test_scorer_selection_needs_no_model_call(duty_kb) -> None:
    settings = duty_kb[0]
    settings.draft.selector = "auto"  # the 0.5B default model: the scorer chooses
    llm = FakeChatModel(replies=[AssertionError("no model call expected")])
    pipe = make_pipeline(duty_kb, llm)
    d = await pipe.draft(conv("交接班时值班人员能离开岗位吗？"))
    assert d.status == "drafted" and "selected_by_scorer" in d.flags, (d.flags, d.detail)
    assert d.text.startswith("不可以。") and "不得离开岗位" in d.text
    assert llm.calls == []


async def test_model_choosing_none_is_an_honest_not_covered(duty_kb) -> None:
    pipe = make_pipeline(duty_kb, FakeChatModel(reply_fn=choose("^$")))
    d = await pipe.draft(conv("值班人员的工资怎么算？"))
    assert d.status == "not_covered" and "model_chose_no_evidence" in d.flags


async def test_generative_contradiction_is_never_drafted(duty_kb) -> None:
    settings = duty_kb[0]
    settings.draft.mode = "generative"
    pipe = make_pipeline(duty_kb, FakeChatModel(replies=["值班人员可以走 [1]。"]))
    d = await pipe.draft(conv("交接班的时候值班人员可以走吗？"))
    assert d.status == "not_covered"
    assert "no_supported_claim" in d.flags and "claim_removed:negation_mismatch" in d.flags
    assert "可以走" not in d.text


async def test_generative_reply_keeps_supported_sentences_and_drops_a_planted_fee(duty_kb) -> None:
    settings = duty_kb[0]
    settings.draft.mode = "generative"
    reply = "交接班时，值班人员不得离开岗位 [1]。请先用礼品卡支付50元手续费 [1]。"
    pipe = make_pipeline(duty_kb, FakeChatModel(replies=[reply]))
    events = [e async for e in pipe.draft_events(conv("交接班的时候值班人员可以走吗？"))]
    done = events[-1]
    assert done.type == "done" and done.draft.status == "drafted"
    assert done.draft.text.startswith("交接班时，值班人员不得离开岗位") and "礼品卡" not in done.draft.text
    # what was streamed is what the final draft says
    assert "".join(e.text for e in events if e.type == "delta") == done.draft.text
