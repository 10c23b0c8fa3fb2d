"""Chat models. ``make_chat_model(settings)`` builds the configured one.

``ALLOW_BACKEND_REQUESTS`` is switched off by the test suite so that a unit test can
never reach a real model server by accident; real adapters check it before each call.

Providers (``settings.llm.provider``):

- ``fake``: :class:`~assist.llm.fake.FakeChatModel`, scripted, no server.
- ``openai-compat``: :class:`~assist.llm.openai_compat.OpenAICompatibleChatModel` at
  ``settings.llm.base_url`` (vLLM on GPUs, or any OpenAI-compatible API).
- ``embedded``: the same client, pointed at the local vLLM CPU server
  (:class:`~assist.llm.local_server.LocalModelServer`). The caller owns the server's
  lifecycle: :func:`assist.runtime.open_runtime` (the service, the CLI, the evaluation
  harness) starts and stops it; elsewhere start it with :func:`start_embedded_server`.

Example:
    >>> from assist.config import Settings
    >>> make_chat_model(Settings(llm={"provider": "fake"})).model_id
    'fake'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assist.errors import ConfigError

if TYPE_CHECKING:
    from assist.config import Settings
    from assist.llm.base import ChatModel
    from assist.llm.local_server import LocalModelServer

ALLOW_BACKEND_REQUESTS = True

__all__ = ["ALLOW_BACKEND_REQUESTS", "make_chat_model", "start_embedded_server"]


def make_chat_model(settings: Settings, *, server: LocalModelServer | None = None) -> ChatModel:
    """Build the configured chat model. Adapters are imported inside their branch.

    Args:
        settings: ``settings.llm`` picks the provider, model, endpoint and timeouts.
        server: For ``embedded``: the running local server to talk to. Without it the
            client points at ``settings.llm.base_url`` or ``127.0.0.1:engine_port``
            (a server someone else started); nothing is started here.

    Raises:
        ConfigError: ``openai-compat`` without ``base_url``.
    """
    llm = settings.llm
    if llm.provider == "fake":
        from assist.llm.fake import FakeChatModel

        return FakeChatModel()

    from assist.llm.openai_compat import OpenAICompatibleChatModel

    api_key = llm.api_key.get_secret_value() or None
    if llm.provider == "openai-compat":
        if not llm.base_url:
            raise ConfigError(
                "the openai-compat LLM provider needs a server: set ASSIST_LLM__BASE_URL "
                "(e.g. http://vllm:8000/v1), or ASSIST_LLM__PROVIDER=embedded for the local CPU server"
            )
        base_url, model = llm.base_url, llm.model
    elif llm.provider == "embedded":
        if server is not None:
            base_url, model = server.base_url, server.served_model_name
        else:
            from pathlib import Path

            base_url = llm.base_url or f"http://127.0.0.1:{llm.engine_port}/v1"
            model = Path(llm.model).name
    else:  # pragma: no cover - pydantic's Literal already rejects it
        raise ConfigError(f"unknown LLM provider {llm.provider!r}: use embedded, openai-compat or fake")
    return OpenAICompatibleChatModel(
        base_url,
        model,
        api_key,
        timeout_s=llm.timeout_s,
        connect_timeout_s=llm.connect_timeout_s,
        max_retries=llm.max_retries,
    )


def start_embedded_server(settings: Settings) -> LocalModelServer:
    """Start (or reuse) the local vLLM CPU server; the caller must ``stop()`` it.

    Example:
        >>> server = start_embedded_server(settings)  # doctest: +SKIP
        >>> try:
        ...     model = make_chat_model(settings, server=server)
        ... finally:
        ...     server.stop()
    """
    from assist.llm.local_server import LocalModelServer

    return LocalModelServer(settings).start()
