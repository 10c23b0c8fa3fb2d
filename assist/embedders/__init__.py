"""Embedders. ``make_embedder(settings)`` builds the configured one.

``settings.embedder.model`` is one of:

- a name prepared by ``assist models prepare`` (``e5-small``, ``embeddinggemma``),
  found under ``settings.models_dir``;
- a path to a local sentence-transformers directory;
- ``fake`` or ``fake:DIM`` (tests);
- with ``allow_download`` only, a hub id. A missing model is never downloaded silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from assist.config import EmbedderSettings, Settings
from assist.embedders.base import Embedder
from assist.errors import ConfigError

PREPARED_EMBEDDERS = ("e5-small", "embeddinggemma")

__all__ = ["PREPARED_EMBEDDERS", "Embedder", "make_embedder", "resolve_embedder_path"]


def resolve_embedder_path(settings: Settings, cfg: EmbedderSettings | None = None) -> Path | str:
    """Where ``settings.embedder.model`` points: a local directory, or (downloads allowed)
    the hub id itself.

    Raises:
        ConfigError: Nothing local matches and downloads are not allowed.
    """
    cfg = cfg or settings.embedder
    spec = cfg.model
    if spec in PREPARED_EMBEDDERS:
        path = settings.models_dir / spec
        if (path / "modules.json").is_file():
            return path
        extra = " --embedder embeddinggemma" if spec == "embeddinggemma" else ""
        raise ConfigError(
            f"embedding model {spec!r} is not prepared in {settings.models_dir}: run "
            f"`assist models prepare{extra}` (or set ASSIST_MODELS_PATH to where it was prepared)"
        )
    path = Path(spec).expanduser()
    if path.exists():
        return path
    if cfg.allow_download:
        return spec
    raise ConfigError(
        f"embedding model {spec!r} is neither a prepared model ({', '.join(PREPARED_EMBEDDERS)}) "
        "nor a local directory: run `assist models prepare`, or set ASSIST_EMBEDDER__MODEL to a "
        "local sentence-transformers directory (or ASSIST_EMBEDDER__ALLOW_DOWNLOAD=true to fetch a hub id)"
    )


def make_embedder(settings: Settings, cfg: EmbedderSettings | None = None) -> Embedder:
    """Build the embedder ``cfg`` (default ``settings.embedder``) describes (cheap:
    nothing loads yet). The routing embedder is built from ``settings.routing.embedder``.

    Example:
        >>> from assist.config import EmbedderSettings, Settings
        >>> make_embedder(Settings(embedder={"model": "fake:8"})).dim
        8
    """
    cfg = cfg or settings.embedder
    spec = cfg.model
    if spec == "fake" or spec.startswith("fake:"):
        from assist.embedders.fake import FakeEmbedder

        _, _, dim = spec.partition(":")
        try:
            return FakeEmbedder(dim=int(dim) if dim else 384)
        except ValueError as e:
            raise ConfigError(f"bad fake embedder spec {spec!r}: use 'fake' or 'fake:DIM' (DIM >= 1)") from e

    target = resolve_embedder_path(settings, cfg)
    from assist.embedders.sentence_transformers import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(
        target,
        batch_size=cfg.batch_size,
        max_seq_length=cfg.max_seq_length,
        device=cfg.device,
        threads=cfg.threads,
        allow_download=cfg.allow_download,
        model_id=spec if spec in PREPARED_EMBEDDERS else None,
        query_prompt_name=cfg.query_prompt_name,
        backend=cfg.backend,
        quantize=cfg.quantize,
    )
    # ``dim`` is a read-only property here (known only after reading the model); the
    # Protocol declares a plain attribute, which mypy treats as settable.
    return cast(Embedder, embedder)
