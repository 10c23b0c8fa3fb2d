"""Standard OpenAI clients (the official SDK and LangChain) pointed at the service."""

from __future__ import annotations

import json

import httpx
import pytest
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI, OpenAI

from tests.api.conftest import Service

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "我想退货，退款多久能到账？"


def test_openai_sdk_non_streaming_carries_citations(service: Service) -> None:
    client = OpenAI(base_url=f"{service.base_url}/v1", api_key=service.key("bot"), max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="assist-kb", messages=[{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": QUESTION}])
    body = json.loads(raw.http_response.text)
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert body["citations"], body
    assert body["assist"]["status"] in ("drafted", "curated")
    assert {"article_id", "revision"} <= set(body["citations"][0])
    assert client.models.list().data[0].id == "assist-kb"


async def test_async_openai_sdk_streaming(service: Service) -> None:
    client = AsyncOpenAI(base_url=f"{service.base_url}/v1", api_key=service.key("bot"), max_retries=0)
    stream = await client.chat.completions.create(model="assist-kb", stream=True,
                                                  messages=[{"role": "user", "content": QUESTION}])
    text, last = "", None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        last = chunk
    await client.close()
    assert text.strip()
    assert last is not None and last.choices[0].finish_reason == "stop"
    extra = last.model_extra or {}
    assert extra.get("citations"), extra


def test_openai_sdk_bad_key_is_authentication_error(service: Service) -> None:
    import openai

    client = OpenAI(base_url=f"{service.base_url}/v1", api_key="ak_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model="assist-kb", messages=[{"role": "user", "content": QUESTION}])
    assert e.value.body["type"] == "unauthorized"  # type: ignore[index]


def test_langchain_chat_openai(service: Service) -> None:
    bodies: list[dict] = []

    def keep(response: httpx.Response) -> None:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            response.read()
            bodies.append(response.json())

    http_client = httpx.Client(event_hooks={"response": [keep]})
    llm = ChatOpenAI(base_url=f"{service.base_url}/v1", api_key=service.key("bot"), model="assist-kb",
                     max_retries=0, http_client=http_client)
    msg = llm.invoke(QUESTION)
    assert isinstance(msg.content, str) and msg.content
    assert bodies and bodies[-1]["citations"]
    streamed = "".join(str(c.content) for c in llm.stream(QUESTION))
    assert streamed.strip()
