from __future__ import annotations

from pathlib import Path

import pytest

from assist.config import Settings
from assist.embedders import make_embedder
from assist.embedders.fake import FakeEmbedder
from assist.embedders.sentence_transformers import SentenceTransformerEmbedder
from assist.errors import ConfigError

pytestmark = pytest.mark.unit


def _settings(tmp_path: Path, models: Path, **embedder: object) -> Settings:
    return Settings(_env_file=None, env="test", home=tmp_path / "home", models_path=models, embedder=embedder)


def test_fake_specs(tmp_path: Path) -> None:
    e = make_embedder(_settings(tmp_path, tmp_path, model="fake"))
    assert isinstance(e, FakeEmbedder) and e.dim == 384
    assert make_embedder(_settings(tmp_path, tmp_path, model="fake:12")).dim == 12
    with pytest.raises(ConfigError, match="fake:DIM"):
        make_embedder(_settings(tmp_path, tmp_path, model="fake:x"))


def test_prepared_name_resolves_to_models_dir(tmp_path: Path, models_dir: Path) -> None:
    e = make_embedder(_settings(tmp_path, models_dir, model="e5-small", batch_size=8))
    assert isinstance(e, SentenceTransformerEmbedder)
    assert Path(e.model_path_or_id) == models_dir / "e5-small"
    assert e.model_id == "e5-small" and e.batch_size == 8
    assert e._model is None  # construction is cheap


def test_unprepared_name_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="assist models prepare --embedder embeddinggemma"):
        make_embedder(_settings(tmp_path, tmp_path / "empty", model="embeddinggemma"))


def test_local_path(tmp_path: Path, e5_dir: Path) -> None:
    e = make_embedder(_settings(tmp_path, tmp_path, model=str(e5_dir)))
    assert isinstance(e, SentenceTransformerEmbedder) and Path(e.model_path_or_id) == e5_dir


def test_hub_id_needs_allow_download(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASSIST_EMBEDDER__MODEL"):
        make_embedder(_settings(tmp_path, tmp_path, model="BAAI/bge-m3"))
    e = make_embedder(_settings(tmp_path, tmp_path, model="BAAI/bge-m3", allow_download=True))
    assert isinstance(e, SentenceTransformerEmbedder) and e.allow_download
