"""One text toolkit for Chinese and English: each helper is defined here once.

===========================  ===========================================================
:mod:`assist.text.cjk`       Han character ranges, ``is_cjk``, ``count_cjk``, ``cjk_runs``
:mod:`assist.text.lang`      ``detect_language`` (zh/en), ``check_supported``
:mod:`assist.text.sentences` sentence and clause spans
:mod:`assist.text.numbers`   digits, Chinese numerals (两千五, 1.5万), English number words
:mod:`assist.text.amounts`   money amounts (元 ¥ CNY RMB $ USD, 万/千/k) -> :class:`Amount`
:mod:`assist.text.durations` durations (3-7个工作日, within 2 business days) -> :class:`Duration`
:mod:`assist.text.dates`     calendar dates (2024年11月22日, Nov 22) -> :class:`DateMention`
:mod:`assist.text.overlap`   content tokens and token overlap (grounding)
===========================  ===========================================================

Pure functions on strings: no I/O, no tenant data, nothing imported from the rest of
``assist`` except :mod:`assist.errors`.
"""

from assist.text.amounts import Amount, Currency, extract_amounts
from assist.text.cjk import CJK_RANGES, CJK_RE, cjk_runs, count_cjk, has_cjk, is_cjk
from assist.text.dates import DateMention, extract_dates
from assist.text.durations import DURATION_UNITS, Duration, DurationUnit, extract_durations
from assist.text.lang import Lang, check_supported, detect_language
from assist.text.numbers import find_numbers, mentions_number, parse_number
from assist.text.overlap import content_tokens, support_overlap
from assist.text.sentences import clause_spans, sentence_spans, sentences, span_containing

__all__ = [
    "CJK_RANGES",
    "CJK_RE",
    "DURATION_UNITS",
    "Amount",
    "Currency",
    "DateMention",
    "Duration",
    "DurationUnit",
    "Lang",
    "check_supported",
    "cjk_runs",
    "clause_spans",
    "content_tokens",
    "count_cjk",
    "detect_language",
    "extract_amounts",
    "extract_dates",
    "extract_durations",
    "find_numbers",
    "has_cjk",
    "is_cjk",
    "mentions_number",
    "parse_number",
    "sentence_spans",
    "sentences",
    "span_containing",
    "support_overlap",
]
