"""ONNX Runtime backend for sentence-transformers models: same model, same prompts, same
vectors, a faster forward pass on CPU.

``export_onnx(model_dir)`` writes ``model_dir/onnx/``: the model's whole
sentence-transformers pipeline (Transformer -> Pooling -> Dense -> Normalize) as ONE ONNX
graph (torch's exporter), the tokenizer, and ``assist_onnx.json`` (prompts, maximum
length, graph inputs, a fingerprint of the source directory, and the cosine check
against the torch model that every export must pass). ``OnnxSentenceModel`` runs it
with onnxruntime behind the same ``encode_query`` / ``encode_document`` surface that
``SentenceTransformerEmbedder`` calls on a sentence-transformers model.

Why: a single query is ~16 tokens, where the per-call overhead of PyTorch eager
dominates; onnxruntime's fused kernels embed it 2-3x faster on CPU with vectors
identical to float precision (docs/benchmarks.md). sentence-transformers' own
``backend="onnx"`` needs optimum-onnx, which does not support transformers 5.

Only this module imports ``onnxruntime`` and (for export) ``torch.onnx``.

Example:
    >>> export_onnx(Path(".assist/models/e5-small"))            # doctest: +SKIP
    >>> m = OnnxSentenceModel(Path(".assist/models/e5-small"))  # doctest: +SKIP
    >>> m.encode_query(["信用卡还款日是哪天？"]).shape             # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assist.errors import ConfigError, EmbeddingError

ONNX_SUBDIR = "onnx"
META_FILE = "assist_onnx.json"
GRAPH_FILE = "model.onnx"
INT8_GRAPH_FILE = "model_int8.onnx"
FORMAT_VERSION = 1
# Every export is checked against the torch model on these texts before it is kept.
MIN_CHECK_COSINE = 0.9999
# The int8 variant changes the vectors a little (it is its own index); it must stay this
# close to the float export on the check texts (measured: e5-small 0.992 min, 0.997 mean).
MIN_INT8_COSINE = 0.98
_CHECK_TEXTS = (
    "信用卡还款日是哪天？",
    "退货运费谁出？耳机收到时已经损坏，我要投诉",
    "Can I bring my dog to the hotel?",
    "My earbuds won't charge after the update; what can I do?",
    "订单 A-10023 的发票抬头写错了，怎么改？ invoice title wrong",
)
# Module types the exported graph can hold; anything else (Router, custom modules) stays
# on the torch backend.
_EXPORTABLE = ("Transformer", "Pooling", "Dense", "Normalize")
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")

ExportStatus = Literal["ok", "missing", "stale"]
Quantize = Literal["none", "int8"]
Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Silence a logger below ERROR for the block ("" is the root logger)."""
    logger = logging.getLogger(name or None)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def onnx_dir(model_dir: Path) -> Path:
    return Path(model_dir) / ONNX_SUBDIR


def source_fingerprint(model_dir: Path) -> str:
    """A fingerprint of the sentence-transformers directory an export was made from.

    Small files (configs, tokenizer) by content; large weight files by size and mtime
    (hashing hundreds of MB on every load would cost more than the export saves). The
    ``onnx/`` folder and the provisioning manifest are not part of the source.
    """
    h = hashlib.sha256()
    root = Path(model_dir)
    # os.walk follows symlinked folders (rglob does not): hub caches and linked copies.
    files = [Path(d) / f for d, _, names in os.walk(root, followlinks=True) for f in names]
    for path in sorted(p for p in files if p.is_file()):
        rel = path.relative_to(root)
        if rel.parts[0] == ONNX_SUBDIR or rel.name == "manifest.json" or rel.parts[0].startswith("."):
            continue
        st = path.stat()
        h.update(str(rel).encode())
        if st.st_size <= 4 * 1024 * 1024:
            h.update(path.read_bytes())
        else:
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def read_meta(model_dir: Path) -> dict[str, Any] | None:
    path = onnx_dir(model_dir) / META_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _write_meta(folder: Path, meta: dict[str, Any]) -> None:
    """Write an export's ``assist_onnx.json`` whole (a scratch file renamed into place)."""
    path = Path(folder) / META_FILE
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    scratch.replace(path)


def _min_cosine(reference: Any, candidate: OnnxSentenceModel) -> float:
    """The lowest cosine between two models' vectors of the check texts (documents)."""
    texts = list(_CHECK_TEXTS)
    ref = reference.encode_document(texts, normalize_embeddings=True, convert_to_numpy=True)
    return float(np.min(np.sum(ref * candidate.encode_document(texts), axis=1)))


def export_status(model_dir: Path, quantize: Quantize = "none") -> ExportStatus:
    """``ok``: an export of exactly this directory exists (with its int8 variant when
    ``quantize="int8"``); ``stale``: one exists but the directory changed since (or the
    export format did); ``missing``: none."""
    meta = read_meta(model_dir)
    if meta is None or not (onnx_dir(model_dir) / GRAPH_FILE).is_file():
        return "missing"
    if meta.get("format") != FORMAT_VERSION or meta.get("fingerprint") != source_fingerprint(model_dir):
        return "stale"
    if quantize == "int8" and not (
        (onnx_dir(model_dir) / INT8_GRAPH_FILE).is_file() and "int8_check_min_cosine" in meta
    ):
        return "missing"
    return "ok"


def _select_prompt(prompts: dict[str, str], default_name: str | None, names: Sequence[str]) -> str:
    """The prompt sentence-transformers would use: the first of ``names`` the model has,
    else the model's default prompt, else none."""
    for name in names:
        if name in prompts:
            return prompts[name]
    return prompts.get(default_name, "") if default_name else ""


def ref_dim(st: Any) -> int:
    """The output size of a model that does not declare one: embed one text."""
    return int(st.encode_document(["x"], convert_to_numpy=True).shape[-1])


# --------------------------------------------------------------------------- export
def export_onnx(model_dir: Path, *, force: bool = False, progress: Progress = _noop) -> Path:
    """Export ``model_dir`` (a local sentence-transformers directory) to ``model_dir/onnx``.

    Idempotent: an up-to-date export is kept unless ``force``. The new export is written
    next to the old one and moved into place only after it passed the cosine check.

    Raises:
        ConfigError: The directory is not an exportable sentence-transformers model, or the
            exported graph does not reproduce the torch model's vectors.
    """
    model_dir = Path(model_dir)
    if not force and export_status(model_dir) == "ok":
        progress(f"{model_dir.name}: ONNX export up to date")
        return onnx_dir(model_dir)
    if not (model_dir / "modules.json").is_file():
        raise ConfigError(f"{model_dir} is not a sentence-transformers directory (no modules.json)")
    modules = json.loads((model_dir / "modules.json").read_text())
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if not kinds or kinds[0] != "Transformer" or any(k not in _EXPORTABLE for k in kinds):
        raise ConfigError(
            f"{model_dir}: modules {kinds} cannot be exported to ONNX (supported: {', '.join(_EXPORTABLE)}); "
            "use ASSIST_EMBEDDER__BACKEND=torch"
        )
    progress(f"{model_dir.name}: exporting to ONNX")
    try:
        import torch  # noqa: F401 - the exporter (below) needs it; fail here with a clear error
        from sentence_transformers import SentenceTransformer
    except ImportError as e:  # pragma: no cover - core dependencies
        raise ConfigError(f"ONNX export needs torch and sentence-transformers: {e}") from e

    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    st.eval()
    for module in st:
        if getattr(module, "include_prompt", True) is False:
            raise ConfigError(
                f"{model_dir}: pooling excludes the prompt (include_prompt=False), which the ONNX "
                "graph does not reproduce; use ASSIST_EMBEDDER__BACKEND=torch"
            )
    wants_type_ids = "token_type_ids" in getattr(st.tokenizer, "model_input_names", ())
    # Written beside the old export and swapped in whole after the check: an export that
    # fails (or is interrupted) leaves the previous one serving.
    from assist.embedders.staging import staged_build

    target = onnx_dir(model_dir)
    try:
        with staged_build(target, ".onnx-export-") as tmp:
            cosine = _export_checked(st, model_dir, tmp, wants_type_ids)
    except OSError as e:
        raise ConfigError(
            f"cannot write the ONNX export into {target.parent} ({e}): export a writable copy of the model, "
            "or use ASSIST_EMBEDDER__BACKEND=torch"
        ) from e
    progress(f"{model_dir.name}: ONNX export ready (min cosine to torch {cosine:.6f})")
    return target


def _export_checked(st: Any, model_dir: Path, tmp: Path, wants_type_ids: bool) -> float:
    """Export ``st`` into ``tmp`` and check it against the torch model; the min cosine."""
    import torch

    class _Pipeline(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            if wants_type_ids:  # single-segment inputs: all zeros, as the tokenizer gives
                features["token_type_ids"] = torch.zeros_like(input_ids)
            return self.model(features)["sentence_embedding"]

    tokenizer = st.tokenizer
    sample = tokenizer(
        ["query: hello", "passage: 你好，这是一个更长一点的例子"], padding=True, return_tensors="pt"
    )
    args = (sample["input_ids"], sample["attention_mask"])
    batch = torch.export.Dim("batch")
    seq = torch.export.Dim("sequence", max=max(2, int(st.max_seq_length or 512)))
    # The exporter's own chatter (skipped torchvision ops, axis-name and deprecation
    # warnings) says nothing about this export; the cosine check below does.
    with torch.no_grad(), warnings.catch_warnings(), _quiet_logger("torch.onnx"):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pipeline(st).eval(),
            args,
            str(tmp / GRAPH_FILE),
            dynamo=True,
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_shapes=({0: batch, 1: seq}, {0: batch, 1: seq}),
            opset_version=18,
            verbose=False,
        )
    tokenizer.save_pretrained(str(tmp))
    prompts = dict(st.prompts or {})
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "fingerprint": source_fingerprint(model_dir),
        "prompts": prompts,
        "default_prompt_name": st.default_prompt_name,
        "max_seq_length": int(st.max_seq_length or 512),
        "dim": int(st.get_embedding_dimension() or ref_dim(st)),
        "inputs": ["input_ids", "attention_mask"],
        "exported_with": {"torch": torch.__version__},
    }
    _write_meta(tmp, meta)
    # The check: the exported graph must give the torch model's vectors.
    cosine = _min_cosine(st, OnnxSentenceModel(model_dir, graph_dir=tmp))
    if cosine < MIN_CHECK_COSINE:
        raise ConfigError(
            f"{model_dir}: the ONNX export does not reproduce the model (min cosine {cosine:.6f} < "
            f"{MIN_CHECK_COSINE}); use ASSIST_EMBEDDER__BACKEND=torch"
        )
    meta["check_min_cosine"] = round(cosine, 8)
    _write_meta(tmp, meta)
    return cosine


def quantize_int8(model_dir: Path, *, force: bool = False, progress: Progress = _noop) -> Path:
    """Add the int8 variant (``onnx/model_int8.onnx``) to an up-to-date ONNX export.

    Dynamic quantisation with onnxruntime's own tool: MatMul and Gather (the token
    embedding table) weights become int8 per channel, activations are quantised at run
    time; single queries embed ~1.5x faster on CPUs with VNNI and documents ~2x, and the
    model directory grows by a third instead of doubling. The vectors differ slightly from
    the float model's, so an embedder with ``quantize="int8"`` has its own model id and
    index. Kept only when it stays within ``MIN_INT8_COSINE`` of the float export.

    Raises:
        ConfigError: No up-to-date float export, the directory is not writable, or the
            quantised graph strays too far from the float one.
    """
    model_dir = Path(model_dir)
    status = export_status(model_dir)
    if status != "ok":
        raise ConfigError(
            f"the ONNX export of {model_dir} is {status}: run `assist models export-onnx {model_dir}` first"
        )
    if not force and export_status(model_dir, "int8") == "ok":
        progress(f"{model_dir.name}: int8 variant up to date")
        return onnx_dir(model_dir) / INT8_GRAPH_FILE
    progress(f"{model_dir.name}: quantising to int8")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = onnx_dir(model_dir)
    target = folder / INT8_GRAPH_FILE
    scratch = folder / f".{INT8_GRAPH_FILE}.tmp"
    try:
        with _quiet_logger(""), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "consider pre-processing": not needed for MatMul/Gather
            quantize_dynamic(
                str(folder / GRAPH_FILE),
                str(scratch),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul", "Gather"],
            )
        cosine = _min_cosine(OnnxSentenceModel(model_dir), OnnxSentenceModel(model_dir, graph_file=scratch.name))
        if cosine < MIN_INT8_COSINE:
            raise ConfigError(
                f"{model_dir}: the int8 model strays from the float one (min cosine {cosine:.4f} < "
                f"{MIN_INT8_COSINE}); use quantize none"
            )
        scratch.chmod(0o644)
        scratch.replace(target)
    except OSError as e:
        raise ConfigError(f"cannot write the int8 model into {folder} ({e})") from e
    finally:
        scratch.unlink(missing_ok=True)
    _write_meta(folder, {**(read_meta(model_dir) or {}), "int8_check_min_cosine": round(cosine, 6)})
    progress(f"{model_dir.name}: int8 variant ready (min cosine to float {cosine:.4f})")
    return target


# --------------------------------------------------------------------------- runtime
class OnnxSentenceModel:
    """An exported sentence-transformers model run by onnxruntime.

    Mirrors the parts of ``SentenceTransformer`` the embedder uses: ``encode_query`` and
    ``encode_document`` (same prompt selection), ``prompts``, ``tokenizer``,
    ``max_seq_length`` and ``get_embedding_dimension``. Texts are sorted by length inside
    a call, as sentence-transformers does, so padding stays small.

    Args:
        model_dir: The sentence-transformers directory whose ``onnx/`` export to run.
        threads: onnxruntime intra-op threads (None: onnxruntime's default, one per core).
        graph_dir: Run this export folder instead of ``model_dir/onnx`` (export check).
        graph_file: The graph in that folder (``model_int8.onnx`` for the int8 variant).
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        threads: int | None = None,
        graph_dir: Path | None = None,
        graph_file: str = GRAPH_FILE,
    ) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        folder = Path(graph_dir) if graph_dir is not None else onnx_dir(model_dir)
        meta = json.loads((folder / META_FILE).read_text())
        self.prompts: dict[str, str] = dict(meta.get("prompts") or {})
        self.default_prompt_name: str | None = meta.get("default_prompt_name")
        self.max_seq_length: int = int(meta["max_seq_length"])
        self._dim = int(meta["dim"])
        self._inputs: list[str] = list(meta["inputs"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        # No busy-waiting between runs: on a few shared cores the spinning threads starve
        # the event loop, the sparse encoder and the model server (measured: a torch
        # model beside a spinning session slowed 30x).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(folder / graph_file), options, providers=["CPUExecutionProvider"]
        )

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode_query(
        self, texts: Sequence[str], *, batch_size: int = 32, prompt_name: str | None = None, **_: Any
    ) -> np.ndarray:
        names = (prompt_name,) if prompt_name else ("query",)
        return self._encode(texts, _select_prompt(self.prompts, self.default_prompt_name, names), batch_size)

    def encode_document(self, texts: Sequence[str], *, batch_size: int = 32, **_: Any) -> np.ndarray:
        prompt = _select_prompt(self.prompts, self.default_prompt_name, _DOCUMENT_PROMPTS)
        return self._encode(texts, prompt, batch_size)

    def _encode(self, texts: Sequence[str], prompt: str, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for start in range(0, len(texts), max(1, batch_size)):
            idx = order[start : start + batch_size]
            enc = self.tokenizer(
                [prompt + texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            feeds = {name: np.asarray(enc[name], dtype=np.int64) for name in self._inputs}
            try:
                (vectors,) = self._session.run(["sentence_embedding"], feeds)
            except Exception as e:  # onnxruntime raises its own exception types
                raise EmbeddingError(f"onnxruntime failed on {len(idx)} texts: {e}") from e
            out[idx] = vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
