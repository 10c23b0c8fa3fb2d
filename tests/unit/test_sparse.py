"""The BM25 sparse encoder: tokenisation, stable ids, weights."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from assist.config import SparseSettings
from assist.sparse import SparseEncoder, token_id

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def jieba_enc() -> SparseEncoder:
    return SparseEncoder(SparseSettings(tokenizer="jieba"))


@pytest.fixture(scope="module")
def bigram_enc() -> SparseEncoder:
    return SparseEncoder(SparseSettings(tokenizer="char-bigram"))


def test_chinese_and_english_tokens(jieba_enc: SparseEncoder) -> None:
    toks = jieba_enc.tokenize("如何申请退款？The REFUND policy for order 12345")
    assert {"申请", "退款", "refund", "policy", "order", "12345"} <= set(toks)
    assert "the" not in toks and "for" not in toks  # English stop words
    assert "？" not in toks and "?" not in toks


def test_search_mode_adds_sub_words(jieba_enc: SparseEncoder) -> None:
    toks = jieba_enc.tokenize("订单号")
    assert "订单号" in toks and "订单" in toks


def test_char_bigrams(bigram_enc: SparseEncoder) -> None:
    assert bigram_enc.tokenize("申请退款的") == ["申请", "请退", "退款", "款的"]
    assert bigram_enc.tokenize("退") == ["退"]


def test_full_width_is_normalised(jieba_enc: SparseEncoder) -> None:
    assert jieba_enc.tokenize("ＲＥＦＵＮＤ　１２３") == ["refund", "123"]
    assert jieba_enc.encode_query("ＲＥＦＵＮＤ") == jieba_enc.encode_query("refund")


def test_empty_and_stop_word_only_text(jieba_enc: SparseEncoder) -> None:
    for text in ("", "   ", "的 了 the and", "？！。"):
        assert jieba_enc.encode_query(text).indices == []
        [doc] = jieba_enc.encode_documents([text])
        assert doc.indices == [] and doc.values == []


def test_query_weights_are_one_per_unique_token(jieba_enc: SparseEncoder) -> None:
    q = jieba_enc.encode_query("refund refund policy")
    assert len(q.indices) == 2 and q.values == [1.0, 1.0]
    assert q.indices == sorted(q.indices)


def test_document_weights_follow_bm25_saturation() -> None:
    s = SparseSettings(tokenizer="char-bigram", k1=1.2, b=0.75, avg_doc_len=4.0)
    enc = SparseEncoder(s)
    [doc] = enc.encode_documents(["refund refund refund policy"])  # dl = 4 = avg
    weights = dict(zip(doc.indices, doc.values, strict=True))
    assert weights[token_id("refund")] == pytest.approx(3 * 2.2 / (3 + 1.2))
    assert weights[token_id("policy")] == pytest.approx(1 * 2.2 / (1 + 1.2))
    # saturation: more occurrences weigh more, but never more than k1 + 1
    assert weights[token_id("refund")] < 2.2
    # longer documents weigh a term less (length normalisation)
    [long_doc] = enc.encode_documents(["policy " + " ".join(f"w{i}" for i in range(20))])
    long_w = dict(zip(long_doc.indices, long_doc.values, strict=True))[token_id("policy")]
    assert long_w < weights[token_id("policy")]


def test_query_tokens_hit_document_tokens(jieba_enc: SparseEncoder) -> None:
    [doc] = jieba_enc.encode_documents(["在订单页面点击申请退款，三个工作日内到账。"])
    q = jieba_enc.encode_query("怎么申请退款")
    assert {token_id("申请"), token_id("退款")} <= set(q.indices) & set(doc.indices)


def test_token_ids_are_unsigned_32_bit() -> None:
    for t in ("a", "退款", "x" * 100):
        assert 0 <= token_id(t) < 2**32


def test_ids_are_stable_across_processes(jieba_enc: SparseEncoder) -> None:
    text = "会员积分 refund 12345"
    code = (
        "from assist.sparse import SparseEncoder;"
        "from assist.config import SparseSettings;"
        f"print(SparseEncoder(SparseSettings()).encode_query({text!r}).indices)"
    )
    # Different hash seeds: Python's hash() would differ, ours must not.
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outs == {str(jieba_enc.encode_query(text).indices)}


def test_thread_safe_first_use() -> None:
    SparseEncoder._jieba_tokenizer = None  # force a concurrent first initialisation
    enc = SparseEncoder(SparseSettings(tokenizer="jieba"))
    texts = [f"请问如何申请退款 {i}" for i in range(16)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(enc.encode_query, texts))
    assert results == [enc.encode_query(t) for t in texts]
