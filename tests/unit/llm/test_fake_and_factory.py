"""FakeChatModel and make_chat_model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from assist.config import Settings
from assist.errors import ConfigError, LLMError
from assist.llm import make_chat_model
from assist.llm.base import ChatModel
from assist.llm.fake import FakeChatModel
from assist.llm.openai_compat import OpenAICompatibleChatModel
from assist.types import ChatMessage, Completion, GenSettings

pytestmark = pytest.mark.unit

USER = [ChatMessage(role="user", content="退款多久到账？")]


async def test_fake_replies_in_order_then_repeats_the_last() -> None:
    model = FakeChatModel(replies=["one", "two"])
    texts = [(await model.complete(USER)).text for _ in range(3)]
    assert texts == ["one", "two", "two"]
    assert len(model.calls) == 3
    assert model.last_messages == USER


async def test_fake_reply_fn_sees_messages_and_settings() -> None:
    model = FakeChatModel(reply_fn=lambda msgs, gen: f"{msgs[-1].content}|{gen.max_tokens}")
    assert (await model.complete(USER, settings=GenSettings(max_tokens=9))).text == "退款多久到账？|9"
    assert model.calls[0].settings.max_tokens == 9


async def test_fake_raises_scripted_exceptions() -> None:
    model = FakeChatModel(replies=[LLMError("down", retryable=True), "ok"])
    with pytest.raises(LLMError):
        await model.complete(USER)
    assert (await model.complete(USER)).text == "ok"


async def test_fake_returns_scripted_completions_verbatim() -> None:
    scripted = Completion(text="x", model="m", finish_reason="length")
    assert await FakeChatModel(replies=[scripted]).complete(USER) == scripted


async def test_fake_stream_concatenates_to_the_reply() -> None:
    model = FakeChatModel(replies=["您好，请提供您的订单号。"], chunk_chars=3)
    deltas = [d async for d in model.stream(USER)]
    assert len(deltas) > 1
    assert "".join(deltas) == "您好，请提供您的订单号。"
    assert model.calls[0].kind == "stream"


class _Draft(BaseModel):
    answer: str
    citations: list[int]
    confidence: float
    language: str = "zh"


async def test_fake_default_json_reply_validates_against_the_schema() -> None:
    schema = _Draft.model_json_schema()
    completion = await FakeChatModel().complete(USER, settings=GenSettings(json_schema=schema))
    _Draft.model_validate(json.loads(completion.text))


def test_fake_satisfies_the_protocol() -> None:
    assert isinstance(FakeChatModel(), ChatModel)


def _settings(tmp_path: Path, **llm: object) -> Settings:
    return Settings(_env_file=None, home=tmp_path, llm=llm)


def test_factory_fake(tmp_path: Path) -> None:
    assert isinstance(make_chat_model(_settings(tmp_path, provider="fake")), FakeChatModel)


def test_factory_openai_compat_needs_a_base_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASSIST_LLM__BASE_URL"):
        make_chat_model(_settings(tmp_path, provider="openai-compat"))


def test_factory_openai_compat(tmp_path: Path) -> None:
    model = make_chat_model(
        _settings(
            tmp_path, provider="openai-compat", base_url="http://vllm:8000/v1/", model="qwen2.5-7b-instruct"
        )
    )
    assert isinstance(model, OpenAICompatibleChatModel)
    assert isinstance(model, ChatModel)
    assert (model.base_url, model.model_id) == ("http://vllm:8000/v1", "qwen2.5-7b-instruct")


def test_factory_embedded_points_at_the_local_server(tmp_path: Path) -> None:
    from assist.llm.local_server import LocalModelServer

    settings = _settings(tmp_path, provider="embedded", engine_port=8999)
    server = LocalModelServer(settings)  # constructing starts nothing
    model = make_chat_model(settings, server=server)
    assert isinstance(model, OpenAICompatibleChatModel)
    assert (model.base_url, model.model_id) == ("http://127.0.0.1:8999/v1", "qwen2.5-0.5b-instruct")
    # Without a server object: the same endpoint, a server started by someone else.
    assert make_chat_model(settings).base_url == "http://127.0.0.1:8999/v1"  # type: ignore[attr-defined]
