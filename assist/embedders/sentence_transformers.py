"""sentence-transformers adapter: the default embedder (e5-small, EmbeddingGemma, any ST dir).

Only this module imports ``sentence_transformers``/``torch``; their types never leave it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assist.embedders.batching import embed_in_thread
from assist.errors import ConfigError, EmbeddingError

# Texts per worker-thread hop; sentence-transformers still batches by ``batch_size``
# inside a hop (and sorts by length there, which is why a hop holds several batches).
_HOP_BATCHES = 8


class SentenceTransformerEmbedder:
    """Embed with a local sentence-transformers model, prompting queries and documents
    with the model's own prompts (``encode_query`` / ``encode_document``).

    Construction is cheap; the model loads in :meth:`warm_up` or on first use, offline
    (``local_files_only``) unless ``allow_download`` is set. Vectors are L2-normalised
    float32, so dot product equals cosine.

    Args:
        model_path_or_id: A sentence-transformers directory (or a hub id with
            ``allow_download=True``).
        batch_size: Texts per forward pass.
        max_seq_length: Longer inputs are truncated to this many tokens.
        device: torch device (``"cpu"``, ``"cuda"``).
        threads: torch intra-op threads (process-wide); None keeps torch's default.
        allow_download: Let sentence-transformers fetch a hub id. Off by default:
            a missing model is a :class:`ConfigError`, never a silent download.
        model_id: Name reported in ``model_id`` (default: the directory name).
        query_prompt_name: A named prompt of the model for queries; None: ``query``.
        backend: ``onnx`` runs the directory's ONNX export (``onnx/``, made by
            ``assist models prepare`` or ``assist models export-onnx``) with onnxruntime:
            the same vectors, 2-3x faster single queries on CPU. ``torch`` runs
            sentence-transformers on PyTorch. ``auto`` (default) takes ``onnx`` when an
            up-to-date export exists, else ``torch``.
        quantize: ``int8`` runs the export's int8 variant (``onnx/model_int8.onnx``, made
            by ``assist models export-onnx DIR --int8`` or ``assist models prepare``):
            faster on CPU, slightly different vectors, so ``model_id`` gains ``-int8``
            and the index is its own. Needs the ONNX backend; never falls back to torch.

    Example:
        >>> e = SentenceTransformerEmbedder(".assist/models/e5-small")  # doctest: +SKIP
        >>> v = await e.embed_query("信用卡还款日是哪天？")  # doctest: +SKIP
        >>> len(v) == e.dim  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        model_path_or_id: str | Path,
        *,
        batch_size: int = 32,
        max_seq_length: int = 512,
        device: str = "cpu",
        threads: int | None = None,
        allow_download: bool = False,
        model_id: str | None = None,
        query_prompt_name: str | None = None,
        backend: Literal["auto", "torch", "onnx"] = "auto",
        quantize: Literal["none", "int8"] = "none",
    ) -> None:
        self.model_path_or_id = str(model_path_or_id)
        if quantize == "int8" and backend == "torch":
            raise ConfigError(
                "ASSIST_EMBEDDER__QUANTIZE=int8 runs the model's int8 ONNX variant: use backend auto or onnx"
            )
        self.backend = backend
        self.quantize = quantize
        self.active_backend: str | None = None  # what ``backend`` resolved to once loaded
        # A named prompt of the model for queries (EmbeddingGemma: "Classification" for
        # routing); None uses the model's own "query" prompt.
        self.query_prompt_name = query_prompt_name
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.device = device
        self.threads = threads
        self.allow_download = allow_download
        path = Path(self.model_path_or_id)
        self.model_id = model_id or (path.name if path.exists() else self.model_path_or_id)
        if quantize == "int8":  # different vectors: never the float model's collection
            self.model_id += "-int8"
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()  # one load; one forward pass at a time (CPU-bound)

    # Loading -------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the model now (idempotent, thread-safe)."""
        self._load()

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                self._model = self._load_model()
                get_dim = getattr(self._model, "get_embedding_dimension", None) or (
                    self._model.get_sentence_embedding_dimension  # sentence-transformers 5.x
                )
                self._dim = int(get_dim())
        return self._model

    def _load_model(self) -> Any:
        path = Path(self.model_path_or_id)
        if not path.exists() and not self.allow_download:
            raise ConfigError(
                f"embedding model {self.model_path_or_id!r} is not a local directory: run "
                "`assist models prepare`, or set ASSIST_EMBEDDER__MODEL to a local "
                "sentence-transformers directory (ASSIST_EMBEDDER__ALLOW_DOWNLOAD=true to fetch hub ids)"
            )
        if path.exists() and not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ConfigError(
                f"{path} is not a sentence-transformers directory (no modules.json): "
                "run `assist models prepare` again"
            )
        model = self._load_onnx(path)
        if model is None:
            model = self._load_torch()
        if self.max_seq_length:
            model.max_seq_length = min(self.max_seq_length, model.max_seq_length or self.max_seq_length)
        return model

    def _load_onnx(self, path: Path) -> Any:
        """The directory's ONNX export when ``backend`` allows it and it is up to date;
        None when the torch model is to be used instead."""
        required = self.backend == "onnx" or self.quantize == "int8"
        if not (path.exists() and self.device == "cpu" and self.backend != "torch"):
            if required:
                raise ConfigError(
                    "the ONNX backend (ASSIST_EMBEDDER__BACKEND=onnx or QUANTIZE=int8) needs a local "
                    f"model directory on device cpu; got {self.model_path_or_id!r} on {self.device!r}"
                )
            return None
        from assist.embedders import onnx_backend

        status = onnx_backend.export_status(path, self.quantize)
        if status != "ok":
            if self.quantize == "int8":
                raise ConfigError(
                    f"ASSIST_EMBEDDER__QUANTIZE=int8 but the int8 ONNX model of {path} is {status}: run "
                    f"`assist models export-onnx {path} --int8` (or `assist models prepare`)"
                )
            if required:
                raise ConfigError(
                    f"ASSIST_EMBEDDER__BACKEND=onnx but the ONNX export of {path} is {status}: run "
                    f"`assist models export-onnx {path}` (or `assist models prepare`), or use backend torch/auto"
                )
            return None
        graph = onnx_backend.INT8_GRAPH_FILE if self.quantize == "int8" else onnx_backend.GRAPH_FILE
        try:
            model = onnx_backend.OnnxSentenceModel(path, threads=self.threads, graph_file=graph)
        except Exception as e:  # onnxruntime/tokenizer load errors, uniformly
            raise EmbeddingError(f"loading the ONNX export of {path} failed: {e}") from e
        self.active_backend = "onnx"
        return model

    def _load_torch(self) -> Any:
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            model = SentenceTransformer(
                self.model_path_or_id,
                device=self.device,
                local_files_only=not self.allow_download,
            )
        except ConfigError:
            raise
        except (OSError, ValueError) as e:
            raise ConfigError(
                f"cannot load embedding model {self.model_path_or_id!r}: {e}. Run `assist models "
                "prepare` or point ASSIST_EMBEDDER__MODEL at a sentence-transformers directory"
            ) from e
        except Exception as e:  # torch/transformers raise many types; report them uniformly
            raise EmbeddingError(f"loading embedding model {self.model_path_or_id!r} failed: {e}") from e
        self.active_backend = "torch"
        return model

    @property
    def dim(self) -> int:
        """Embedding size; read from the directory's config when possible, else loads."""
        if self._dim is None:
            self._dim = _dim_from_dir(Path(self.model_path_or_id))
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    @property
    def prompts(self) -> dict[str, str]:
        """The model's named prompts (``{"query": "query: ", ...}`` for e5)."""
        return dict(self._load().prompts or {})

    # Encoding ------------------------------------------------------------------------
    def _encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        model = self._load()
        try:
            with self._lock:
                fn = model.encode_query if query else model.encode_document
                extra = {"prompt_name": self.query_prompt_name} if query and self.query_prompt_name else {}
                arr = fn(
                    list(texts),
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                    **extra,
                )
        except Exception as e:
            raise EmbeddingError(f"embedding {len(texts)} texts with {self.model_id} failed: {e}") from e
        return np.asarray(arr, dtype=np.float32).reshape(len(texts), -1)

    def embed_documents_sync(self, texts: Sequence[str]) -> np.ndarray:
        """Documents -> ``(n, dim)`` float32 array, in the calling thread (bench, scripts)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, query=False)

    def embed_queries_sync(self, texts: Sequence[str]) -> np.ndarray:
        """Queries -> ``(n, dim)`` float32 array, in the calling thread."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, query=True)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return await embed_in_thread(
            self.embed_documents_sync, list(texts), chunk_size=self.batch_size * _HOP_BATCHES
        )

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        return await embed_in_thread(
            self.embed_queries_sync, list(texts), chunk_size=self.batch_size * _HOP_BATCHES
        )

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed_queries([text]))[0]

    def count_tokens(self, text: str) -> int:
        """Tokens the model's tokenizer produces for ``text`` (no special tokens, no prompt)."""
        tokenizer = self._load().tokenizer
        try:
            return len(tokenizer.encode(text, add_special_tokens=False))
        except Exception as e:
            raise EmbeddingError(f"tokenizing with {self.model_id} failed: {e}") from e


def _dim_from_dir(path: Path) -> int | None:
    """Output size from a sentence-transformers directory's module configs, without torch.

    The last Dense layer decides when present (EmbeddingGemma: 768); otherwise a mean /
    CLS pooling layer's input size. None when the layout is unusual (then we load).
    """
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return None
    try:
        modules = json.loads(modules_file.read_text())
        dim: int | None = None
        for module in modules:
            kind = module.get("type", "")
            cfg_path = path / module.get("path", "") / "config.json"
            if kind.endswith("Dense") and cfg_path.is_file():
                dim = int(json.loads(cfg_path.read_text())["out_features"])
            elif kind.endswith("Pooling") and cfg_path.is_file():
                cfg = json.loads(cfg_path.read_text())
                # ST >= 6 writes "pooling_mode": "mean"; older versions one flag per mode.
                mode = cfg.get("pooling_mode")
                if isinstance(mode, str):
                    modes = [mode]
                elif isinstance(mode, list):
                    modes = mode
                else:
                    modes = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v is True]
                if len(modes) != 1:
                    return None
                dim = int(cfg.get("word_embedding_dimension") or cfg.get("embedding_dimension"))
            elif not kind.endswith(("Transformer", "Normalize")):
                return None
        return dim
    except (OSError, ValueError, KeyError, TypeError):
        return None
