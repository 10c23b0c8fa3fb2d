"""Sparse lexical vectors (BM25 term weights) for hybrid search.

Documents get BM25 term-frequency saturation weights; queries get 1.0 per unique token.
The IDF half of BM25 is applied by Qdrant itself (the ``sparse`` vector is created with
the IDF modifier), so the collection's statistics are always current and nothing has to
be re-encoded when the corpus grows.

Token ids are a stable 32-bit hash of the token (BLAKE2b), never Python's ``hash()``
(salted per process): an index written by one process must be searchable from another.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assist.config import SparseSettings
from assist.text.cjk import CJK_RANGES
from assist.types import SparseVector

if TYPE_CHECKING:
    import jieba

# Small on purpose: BM25 with IDF already discounts frequent words; the list only drops
# the function words that would otherwise dominate short queries.
EN_STOP_WORDS: frozenset[str] = frozenset(
    """a an and are as at be but by can could did do does for from had has have how i if in
    into is it its me my of on or our please so than that the their them then there these
    they this to us was we were what when where which who why will with would you your""".split()
)
ZH_STOP_WORDS: frozenset[str] = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 着 吗 呢 吧 啊 呀 哦 嗯 么 之 其 这 那 这个 那个 "
    "我 你 您 他 她 它 我们 你们 他们 请 请问 一下 一个 有 没 把 被 给 让 就是 还是 可以 能 会 要".split()
)

_CJK = CJK_RANGES
# A run of CJK ideographs, or a run of latin letters/digits (ASCII after NFKC).
_RUN = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def token_id(token: str) -> int:
    """Stable unsigned 32-bit id of a token, identical across processes and machines.

    Example:
        >>> token_id("退款") == token_id("退款")
        True
    """
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "big")


def normalise(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation become half-width) and lowercase."""
    return unicodedata.normalize("NFKC", text).lower()


class SparseEncoder:
    """Encodes texts into BM25-weighted sparse vectors (Chinese and English).

    Chinese runs are segmented with jieba's search mode (words plus their sub-words) or
    into character bigrams (``settings.tokenizer``); latin runs become lowercase words,
    digits are kept. Thread-safe; jieba's dictionary is loaded once, on first use.

    Example:
        >>> enc = SparseEncoder(SparseSettings(tokenizer="char-bigram"))
        >>> doc = enc.encode_documents(["如何申请退款 refund policy"])[0]
        >>> q = enc.encode_query("退款")
        >>> set(q.indices) <= set(doc.indices)
        True
    """

    _jieba_lock = threading.Lock()
    _jieba_tokenizer: jieba.Tokenizer | None = None

    def __init__(self, settings: SparseSettings | None = None) -> None:
        self.settings = settings or SparseSettings()

    # -- tokenisation ---------------------------------------------------------------

    @classmethod
    def _jieba(cls) -> jieba.Tokenizer:
        # A private Tokenizer, not jieba's global one: words another module adds to the
        # global dictionary would otherwise change token ids between index and query time.
        if cls._jieba_tokenizer is None:
            with cls._jieba_lock:
                if cls._jieba_tokenizer is None:
                    import logging

                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tok = jieba.Tokenizer()
                    tok.initialize()
                    cls._jieba_tokenizer = tok
        return cls._jieba_tokenizer

    def _cjk_tokens(self, run: str) -> list[str]:
        if self.settings.tokenizer == "char-bigram":
            if len(run) == 1:
                return [run]
            return [run[i : i + 2] for i in range(len(run) - 1)]
        return [t for t in self._jieba().lcut_for_search(run) if t.strip()]

    def tokenize(self, text: str) -> list[str]:
        """Normalised tokens of ``text`` without stop words, in order (duplicates kept).

        Example:
            >>> SparseEncoder(SparseSettings(tokenizer="char-bigram")).tokenize("ＲＥＦＵＮＤ the 退款")
            ['refund', '退款']
        """
        tokens: list[str] = []
        for match in _RUN.finditer(normalise(text)):
            run = match.group(0)
            if _IS_CJK.match(run):
                tokens.extend(t for t in self._cjk_tokens(run) if t not in ZH_STOP_WORDS)
            elif run not in EN_STOP_WORDS:
                tokens.append(run)
        return tokens

    # -- encoding -------------------------------------------------------------------

    @staticmethod
    def _term_counts(tokens: Sequence[str]) -> Counter[int]:
        # Hash collisions (rare at 32 bits) simply merge the two terms' counts.
        return Counter(token_id(t) for t in tokens)

    def encode_document(self, text: str) -> SparseVector:
        """BM25 term-frequency saturation weights of one document (IDF comes from Qdrant)."""
        tokens = self.tokenize(text)
        if not tokens:
            return SparseVector(indices=[], values=[])
        k1, b = self.settings.k1, self.settings.b
        norm = k1 * (1.0 - b + b * len(tokens) / self.settings.avg_doc_len)
        counts = self._term_counts(tokens)
        indices = sorted(counts)
        values = [counts[i] * (k1 + 1.0) / (counts[i] + norm) for i in indices]
        return SparseVector(indices=indices, values=values)

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]:
        """Encode documents (chunks) for indexing."""
        return [self.encode_document(t) for t in texts]

    def encode_query(self, text: str) -> SparseVector:
        """Encode a query: weight 1.0 per unique token, so the score is the sum of IDFs x doc weights."""
        indices = sorted(self._term_counts(self.tokenize(text)))
        return SparseVector(indices=indices, values=[1.0] * len(indices))
