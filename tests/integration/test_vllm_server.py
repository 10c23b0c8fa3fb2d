"""OpenAICompatibleChatModel against the real embedded vLLM server (CPU build).

Few and small (max_tokens ≤ 64): the point is the serving path (chat template, one
system message, streaming, structured output), not the 0.5B model's quality.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from assist.errors import LLMError
from assist.llm.openai_compat import OpenAICompatibleChatModel
from assist.types import ChatMessage, GenSettings
from tests.integration.conftest import VLLMEndpoint

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("allow_backend_requests")]

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def model(vllm_server: VLLMEndpoint) -> AsyncIterator[OpenAICompatibleChatModel]:
    m = OpenAICompatibleChatModel(
        vllm_server.base_url, vllm_server.model, vllm_server.api_key, timeout_s=120, max_retries=1
    )
    yield m
    await m.aclose()


def _report(label: str, tokens: int, seconds: float) -> None:
    # Visible with -s / -rA; the report quotes these numbers. No timing assertions.
    print(f"\n[vllm] {label}: {tokens} tokens in {seconds:.2f} s = {tokens / max(seconds, 1e-6):.1f} tok/s")


async def test_health_and_startup(model: OpenAICompatibleChatModel, vllm_server: VLLMEndpoint) -> None:
    assert await model.health() is True
    if vllm_server.startup_s is not None:
        print(f"\n[vllm] startup: {vllm_server.startup_s:.1f} s")


async def test_chinese_completion_with_system_prompts(model: OpenAICompatibleChatModel) -> None:
    messages = [
        ChatMessage(role="system", content="你是银行客服坐席的助手。"),
        ChatMessage(role="system", content="只用中文回答，一句话。"),  # merged, not sent twice
        ChatMessage(role="user", content="客户问：信用卡丢了怎么办？"),
    ]
    t0 = time.monotonic()
    completion = await model.complete(messages, settings=GenSettings(max_tokens=48, temperature=0.0))
    _report("zh complete", completion.usage.completion_tokens, time.monotonic() - t0)
    assert CJK.search(completion.text), completion.text
    assert completion.finish_reason in ("stop", "length")
    assert completion.usage.prompt_tokens > 20 and 0 < completion.usage.completion_tokens <= 48
    assert completion.model == model.model_id


async def test_english_completion_respects_max_tokens(model: OpenAICompatibleChatModel) -> None:
    messages = [
        ChatMessage(role="system", content="You are a concise customer-service assistant."),
        ChatMessage(role="user", content="Reply with one short sentence greeting the customer."),
    ]
    completion = await model.complete(messages, settings=GenSettings(max_tokens=8, temperature=0.0))
    assert re.search(r"[A-Za-z]{2,}", completion.text), completion.text
    assert completion.usage.completion_tokens <= 8
    if completion.usage.completion_tokens == 8:
        assert completion.finish_reason == "length"


async def test_streaming_yields_several_deltas(model: OpenAICompatibleChatModel) -> None:
    messages = [ChatMessage(role="user", content="用中文写一句欢迎客户的话。")]
    t0 = time.monotonic()
    first: float | None = None
    deltas: list[str] = []
    async for delta in model.stream(messages, settings=GenSettings(max_tokens=32, temperature=0.0)):
        first = first if first is not None else time.monotonic() - t0
        deltas.append(delta)
    total = time.monotonic() - t0
    print(f"\n[vllm] stream: first delta after {first:.2f} s, {len(deltas)} deltas in {total:.2f} s")
    assert len(deltas) > 3
    assert CJK.search("".join(deltas))


class Triage(BaseModel):
    intent: Literal["refund", "lost_card", "complaint", "other"]
    urgent: bool
    summary: str = Field(max_length=200)


async def test_structured_output_matches_the_schema(model: OpenAICompatibleChatModel) -> None:
    messages = [
        ChatMessage(role="system", content="Classify the customer message. Answer in JSON."),
        ChatMessage(role="user", content="我的信用卡昨天丢了，请马上帮我冻结！"),
    ]
    t0 = time.monotonic()
    completion = await model.complete(
        messages, settings=GenSettings(max_tokens=64, temperature=0.0, json_schema=Triage.model_json_schema())
    )
    _report("json complete", completion.usage.completion_tokens, time.monotonic() - t0)
    triage = Triage.model_validate(json.loads(completion.text))
    assert triage.intent in ("refund", "lost_card", "complaint", "other")


async def test_an_unknown_model_is_a_non_retryable_404(vllm_server: VLLMEndpoint) -> None:
    wrong = OpenAICompatibleChatModel(
        vllm_server.base_url, "no-such-model", vllm_server.api_key, max_retries=0
    )
    with pytest.raises(LLMError) as info:
        await wrong.complete([ChatMessage(role="user", content="hi")], settings=GenSettings(max_tokens=4))
    assert info.value.status_code == 404
    assert info.value.retryable is False
    assert await wrong.health() is False
    await wrong.aclose()
