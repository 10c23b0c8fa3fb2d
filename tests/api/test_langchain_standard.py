"""LangChain's own standard chat-model integration tests, run with ``ChatOpenAI`` against
the running service's ``/v1/chat/completions``.

The endpoint answers from the knowledge base: it claims text in and text out, sync and
async, streaming, batches, multi-turn conversations and usage (streamed usage through
``stream_options.include_usage``). It does not claim tool calling, tool choice,
structured output, JSON mode or image/audio/PDF/video input: those properties are False,
so their standard tests are skipped rather than passed by accident.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests

from tests.api.conftest import Service

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class TestChatOpenAIAgainstTheService(ChatModelIntegrationTests):
    _service: Service | None = None

    @pytest.fixture(autouse=True)
    def _bind_service(self, service: Service) -> None:
        type(self)._service = service

    @property
    def chat_model_class(self) -> type[ChatOpenAI]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        svc = type(self)._service
        assert svc is not None, "the service fixture binds first"
        return {"base_url": f"{svc.base_url}/v1", "api_key": svc.key("bot"), "model": "assist-kb",
                "stream_usage": True}

    # What the endpoint does not do -------------------------------------------------------
    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_tool_choice(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_image_tool_message(self) -> bool:
        return False

    @property
    def supports_pdf_inputs(self) -> bool:
        return False

    @property
    def supports_pdf_tool_message(self) -> bool:
        return False

    @property
    def supports_audio_inputs(self) -> bool:
        return False

    @property
    def supports_video_inputs(self) -> bool:
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False

    # What it does ------------------------------------------------------------------------
    @property
    def returns_usage_metadata(self) -> bool:
        return True
