"""OpenAICompatibleChatModel against a scripted HTTP server (the real openai + httpx stack)."""

from __future__ import annotations

import socket

import pytest

from assist.errors import LLMError
from assist.llm.openai_compat import OpenAICompatibleChatModel, normalise_messages
from assist.types import ChatMessage, GenSettings
from tests.unit.llm.conftest import Scripted, StubServer, chat_body, chunk_event, error_body

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("allow_backend_requests")]

USER = [ChatMessage(role="user", content="你好")]


def make(server: StubServer, **kw: object) -> OpenAICompatibleChatModel:
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("backoff_max_s", 0.02)
    return OpenAICompatibleChatModel(server.base_url, "stub-model", **kw)  # type: ignore[arg-type]


async def test_complete_maps_text_usage_and_finish_reason(stub_server: StubServer) -> None:
    stub_server.script.append(Scripted(body=chat_body("您好！", finish="length")))
    completion = await make(stub_server).complete(USER, settings=GenSettings(max_tokens=16, temperature=0.0))
    assert completion.text == "您好！"
    assert completion.finish_reason == "length"
    assert completion.model == "stub-model"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 7)
    sent = stub_server.posts[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body is not None
    assert sent.body["max_tokens"] == 16 and sent.body["temperature"] == 0.0
    assert sent.body["messages"] == [{"role": "user", "content": "你好"}]
    assert "response_format" not in sent.body


async def test_generation_settings_are_forwarded(stub_server: StubServer) -> None:
    await make(stub_server).complete(USER, settings=GenSettings(top_p=0.9, stop=["\n\n"], seed=7))
    body = stub_server.posts[0].body or {}
    assert (body["top_p"], body["stop"], body["seed"]) == (0.9, ["\n\n"], 7)


async def test_keyless_server_gets_a_placeholder_key_and_a_real_key_is_sent(stub_server: StubServer) -> None:
    await make(stub_server).complete(USER)
    await make(stub_server, api_key="sk-real").complete(USER)
    auth = [r.headers.get("Authorization") for r in stub_server.posts]
    assert auth[0] and auth[0].startswith("Bearer ") and len(auth[0]) > len("Bearer ")
    assert auth[1] == "Bearer sk-real"


async def test_exactly_one_leading_system_message_is_sent(stub_server: StubServer) -> None:
    messages = [
        ChatMessage(role="user", content="q1"),
        ChatMessage(role="system", content="You are an agent assistant."),
        ChatMessage(role="assistant", content="a1"),
        ChatMessage(role="system", content="Cite sources."),
        ChatMessage(role="user", content="q2"),
    ]
    await make(stub_server).complete(messages)
    sent = (stub_server.posts[0].body or {})["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "You are an agent assistant.\n\nCite sources."
    assert [m["content"] for m in sent[1:]] == ["q1", "a1", "q2"]


def test_a_chat_without_user_messages_is_refused() -> None:
    with pytest.raises(LLMError, match="at least one"):
        normalise_messages([ChatMessage(role="system", content="only a system prompt")])


async def test_json_schema_is_passed_as_response_format(stub_server: StubServer) -> None:
    schema = {
        "title": "Reply Draft",
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    stub_server.script.append(Scripted(body=chat_body('{"answer": "ok"}')))
    completion = await make(stub_server).complete(USER, settings=GenSettings(json_schema=schema))
    assert completion.text == '{"answer": "ok"}'
    fmt = (stub_server.posts[0].body or {})["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"] == schema
    assert fmt["json_schema"]["name"] == "Reply_Draft"  # OpenAI's name pattern has no spaces


async def test_server_without_json_schema_falls_back_to_json_object_once(stub_server: StubServer) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    stub_server.script += [
        Scripted(status=400, body=error_body("response_format json_schema is not supported", 400)),
        Scripted(body=chat_body('{"a": 1}')),
        Scripted(body=chat_body('{"a": 2}')),
    ]
    model = make(stub_server)
    assert (await model.complete(USER, settings=GenSettings(json_schema=schema))).text == '{"a": 1}'
    assert (await model.complete(USER, settings=GenSettings(json_schema=schema))).text == '{"a": 2}'
    formats = [(r.body or {})["response_format"]["type"] for r in stub_server.posts]
    assert formats == ["json_schema", "json_object", "json_object"]


async def test_503_and_429_are_retried_then_succeed(stub_server: StubServer) -> None:
    stub_server.script += [
        Scripted(status=503, body=error_body("overloaded", 503)),
        Scripted(status=429, body=error_body("slow down", 429)),
        Scripted(body=chat_body("finally")),
    ]
    completion = await make(stub_server, max_retries=2).complete(USER)
    assert completion.text == "finally"
    assert len(stub_server.posts) == 3


async def test_retryable_errors_stop_after_max_retries(stub_server: StubServer) -> None:
    stub_server.script += [Scripted(status=502, body=error_body("bad gateway", 502)) for _ in range(5)]
    with pytest.raises(LLMError) as info:
        await make(stub_server, max_retries=1).complete(USER)
    assert info.value.retryable is True
    assert info.value.status_code == 502
    assert len(stub_server.posts) == 2


async def test_400_is_not_retried(stub_server: StubServer) -> None:
    stub_server.script += [
        Scripted(status=400, body=error_body("max_tokens is too large", 400)),
        Scripted(body=chat_body("must not be reached")),
    ]
    with pytest.raises(LLMError) as info:
        await make(stub_server, max_retries=3).complete(USER)
    assert info.value.retryable is False
    assert info.value.status_code == 400
    assert "max_tokens is too large" in info.value.message
    assert len(stub_server.posts) == 1


async def test_401_says_how_to_fix_the_key(stub_server: StubServer) -> None:
    stub_server.script.append(Scripted(status=401, body=error_body("invalid api key", 401)))
    with pytest.raises(LLMError, match="ASSIST_LLM__API_KEY") as info:
        await make(stub_server).complete(USER)
    assert info.value.retryable is False


async def test_timeout_is_a_retryable_llm_error(stub_server: StubServer) -> None:
    stub_server.script.append(Scripted(body=chat_body("too late"), delay_s=1.5))
    model = make(stub_server, timeout_s=0.3, max_retries=0)
    with pytest.raises(LLMError, match="timed out") as info:
        await model.complete(USER)
    assert info.value.retryable is True
    assert info.value.status_code is None


async def test_per_call_timeout_overrides_the_default(stub_server: StubServer) -> None:
    stub_server.script.append(Scripted(body=chat_body("too late"), delay_s=1.5))
    model = make(stub_server, timeout_s=30.0, max_retries=0)
    with pytest.raises(LLMError, match="timed out"):
        await model.complete(USER, settings=GenSettings(timeout_s=0.3))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_server_is_a_retryable_llm_error() -> None:
    model = OpenAICompatibleChatModel(
        f"http://127.0.0.1:{_closed_port()}/v1", "m", max_retries=1, backoff_s=0.01, backoff_max_s=0.01
    )
    with pytest.raises(LLMError, match="cannot reach") as info:
        await model.complete(USER)
    assert info.value.retryable is True
    assert await model.health() is False


async def test_stream_yields_deltas_in_order(stub_server: StubServer) -> None:
    stub_server.script.append(
        Scripted(
            events=[
                chunk_event(""),
                chunk_event("您好"),
                chunk_event("，"),
                chunk_event("请稍等"),
                chunk_event(None, finish="stop"),
            ]
        )
    )
    deltas = [d async for d in make(stub_server).stream(USER)]
    assert deltas == ["您好", "，", "请稍等"]
    assert (stub_server.posts[0].body or {})["stream"] is True


async def test_stream_retries_before_the_first_delta(stub_server: StubServer) -> None:
    stub_server.script += [
        Scripted(status=503, body=error_body("warming up", 503)),
        Scripted(events=[chunk_event("ok")]),
    ]
    assert [d async for d in make(stub_server).stream(USER)] == ["ok"]
    assert len(stub_server.posts) == 2


async def test_stream_error_is_translated(stub_server: StubServer) -> None:
    stub_server.script.append(Scripted(status=400, body=error_body("bad request", 400)))
    with pytest.raises(LLMError) as info:
        [d async for d in make(stub_server).stream(USER)]
    assert info.value.status_code == 400


async def test_health_checks_the_model_is_served(stub_server: StubServer) -> None:
    assert await make(stub_server).health() is True
    stub_server.models = ["another-model"]
    assert await make(stub_server).health() is False
    assert stub_server.received[0].path == "/v1/models"


async def test_requests_are_refused_while_backend_requests_are_disabled(
    stub_server: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assist.llm

    monkeypatch.setattr(assist.llm, "ALLOW_BACKEND_REQUESTS", False)
    model = make(stub_server)
    with pytest.raises(RuntimeError, match="ALLOW_BACKEND_REQUESTS"):
        await model.complete(USER)
    with pytest.raises(RuntimeError, match="ALLOW_BACKEND_REQUESTS"):
        [d async for d in model.stream(USER)]
    with pytest.raises(RuntimeError, match="ALLOW_BACKEND_REQUESTS"):
        await model.health()
    assert stub_server.received == []
