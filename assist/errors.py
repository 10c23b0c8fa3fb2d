"""One error hierarchy for the whole product.

Expected outcomes (no grounded answer, escalate) are values, not exceptions.
Exceptions are for things that went wrong; every message says how to fix it.

    AssistError
    ├── ConfigError             developer/operator mistake; fail at startup
    ├── InputError              the caller sent something we refuse (bad file, oversize, ...)
    │   ├── NotFoundError
    │   ├── ConflictError
    │   └── PermissionDeniedError
    └── BackendError(backend, retryable, status_code)
        ├── LLMError
        ├── EmbeddingError
        ├── VectorStoreError
        ├── DatabaseError
        └── OverloadedError     too many requests for the model server; retry later
"""

from __future__ import annotations


class AssistError(Exception):
    """Base class of every error raised by this product."""

    code: str = "assist_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(AssistError):
    """Misconfiguration: a missing model, a bad setting, a malformed rule file."""

    code = "config_error"


class InputError(AssistError):
    """Input we refuse with a clear reason (malformed file, oversize upload, wrong type)."""

    code = "invalid_input"


class NotFoundError(InputError):
    code = "not_found"


class ConflictError(InputError):
    code = "conflict"


class PermissionDeniedError(InputError):
    code = "permission_denied"


class BackendError(AssistError):
    """A dependency (model server, embedder, vector store, database) failed.

    Args:
        message: What happened and what to do about it.
        backend: A short name of the dependency (``"llm"``, ``"qdrant"``...).
        retryable: Connection errors, timeouts, 429 and 5xx are retryable.
        status_code: The dependency's status code when it has one.
    """

    code = "backend_error"

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        retryable: bool = False,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.backend = backend
        self.retryable = retryable
        self.status_code = status_code


class LLMError(BackendError):
    code = "llm_error"

    def __init__(self, message: str, *, retryable: bool = False, status_code: int | None = None) -> None:
        super().__init__(message, backend="llm", retryable=retryable, status_code=status_code)


class EmbeddingError(BackendError):
    code = "embedding_error"

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message, backend="embedder", retryable=retryable)


class VectorStoreError(BackendError):
    code = "vector_store_error"

    def __init__(self, message: str, *, retryable: bool = False, status_code: int | None = None) -> None:
        super().__init__(message, backend="vector_store", retryable=retryable, status_code=status_code)


class DatabaseError(BackendError):
    code = "database_error"

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, backend="database", retryable=retryable)


class OverloadedError(BackendError):
    """Refused by admission control: the model server has as much work as it can take
    (``assist.admission``). Always retryable; the API answers 503 with ``Retry-After``.

    Args:
        cause: ``server_busy`` (the queue was full) or ``queue_wait`` (no slot in time).
        retry_after_s: Seconds after which a retry has a fair chance.
    """

    code = "overloaded"

    def __init__(self, message: str, *, cause: str, retry_after_s: int) -> None:
        super().__init__(message, backend="llm", retryable=True, status_code=503)
        self.cause = cause
        self.retry_after_s = retry_after_s
