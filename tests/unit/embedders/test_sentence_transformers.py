"""The sentence-transformers adapter against the real prepared e5-small (slow) and
cheap checks that need no model load (unit)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assist.embedders.sentence_transformers import SentenceTransformerEmbedder, _dim_from_dir
from assist.errors import ConfigError
from tests.contracts.embedder_contract import EmbedderContract


@pytest.fixture(scope="module")
def e5_embedder(e5_dir: Path) -> SentenceTransformerEmbedder:
    # The torch backend explicitly (``auto`` picks the ONNX export of the prepared model).
    e = SentenceTransformerEmbedder(e5_dir, batch_size=4, threads=1, backend="torch")
    e.warm_up()
    assert e.active_backend == "torch"
    return e


@pytest.fixture(scope="module", params=["torch", "onnx"])
def e5_each_backend(request: pytest.FixtureRequest, e5_dir: Path) -> SentenceTransformerEmbedder:
    e = SentenceTransformerEmbedder(e5_dir, batch_size=4, threads=1, backend=request.param)
    e.warm_up()
    assert e.active_backend == request.param
    return e


@pytest.mark.slow
class TestE5Contract(EmbedderContract):
    """The embedder contract on both backends (onnx: the export `assist models prepare` makes)."""

    prompted = True
    semantic = True

    @pytest.fixture
    def embedder(self, e5_each_backend: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
        return e5_each_backend


@pytest.mark.slow
def test_e5_uses_its_prompts(e5_embedder: SentenceTransformerEmbedder) -> None:
    assert e5_embedder.prompts["query"] == "query: "
    assert e5_embedder.prompts["document"] == "passage: "
    # encode_query must equal encoding the prefixed text with no prompt at all.
    model = e5_embedder._load()
    manual = model.encode(["query: 还款日"], normalize_embeddings=True)
    np.testing.assert_allclose(e5_embedder.embed_queries_sync(["还款日"]), manual, atol=1e-5)


@pytest.mark.slow
def test_e5_chinese_tokens_are_known(e5_embedder: SentenceTransformerEmbedder) -> None:
    tok = e5_embedder._load().tokenizer
    ids = tok.encode("微信支付绑定银行卡失败", add_special_tokens=False)
    assert tok.unk_token_id not in ids
    assert e5_embedder.count_tokens("微信支付绑定银行卡失败") == len(ids)


@pytest.mark.slow
def test_e5_truncates_long_input(e5_embedder: SentenceTransformerEmbedder) -> None:
    (v,) = e5_embedder.embed_documents_sync(["很长的文本。" * 2000])
    assert v.shape == (384,) and np.isfinite(v).all()


@pytest.mark.unit
def test_dim_without_loading(e5_dir: Path) -> None:
    e = SentenceTransformerEmbedder(e5_dir)
    assert e.dim == 384
    assert e._model is None
    assert e.model_id == "e5-small"


@pytest.mark.unit
def test_dim_from_dir_follows_dense_layers(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "2_Dense").mkdir()
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            ]
        )
    )
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 640, "pooling_mode_mean_tokens": True})
    )
    (tmp_path / "2_Dense" / "config.json").write_text(json.dumps({"in_features": 640, "out_features": 96}))
    assert _dim_from_dir(tmp_path) == 96
    assert _dim_from_dir(tmp_path / "missing") is None


@pytest.mark.unit
def test_missing_model_is_config_error_not_download(tmp_path: Path) -> None:
    e = SentenceTransformerEmbedder("intfloat/multilingual-e5-small")
    with pytest.raises(ConfigError, match="assist models prepare"):
        e.warm_up()
    not_st = tmp_path / "empty"
    not_st.mkdir()
    with pytest.raises(ConfigError, match="modules.json"):
        SentenceTransformerEmbedder(not_st).warm_up()


@pytest.mark.unit
async def test_empty_input_does_not_load(e5_dir: Path) -> None:
    e = SentenceTransformerEmbedder(e5_dir)
    assert await e.embed_documents([]) == []
    assert e._model is None
