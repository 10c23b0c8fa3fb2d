from __future__ import annotations

import pytest

from assist.embedders.fake import FakeEmbedder
from tests.contracts.embedder_contract import EmbedderContract

pytestmark = pytest.mark.unit


class TestFakeEmbedderContract(EmbedderContract):
    prompted = True
    semantic = False

    @pytest.fixture
    def embedder(self) -> FakeEmbedder:
        return FakeEmbedder(dim=32)


async def test_counts_calls() -> None:
    e = FakeEmbedder(dim=4)
    await e.embed_documents(["a", "b"])
    await e.embed_query("q")
    assert e.calls == [("document", 2), ("query", 1)]


def test_dim_and_id() -> None:
    e = FakeEmbedder(dim=7)
    assert e.dim == 7 and e.model_id == "fake:7"
    assert e.embed_documents_sync(["x"]).shape == (1, 7)
    with pytest.raises(ValueError):
        FakeEmbedder(dim=0)
