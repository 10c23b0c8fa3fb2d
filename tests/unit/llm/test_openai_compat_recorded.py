"""OpenAICompatibleChatModel replayed against recorded responses of the REAL vLLM server.

The cassettes in ``cassettes/`` were recorded from vLLM 0.32 (CPU build) serving the
embedded Qwen2.5 0.5B model, so these unit tests check our parsing of real vLLM payloads
(usage, finish reasons, SSE chunks, structured output) with no server. Re-record with a
server on 127.0.0.1:8011 (``assist`` embedded defaults) and
``pytest tests/unit/llm/test_openai_compat_recorded.py --record-mode=rewrite``.
"""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel

from assist.llm.openai_compat import OpenAICompatibleChatModel
from assist.types import ChatMessage, GenSettings

pytestmark = [pytest.mark.unit, pytest.mark.vcr, pytest.mark.usefixtures("allow_backend_requests")]

BASE_URL = "http://127.0.0.1:8011/v1"
MODEL = "qwen2.5-0.5b-instruct"


def _model() -> OpenAICompatibleChatModel:
    return OpenAICompatibleChatModel(BASE_URL, MODEL, max_retries=0)


async def test_recorded_chinese_completion() -> None:
    messages = [
        ChatMessage(role="system", content="你是客服助手，用中文简短回答。"),
        ChatMessage(role="user", content="退款一般多久到账？"),
    ]
    completion = await _model().complete(messages, settings=GenSettings(max_tokens=24, temperature=0.0))
    assert completion.text.strip()
    assert completion.model == MODEL
    assert completion.finish_reason in ("stop", "length")
    assert completion.usage.prompt_tokens > 0 and 0 < completion.usage.completion_tokens <= 24


async def test_recorded_stream() -> None:
    messages = [ChatMessage(role="user", content="Say hello to the customer in one sentence.")]
    deltas = [
        d async for d in _model().stream(messages, settings=GenSettings(max_tokens=16, temperature=0.0))
    ]
    assert len(deltas) > 1
    assert "".join(deltas).strip()


class _Intent(BaseModel):
    intent: Literal["refund", "lost_card", "other"]
    urgent: bool


async def test_recorded_json_schema_output() -> None:
    messages = [
        ChatMessage(role="system", content="Classify the message. Answer in JSON."),
        ChatMessage(role="user", content="我的卡丢了，快帮我挂失！"),
    ]
    completion = await _model().complete(
        messages,
        settings=GenSettings(max_tokens=32, temperature=0.0, json_schema=_Intent.model_json_schema()),
    )
    _Intent.model_validate(json.loads(completion.text))
