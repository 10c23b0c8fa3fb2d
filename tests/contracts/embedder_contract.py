"""What every Embedder must do. Subclass ``EmbedderContract`` and override ``embedder``.

Example:
    class TestFakeEmbedder(EmbedderContract):
        @pytest.fixture
        def embedder(self):
            return FakeEmbedder(dim=16)
"""

from __future__ import annotations

import numpy as np
import pytest

from assist.embedders.base import Embedder

ZH_DOCS = [
    "信用卡的还款日是每月账单日后第二十天，逾期会产生利息。",
    "微信支付绑定银行卡失败时，请检查预留手机号是否正确。",
    "如何修改网上银行的登录密码？",
]
EN_DOCS = ["How do I reset my online banking password?", "Your parcel will arrive within three days."]


def _cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


class EmbedderContract:
    """Behaviour shared by all embedders.

    Class attributes tune the expectations: ``prompted`` (queries and documents are
    embedded differently, e.g. e5's ``query: `` / ``passage: ``) and ``semantic``
    (similar texts score higher: real models only).
    """

    prompted: bool = True
    semantic: bool = False

    @pytest.fixture
    def embedder(self) -> Embedder:
        raise NotImplementedError("override the `embedder` fixture")

    def test_satisfies_protocol(self, embedder: Embedder) -> None:
        assert isinstance(embedder, Embedder)
        assert isinstance(embedder.model_id, str) and embedder.model_id

    async def test_dims_match(self, embedder: Embedder) -> None:
        docs = await embedder.embed_documents(ZH_DOCS + EN_DOCS)
        query = await embedder.embed_query("还款日")
        assert len(docs) == len(ZH_DOCS + EN_DOCS)
        assert {len(v) for v in docs} == {embedder.dim}
        assert len(query) == embedder.dim
        assert all(isinstance(x, float) for x in query)

    async def test_unit_norm(self, embedder: Embedder) -> None:
        vectors = await embedder.embed_documents(ZH_DOCS) + await embedder.embed_queries(EN_DOCS)
        norms = np.linalg.norm(np.asarray(vectors), axis=1)
        np.testing.assert_allclose(norms, 1.0, atol=1e-4)

    async def test_empty_input(self, embedder: Embedder) -> None:
        assert await embedder.embed_documents([]) == []
        assert await embedder.embed_queries([]) == []

    async def test_deterministic(self, embedder: Embedder) -> None:
        a = await embedder.embed_query(ZH_DOCS[0])
        b = await embedder.embed_query(ZH_DOCS[0])
        assert _cos(a, b) > 0.99999

    async def test_batching_equals_single(self, embedder: Embedder) -> None:
        texts = ZH_DOCS + EN_DOCS
        batch = await embedder.embed_documents(texts)
        for text, vector in zip(texts, batch, strict=True):
            (single,) = await embedder.embed_documents([text])
            # Padding inside a batch changes float rounding only.
            assert _cos(single, vector) > 0.9999
        queries = await embedder.embed_queries(texts[:2])
        assert _cos(queries[1], await embedder.embed_query(texts[1])) > 0.9999

    async def test_query_and_document_prompts(self, embedder: Embedder) -> None:
        text = ZH_DOCS[2]
        q, d = await embedder.embed_query(text), (await embedder.embed_documents([text]))[0]
        if self.prompted:
            assert _cos(q, d) < 0.9999, "query and document must be prompted differently"
        else:
            assert _cos(q, d) > 0.9999

    async def test_chinese_is_not_unknown(self, embedder: Embedder) -> None:
        # A tokenizer that maps CJK to [UNK] gives near-identical vectors to every
        # Chinese sentence; distinct sentences must stay distinct.
        vectors = await embedder.embed_documents(ZH_DOCS)
        for i in range(len(vectors)):
            for j in range(i + 1, len(vectors)):
                assert _cos(vectors[i], vectors[j]) < 0.98
        assert embedder.count_tokens(ZH_DOCS[0]) >= 5

    async def test_similar_texts_score_higher(self, embedder: Embedder) -> None:
        if not self.semantic:
            pytest.skip("not a semantic model")
        q = await embedder.embed_query("信用卡什么时候还款？")
        docs = await embedder.embed_documents(ZH_DOCS)
        scores = [_cos(q, d) for d in docs]
        assert int(np.argmax(scores)) == 0, scores
        q_en = await embedder.embed_query("forgot my password for online banking")
        en = await embedder.embed_documents(EN_DOCS)
        assert _cos(q_en, en[0]) > _cos(q_en, en[1])

    def test_count_tokens(self, embedder: Embedder) -> None:
        assert embedder.count_tokens("") <= 1
        one = embedder.count_tokens(EN_DOCS[0])
        assert one >= 5
        assert embedder.count_tokens(EN_DOCS[0] + " " + EN_DOCS[0]) > one
        assert embedder.count_tokens(ZH_DOCS[0] * 3) > embedder.count_tokens(ZH_DOCS[0])
