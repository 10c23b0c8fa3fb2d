"""The onnxruntime backend against the real prepared e5-small: the same vectors as the
torch backend, and clear errors when the export is missing or stale. (The embedder
contract runs on both backends in test_sentence_transformers.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from assist.embedders import onnx_backend, staging
from assist.embedders.onnx_backend import _select_prompt, export_onnx, export_status
from assist.embedders.sentence_transformers import SentenceTransformerEmbedder
from assist.errors import ConfigError

TEXTS = [
    "信用卡还款日是哪天？",
    "微信支付绑定银行卡失败，预留手机号已经改过了，还是提示错误，怎么办",
    "Can I bring my dog to the hotel?",
    "My order A-10023 arrived damaged and I want a refund, not a replacement.",
    "短",
    "很长的文本，" * 600,  # truncated at the model's 512 tokens on both backends
]


def _linked_copy(src: Path, dst: Path, *, with_onnx: bool) -> Path:
    """``src`` as symlinks (no 470 MB copies); the ``onnx/`` folder only when asked."""
    dst.mkdir()
    for entry in src.iterdir():
        if entry.name == onnx_backend.ONNX_SUBDIR and not with_onnx:
            continue
        (dst / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    return dst


@pytest.fixture(scope="module")
def onnx_embedder(e5_dir: Path) -> SentenceTransformerEmbedder:
    e = SentenceTransformerEmbedder(e5_dir, batch_size=4, threads=1, backend="onnx")
    e.warm_up()
    return e


@pytest.fixture(scope="module")
def torch_embedder(e5_dir: Path) -> SentenceTransformerEmbedder:
    e = SentenceTransformerEmbedder(e5_dir, batch_size=4, threads=1, backend="torch")
    e.warm_up()
    return e


@pytest.mark.slow
def test_prepared_e5_is_exported_and_auto_runs_it(e5_dir: Path) -> None:
    # `assist models prepare` (scripts/install.sh) exports the prepared embedder.
    assert export_status(e5_dir) == "ok"
    meta = onnx_backend.read_meta(e5_dir)
    assert meta is not None and meta["check_min_cosine"] >= onnx_backend.MIN_CHECK_COSINE
    e = SentenceTransformerEmbedder(e5_dir)  # backend "auto"
    e.warm_up()
    assert e.active_backend == "onnx"


@pytest.mark.slow
def test_onnx_vectors_equal_torch_vectors(
    onnx_embedder: SentenceTransformerEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    for encode in ("embed_queries_sync", "embed_documents_sync"):
        a = getattr(onnx_embedder, encode)(TEXTS)
        b = getattr(torch_embedder, encode)(TEXTS)
        assert a.shape == b.shape == (len(TEXTS), 384)
        assert float(np.min(np.sum(a * b, axis=1))) > 0.9999, encode
    # Same tokenizer: chunk budgets do not move when the backend changes.
    for text in TEXTS[:4]:
        assert onnx_embedder.count_tokens(text) == torch_embedder.count_tokens(text)


@pytest.mark.slow
def test_named_query_prompt_is_used(onnx_embedder: SentenceTransformerEmbedder, e5_dir: Path) -> None:
    e = SentenceTransformerEmbedder(e5_dir, backend="onnx", query_prompt_name="document")
    # The "document" prompt on a query equals embedding it as a document.
    np.testing.assert_allclose(
        e.embed_queries_sync(TEXTS[:2]), onnx_embedder.embed_documents_sync(TEXTS[:2]), atol=1e-5
    )


@pytest.mark.slow
def test_missing_export_auto_falls_back_and_onnx_is_a_clear_error(e5_dir: Path, tmp_path: Path) -> None:
    bare = _linked_copy(e5_dir, tmp_path / "e5", with_onnx=False)
    assert export_status(bare) == "missing"
    auto = SentenceTransformerEmbedder(bare)
    auto.warm_up()
    assert auto.active_backend == "torch"
    with pytest.raises(ConfigError, match="export-onnx"):
        SentenceTransformerEmbedder(bare, backend="onnx").warm_up()


@pytest.mark.unit
def test_changed_model_makes_the_export_stale(e5_dir: Path, tmp_path: Path) -> None:
    copy = _linked_copy(e5_dir, tmp_path / "e5", with_onnx=True)
    assert export_status(copy) == "ok"  # a linked copy is the same model
    cfg = copy / "sentence_bert_config.json"
    data = json.loads(cfg.read_text())
    cfg.unlink()
    cfg.write_text(json.dumps({**data, "max_seq_length": 128}))
    assert export_status(copy) == "stale"
    with pytest.raises(ConfigError, match="stale"):
        SentenceTransformerEmbedder(copy, backend="onnx").warm_up()


@pytest.mark.slow
def test_export_writes_a_checked_graph(e5_dir: Path, tmp_path: Path) -> None:
    copy = _linked_copy(e5_dir, tmp_path / "e5", with_onnx=False)
    lines: list[str] = []
    out = export_onnx(copy, progress=lines.append)
    assert out == copy / "onnx" and export_status(copy) == "ok"
    assert any("min cosine" in line for line in lines)
    assert not [p for p in copy.iterdir() if p.name.startswith(".onnx-export-")]  # no leftovers
    # Idempotent: a second call keeps the export.
    mtime = os.stat(out / "model.onnx").st_mtime_ns
    export_onnx(copy, progress=lines.append)
    assert os.stat(out / "model.onnx").st_mtime_ns == mtime


@pytest.mark.unit
def test_export_refuses_models_it_cannot_reproduce(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "modules.json").write_text(
        json.dumps([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.Router"}])
    )
    with pytest.raises(ConfigError, match="cannot be exported"):
        export_onnx(d)
    with pytest.raises(ConfigError, match="not a sentence-transformers directory"):
        export_onnx(tmp_path)


@pytest.mark.slow
def test_unwritable_model_dir_is_a_clear_error(
    e5_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _linked_copy(e5_dir, tmp_path / "e5", with_onnx=False)

    def refuse(*_: object, **__: object) -> str:
        raise PermissionError(13, "Permission denied", str(copy))

    monkeypatch.setattr(staging.tempfile, "mkdtemp", refuse)  # staged_build's scratch dir
    with pytest.raises(ConfigError, match="cannot write the ONNX export"):
        export_onnx(copy)
    assert export_status(copy) == "missing"


@pytest.mark.unit
def test_prompt_selection_follows_sentence_transformers() -> None:
    prompts = {"query": "q: ", "passage": "p: ", "STS": "sts: "}
    assert _select_prompt(prompts, None, ("query",)) == "q: "
    assert _select_prompt(prompts, None, ("document", "passage", "corpus")) == "p: "
    assert _select_prompt(prompts, "STS", ("Classification",)) == "sts: "  # the model's default
    assert _select_prompt({}, None, ("query",)) == ""


# -- the int8 variant --------------------------------------------------------------------


@pytest.mark.slow
def test_prepared_e5_has_an_int8_variant_close_to_the_float_model(
    e5_dir: Path, onnx_embedder: SentenceTransformerEmbedder
) -> None:
    # `assist models prepare` adds it; it is its own model id, hence its own collection.
    assert export_status(e5_dir, "int8") == "ok"
    meta = onnx_backend.read_meta(e5_dir)
    assert meta is not None and meta["int8_check_min_cosine"] >= onnx_backend.MIN_INT8_COSINE
    q8 = SentenceTransformerEmbedder(e5_dir, batch_size=4, threads=1, quantize="int8")
    assert q8.model_id == f"{onnx_embedder.model_id}-int8"
    for encode in ("embed_queries_sync", "embed_documents_sync"):
        a = getattr(q8, encode)(TEXTS)
        b = getattr(onnx_embedder, encode)(TEXTS)
        assert a.shape == b.shape == (len(TEXTS), 384)
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        cos = np.sum(a * b, axis=1)
        # Close to the float model, and not the float model (the int8 graph really ran).
        assert float(cos.min()) > 0.98 and float(cos.max()) < 0.99999, (encode, cos)
    assert q8.active_backend == "onnx"


@pytest.mark.slow
def test_int8_never_falls_back(e5_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="backend auto or onnx"):
        SentenceTransformerEmbedder(e5_dir, backend="torch", quantize="int8")
    bare = _linked_copy(e5_dir, tmp_path / "e5", with_onnx=False)
    with pytest.raises(ConfigError, match="--int8"):
        SentenceTransformerEmbedder(bare, quantize="int8").warm_up()
    # A float export without the int8 variant is not enough either.
    export_onnx(bare)
    assert export_status(bare) == "ok" and export_status(bare, "int8") == "missing"
    with pytest.raises(ConfigError, match="--int8"):
        SentenceTransformerEmbedder(bare, quantize="int8").warm_up()


@pytest.mark.slow
def test_quantize_int8_is_checked_idempotent_and_needs_the_float_export(e5_dir: Path, tmp_path: Path) -> None:
    bare = _linked_copy(e5_dir, tmp_path / "e5", with_onnx=False)
    with pytest.raises(ConfigError, match="export-onnx"):
        onnx_backend.quantize_int8(bare)
    export_onnx(bare)
    lines: list[str] = []
    out = onnx_backend.quantize_int8(bare, progress=lines.append)
    assert out == bare / "onnx" / onnx_backend.INT8_GRAPH_FILE and export_status(bare, "int8") == "ok"
    assert any("min cosine" in line for line in lines)
    assert not [p for p in (bare / "onnx").iterdir() if p.name.endswith(".tmp")]  # no leftovers
    mtime = os.stat(out).st_mtime_ns
    onnx_backend.quantize_int8(bare)
    assert os.stat(out).st_mtime_ns == mtime
    # A new float export (the model changed) drops the variant until it is made again.
    export_onnx(bare, force=True)
    assert export_status(bare, "int8") == "missing"


@pytest.mark.unit
def test_quantize_setting_reaches_the_embedder_and_its_collection(models_dir: Path) -> None:
    from assist.config import Settings
    from assist.embedders import make_embedder
    from assist.stores import collection_name

    s = Settings(models_path=models_dir, embedder={"quantize": "int8"}, llm={"provider": "fake"})
    e = make_embedder(s)
    assert getattr(e, "quantize", None) == "int8" and e.model_id.endswith("-int8")
    plain = make_embedder(Settings(models_path=models_dir, llm={"provider": "fake"}))
    assert collection_name("kb", e.model_id, 384) != collection_name("kb", plain.model_id, 384)
