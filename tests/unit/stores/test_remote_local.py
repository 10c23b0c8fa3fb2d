"""The Qdrant server adapter, run through qdrant-client's local mode, against the contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from qdrant_client import AsyncQdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from assist.config import QdrantSettings
from assist.errors import ConfigError
from assist.stores.qdrant_remote import QdrantRemoteVectorStore, translate_error
from tests.contracts.vector_store_contract import CORPUS, DIM, VectorStoreContract, flt, load_corpus

pytestmark = pytest.mark.unit


class TestRemoteLocalContract(VectorStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[QdrantRemoteVectorStore]:
        s = QdrantRemoteVectorStore(AsyncQdrantClient(location=":memory:"), "kb_test_8", dim=DIM, rrf_k=60)
        await s.ensure_collection()
        yield s
        await s.close()


async def test_local_path_persists(tmp_path: Path) -> None:
    settings = QdrantSettings(mode="local", path=tmp_path)
    s = QdrantRemoteVectorStore.from_settings(settings, collection="kb", dim=DIM)
    await load_corpus(s)
    await s.close()
    s2 = QdrantRemoteVectorStore.from_settings(settings, collection="kb", dim=DIM)
    assert await s2.count(flt()) == len(CORPUS)
    await s2.close()


async def test_existing_collection_with_other_dimension_is_a_config_error() -> None:
    client = AsyncQdrantClient(location=":memory:")
    await QdrantRemoteVectorStore(client, "kb", dim=DIM).ensure_collection()
    with pytest.raises(ConfigError, match="one embedding model"):
        await QdrantRemoteVectorStore(client, "kb", dim=DIM + 1).ensure_collection()
    await client.close()


@pytest.mark.parametrize(("version", "ok"), [("1.15.0", False), ("1.16.3", False), ("1.17.0", True), ("1.18.0-dev", True)])
async def test_server_version_is_checked(version: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server too old for RRF with k and weights is refused at start, with what to do."""
    from qdrant_client.http import models

    client = AsyncQdrantClient(location=":memory:")

    async def info() -> models.VersionInfo:
        return models.VersionInfo(title="qdrant", version=version)

    monkeypatch.setattr(client, "info", info)
    store = QdrantRemoteVectorStore(client, "kb", dim=DIM)
    if ok:
        await store.ensure_collection()
    else:
        with pytest.raises(ConfigError, match=r"version .*needs Qdrant 1\.17 or later"):
            await store.ensure_collection()
    await client.close()


def test_remote_mode_needs_url() -> None:
    with pytest.raises(ConfigError, match="ASSIST_QDRANT__URL"):
        QdrantRemoteVectorStore.from_settings(QdrantSettings(mode="remote"), collection="kb", dim=DIM)


def _unexpected(status: int) -> UnexpectedResponse:
    return UnexpectedResponse(status_code=status, reason_phrase="x", content=b"{}", headers=httpx.Headers())


@pytest.mark.parametrize(
    ("exc", "retryable", "status"),
    [
        (_unexpected(503), True, 503),
        (_unexpected(429), True, 429),
        (_unexpected(400), False, 400),
        (_unexpected(404), False, 404),
        (ResponseHandlingException(httpx.ConnectError("refused")), True, None),
        (httpx.ReadTimeout("slow"), True, None),
        (ValueError("Collection kb not found"), False, None),
    ],
)
def test_translate_error(exc: Exception, retryable: bool, status: int | None) -> None:
    err = translate_error(exc, "search")
    assert err.retryable is retryable
    assert err.status_code == status
    assert err.backend == "vector_store"


async def test_unreachable_server_is_retryable(allow_backend_requests: None) -> None:
    from assist.errors import VectorStoreError

    # Port 9 (discard) on localhost: connection refused, no network needed.
    client = AsyncQdrantClient(url="http://127.0.0.1:9", timeout=2, check_compatibility=False)
    s = QdrantRemoteVectorStore(client, "kb", dim=DIM)
    with pytest.raises(VectorStoreError) as ei:
        await s.count()
    assert ei.value.retryable
    await s.close()
