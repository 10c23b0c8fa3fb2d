"""Lexicon sentiment: labels in zh and en, negation, intensifiers, trend."""

from __future__ import annotations

import pytest

from assist.sentiment import SentimentAnalyzer
from assist.types import Conversation, Turn

pytestmark = [pytest.mark.unit, pytest.mark.fast]


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("你们太慢了，气死我了，我要投诉！", "negative"),
        ("垃圾产品，骗子公司，退钱！", "negative"),
        ("等了一个星期还没到，真的很失望", "negative"),
        ("无语，这都第三次了？？？", "negative"),
        ("给你们差评，态度恶劣", "negative"),
        ("不满意，不能接受", "negative"),
        ("谢谢，问题解决了，客服很耐心", "positive"),
        ("非常满意，点赞", "positive"),
        ("东西不错，物流也快", "positive"),
        ("我的订单什么时候发货？", "neutral"),
        ("不好意思，麻烦您帮我查一下物流", "neutral"),
        ("请问耳机怎么连接蓝牙", "neutral"),
        ("This is unacceptable, I want my money back!", "negative"),
        ("I'm furious, this is a scam", "negative"),
        ("Terrible service, so disappointed.", "negative"),
        ("Ridiculous. Still waiting for my refund.", "negative"),
        ("Thanks, that was really helpful!", "positive"),
        ("Great, it's working now. Thank you!", "positive"),
        ("Where is my order?", "neutral"),
        ("How do I reset my watch", "neutral"),
    ],
)
def test_labels(analyzer: SentimentAnalyzer, text: str, label: str) -> None:
    assert analyzer.analyze(text).label == label


def test_score_range_and_tuple_unpacking(analyzer: SentimentAnalyzer) -> None:
    label, score = analyzer.analyze("气死了！！！垃圾！！！骗子！！！投诉！！！")
    assert label == "negative" and -1.0 <= score < -0.9
    label, score = analyzer.analyze("")
    assert (label, score) == ("neutral", 0.0)


@pytest.mark.parametrize(
    ("plain", "negated"),
    [
        ("满意", "不满意了"),
        ("满意", "不太满意"),
        ("happy", "not happy"),
        ("helpful", "never helpful"),
        ("好用", "不好用"),
    ],
)
def test_negation_flips(analyzer: SentimentAnalyzer, plain: str, negated: str) -> None:
    assert analyzer.analyze(plain).score > 0
    assert analyzer.analyze(negated).score < 0


def test_negated_negative_is_mildly_positive(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.analyze("not bad").score > 0
    assert analyzer.analyze("不差").score > 0


def test_negation_does_not_cross_a_clause(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.analyze("不是这个，谢谢").label == "positive"


def test_intensifier_strengthens(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.analyze("非常失望").score < analyzer.analyze("失望").score
    assert analyzer.analyze("very disappointed").score < analyzer.analyze("disappointed").score


def test_extra_terms_override() -> None:
    a = SentimentAnalyzer(extra_terms={"翻车": -2.5, "lit": 2})
    assert a.analyze("又翻车了").label == "negative"
    assert a.analyze("that was lit").label == "positive"


@pytest.mark.parametrize(
    ("scores", "trend"),
    [
        ([], "stable"),
        ([-0.5], "stable"),
        ([0.2, -0.1, -0.6], "worsening"),
        ([-0.8, -0.5, 0.5], "improving"),
        ([-0.3, -0.35, -0.3, -0.32], "stable"),
        ([0.0, 0.0, -0.9, -0.9], "worsening"),
    ],
)
def test_trend(analyzer: SentimentAnalyzer, scores: list[float], trend: str) -> None:
    assert analyzer.trend(scores) == trend


def test_conversation_uses_customer_turns_only(analyzer: SentimentAnalyzer) -> None:
    conv = Conversation(
        turns=[
            Turn(role="customer", text="耳机怎么连接？"),
            Turn(role="agent", text="非常抱歉给您带来不便，太糟糕了"),
            Turn(role="customer", text="还是连不上，气死了，我要投诉！"),
        ]
    )
    result = analyzer.conversation(conv)
    assert len(result.turn_scores) == 2
    assert result.label == "negative" and result.trend == "worsening"
    assert analyzer.conversation(Conversation(turns=[])).trend == "stable"


def test_vader_lexicon_option_widens_english_coverage() -> None:
    pytest.importorskip("vaderSentiment", reason="optional: pip install vadersentiment")
    from assist.sentiment import vader_en_lexicon

    text = "The picture quality is dreadful and the remote feels flimsy."
    assert SentimentAnalyzer().analyze(text).label == "neutral"  # outside the compact service lexicon
    wide = SentimentAnalyzer(en_lexicon=vader_en_lexicon())
    assert wide.analyze(text).label == "negative"
    assert wide.analyze("我要投诉").label == "negative"  # Chinese lexicon untouched


def test_packaged_lexicons_load_and_validate() -> None:
    from assist.sentiment import ZH_LEXICON, load_lexicon

    zh = load_lexicon("zh")
    assert zh.terms == ZH_LEXICON and "不" in zh.negators and zh.intensifiers["太"] == 1.5
    assert load_lexicon("en").terms["furious"] == -3


def test_a_bad_lexicon_file_names_file_and_line(tmp_path) -> None:
    from assist.errors import ConfigError
    from assist.sentiment import load_lexicon

    bad = tmp_path / "zh.yaml"
    bad.write_text('language: zh\nterms:\n  "气死": -3\n  "好评": nine\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zh.yaml:4: terms.好评"):
        load_lexicon("zh", bad)
    bad.write_text('language: zh\nterms:\n  "气死": -3\n  "气死": -2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zh.yaml:4: invalid YAML: .*duplicate key"):
        load_lexicon("zh", bad)
