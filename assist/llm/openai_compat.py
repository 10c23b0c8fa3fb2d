"""A chat model behind any OpenAI-compatible server: vLLM on GPUs, the embedded vLLM CPU
server, or OpenAI itself. Only the endpoint changes.

This is the only module that imports the ``openai`` SDK; its types and exceptions never
leave it (every failure becomes :class:`assist.errors.LLMError`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx
import openai
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from assist import llm as _llm_pkg
from assist.errors import LLMError
from assist.types import ChatMessage, Completion, GenSettings, Usage

log = logging.getLogger(__name__)

T = TypeVar("T")

# The openai client rejects an empty key; vLLM started without --api-key ignores it.
PLACEHOLDER_API_KEY = "not-needed"

# 408 (request timeout) and 409 (lock conflict) are retried by openai-python itself; we
# follow its taxonomy and add 429 and every 5xx.
_RETRYABLE_STATUS = frozenset({408, 409, 429})


def _check_allowed() -> None:
    # Looked up at call time: the test suite flips the flag with monkeypatch.
    if not _llm_pkg.ALLOW_BACKEND_REQUESTS:
        raise RuntimeError(
            "backend requests are disabled (assist.llm.ALLOW_BACKEND_REQUESTS is False): "
            "use FakeChatModel in unit tests, or request the `allow_backend_requests` fixture"
        )


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, LLMError) and exc.retryable


def translate_error(exc: Exception, *, base_url: str, model: str) -> LLMError:
    """Map an openai/httpx exception to :class:`LLMError` with a message that says what to do."""
    where = f"the model server at {base_url} (model {model!r})"
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        cause = timeout_cause(exc)
        log.warning("model call timed out: cause=%s (%s)", cause, where)
        hint = ("is it running? check ASSIST_LLM__CONNECT_TIMEOUT_S" if cause == "connect"
                else "raise ASSIST_LLM__TIMEOUT_S or check the server's load")
        return LLMError(f"{where} timed out ({cause}); {hint}", retryable=True)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return LLMError(
            f"cannot reach {where} ({exc.__class__.__name__}); check that it is running and "
            "that ASSIST_LLM__BASE_URL is right",
            retryable=True,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _error_detail(exc)
        if status in (401, 403):
            hint = "set ASSIST_LLM__API_KEY to a key the server accepts"
        elif status == 404:
            hint = "check ASSIST_LLM__MODEL against the server's /v1/models"
        elif status == 429:
            hint = "the server is rate-limiting; retry later or add capacity"
        elif status >= 500:
            hint = "the server failed; see its logs"
        else:
            hint = "the request was rejected; see the detail"
        return LLMError(
            f"{where} answered HTTP {status}: {detail} ({hint})",
            retryable=status in _RETRYABLE_STATUS or status >= 500,
            status_code=status,
        )
    if isinstance(exc, openai.OpenAIError | httpx.HTTPError):
        return LLMError(f"{where} failed: {exc}", retryable=False)
    return LLMError(f"{where} failed unexpectedly: {exc!r}", retryable=False)


def timeout_cause(exc: BaseException) -> str:
    """What timed out: ``connect``, ``read`` (the server accepted but did not answer in
    time), ``write``, ``pool`` (no free connection) or ``total``. openai-python wraps
    httpx's exception in ``__cause__``."""
    seen: BaseException | None = exc
    for _ in range(4):
        if isinstance(seen, httpx.ConnectTimeout):
            return "connect"
        if isinstance(seen, httpx.ReadTimeout):
            return "read"
        if isinstance(seen, httpx.WriteTimeout):
            return "write"
        if isinstance(seen, httpx.PoolTimeout):
            return "pool"
        if seen is None:
            break
        seen = seen.__cause__ or seen.__context__
    return "total"


def _error_detail(exc: openai.APIStatusError) -> str:
    # openai-python puts the parsed ``error`` object (or the whole body) in ``.body``.
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error")
        msg = inner.get("message") if isinstance(inner, dict) else body.get("message")
        if msg:
            return str(msg)[:500]
    return str(exc.message)[:500]


def normalise_messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """Exactly one leading system message: every system message is merged, in order, into
    the first position; the other messages keep their order.

    vLLM chat templates (Qwen, Llama…) reject or mishandle a second or a non-leading
    system message, so we never send one.
    """
    system = [m.content for m in messages if m.role == "system" and m.content.strip()]
    rest = [{"role": m.role, "content": m.content} for m in messages if m.role != "system"]
    if not rest:
        raise LLMError("no user or assistant message to send: a chat needs at least one", retryable=False)
    if system:
        return [{"role": "system", "content": "\n\n".join(system)}, *rest]
    return rest


def _response_format(schema: dict[str, Any] | None, *, strict_schema: bool) -> dict[str, Any] | None:
    if schema is None:
        return None
    if not strict_schema:
        return {"type": "json_object"}
    name = str(schema.get("title") or "response")
    # OpenAI requires the name to match ^[a-zA-Z0-9_-]{1,64}$.
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64] or "response"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


class OpenAICompatibleChatModel:
    """A :class:`~assist.llm.base.ChatModel` over an OpenAI-compatible ``/v1`` API.

    Retries connection errors, timeouts, 429 and 5xx with exponential backoff and jitter;
    everything else fails at once. A stream is retried only until its first delta (after
    that, a retry would duplicate text the caller has already shown).

    Args:
        base_url: The API root including ``/v1`` (``http://vllm:8000/v1``).
        model: The served model name.
        api_key: The server's key; ``None`` or empty for keyless servers.
        timeout_s: Total time allowed per request (overridable by ``GenSettings.timeout_s``).
        connect_timeout_s: Time allowed to open the connection.
        max_retries: Retries after the first attempt on retryable errors.
        backoff_s: First backoff delay; it doubles up to ``backoff_max_s``.
        backoff_max_s: Cap on a single backoff delay.

    Example:
        >>> model = OpenAICompatibleChatModel("http://127.0.0.1:8011/v1", "qwen2.5-0.5b-instruct")
        >>> reply = await model.complete([ChatMessage(role="user", content="你好")])  # doctest: +SKIP
        >>> async for delta in model.stream([ChatMessage(role="user", content="Hi")]):  # doctest: +SKIP
        ...     print(delta, end="")
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.max_retries = max_retries
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        # Set once a server rejects json_schema; later JSON requests use json_object.
        self._json_schema_supported = True
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or PLACEHOLDER_API_KEY,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            # tenacity retries, so that the taxonomy and backoff are ours and testable.
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleChatModel(base_url={self.base_url!r}, model={self.model_id!r})"

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    # ChatModel -------------------------------------------------------------------------
    async def complete(
        self, messages: Sequence[ChatMessage], *, settings: GenSettings | None = None
    ) -> Completion:
        """Generate one reply.

        Raises:
            LLMError: The server failed or refused (``retryable`` says whether a later try
                may succeed); retryable errors have already been retried ``max_retries`` times.
        """
        gen = settings or GenSettings()
        payload = normalise_messages(messages)

        async def call() -> Any:
            return await self._client.chat.completions.create(**self._request(payload, gen))

        response = await self._with_json_fallback(gen, call)
        if not response.choices:
            raise LLMError(f"{self.base_url} returned no choices for model {self.model_id!r}")
        choice = response.choices[0]
        usage = response.usage
        if gen.json_schema is not None and choice.finish_reason == "length":
            # The caller's JSON parse will fail; say why, in the log it will look at.
            log.warning(
                "JSON reply from %s hit max_tokens=%d: it is truncated", self.model_id, gen.max_tokens
            )
        return Completion(
            text=choice.message.content or "",
            model=response.model or self.model_id,
            finish_reason=choice.finish_reason,
            usage=Usage(
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            ),
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, settings: GenSettings | None = None
    ) -> AsyncIterator[str]:
        """Yield text deltas as the server produces them (empty deltas are skipped)."""
        gen = settings or GenSettings()
        payload = normalise_messages(messages)

        async def call() -> Any:
            return await self._client.chat.completions.create(**self._request(payload, gen), stream=True)

        response = await self._with_json_fallback(gen, call)
        try:
            async for chunk in response:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content
                if delta:
                    yield delta
        except (openai.OpenAIError, httpx.HTTPError) as e:
            raise translate_error(e, base_url=self.base_url, model=self.model_id) from e
        finally:
            await response.close()

    async def health(self) -> bool:
        """True when the server answers ``GET /models`` and serves this model."""
        _check_allowed()
        try:
            page = await self._client.models.list(timeout=min(self._timeout_s, 5.0))
        except (openai.OpenAIError, httpx.HTTPError) as e:
            log.info("health check of %s failed: %s", self.base_url, e)
            return False
        return any(m.id == self.model_id for m in page.data)

    # internals -------------------------------------------------------------------------
    def _request(self, payload: list[dict[str, str]], gen: GenSettings) -> dict[str, Any]:
        req: dict[str, Any] = {
            "model": self.model_id,
            "messages": payload,
            "temperature": gen.temperature,
            "max_tokens": gen.max_tokens,
        }
        if gen.top_p is not None:
            req["top_p"] = gen.top_p
        if gen.stop:
            req["stop"] = gen.stop
        if gen.seed is not None:
            req["seed"] = gen.seed
        if gen.presence_penalty is not None:
            req["presence_penalty"] = gen.presence_penalty
        if gen.frequency_penalty is not None:
            req["frequency_penalty"] = gen.frequency_penalty
        fmt = _response_format(gen.json_schema, strict_schema=self._json_schema_supported)
        if fmt is not None:
            req["response_format"] = fmt
        if gen.timeout_s is not None:
            req["timeout"] = httpx.Timeout(gen.timeout_s, connect=self._connect_timeout_s)
        return req

    async def _with_json_fallback(self, gen: GenSettings, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._with_retries(call)
        except LLMError as e:
            # Some OpenAI-compatible servers (older vLLM, llama.cpp) know json_object but
            # not json_schema: fall back once, and remember.
            if (
                gen.json_schema is not None
                and self._json_schema_supported
                and e.status_code in (400, 422)
                and ("json_schema" in e.message or "response_format" in e.message)
            ):
                log.warning("%s rejected json_schema; falling back to json_object", self.base_url)
                self._json_schema_supported = False
                return await self._with_retries(call)
            raise

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        _check_allowed()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            # Exponential backoff plus jitter, so that clients do not retry in lockstep.
            wait=wait_exponential(multiplier=self._backoff_s, max=self._backoff_max_s)
            + wait_random(0, self._backoff_s),
            retry=retry_if_exception(_is_retryable),
            reraise=True,
            before_sleep=lambda rs: log.warning(
                "LLM request failed (attempt %d): %s; retrying",
                rs.attempt_number,
                rs.outcome.exception() if rs.outcome else None,
            ),
        )
        async for attempt in retrying:
            with attempt:
                try:
                    return await call()
                except (openai.OpenAIError, httpx.HTTPError) as e:
                    raise translate_error(e, base_url=self.base_url, model=self.model_id) from e
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover
