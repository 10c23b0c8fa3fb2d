"""Escalation matrix and policy: table-driven cases, load errors, hints, truncation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from assist.conversation import MAX_TURNS, truncate_conversation
from assist.errors import ConfigError
from assist.escalation import EscalationMatrix, EscalationPolicy, extract_amounts
from assist.routing import Taxonomy
from assist.sentiment import SentimentAnalyzer
from assist.types import Conversation, Turn

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
NOVA = REPO / "examples" / "tenants" / "nova"
CASES = yaml.safe_load((Path(__file__).parent / "escalation_cases.yaml").read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ROLES = {"c": "customer", "a": "agent", "b": "bot"}


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load(NOVA / "taxonomy.yaml")


@pytest.fixture(scope="module")
def policy(taxonomy: Taxonomy) -> EscalationPolicy:
    matrix = EscalationMatrix.load(NOVA / "escalation.yaml", taxonomy=taxonomy)
    return EscalationPolicy(matrix, taxonomy, SentimentAnalyzer())


def _conversation(case: dict[str, Any]) -> Conversation:
    now = case.get("now", NOW)
    turns = []
    for t in case["turns"]:
        (key,) = [k for k in t if k in ROLES]
        turns.append(Turn(role=ROLES[key], text=t[key], ts=now - timedelta(seconds=t.get("ago", 0))))
    return Conversation(
        tenant="nova", turns=turns, channel=case.get("channel"), customer=case.get("customer", {}), now=now
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(policy: EscalationPolicy, case: dict[str, Any]) -> None:
    conv = _conversation(case)
    d = policy.decide(conv, category=case.get("category"))
    exp = case["expect"]
    assert d.escalate is exp["escalate"], d.reasons
    assert d.target == exp["target"]
    if "urgency" in exp:
        assert d.urgency == exp["urgency"]
    assert d.deadline == conv.now + timedelta(minutes=exp["deadline_minutes"])
    if "rules" in exp:
        assert d.rule_ids == exp["rules"]
    if d.escalate:
        assert len(d.reasons) == len(d.rule_ids) and all("{" not in r for r in d.reasons)
        assert d.sop_citation in ("sop-escalation-matrix-zh@1", "sop-escalation-matrix-en@1")
    else:
        assert d.rule_ids == [] and d.sop_citation is None


def test_cases_cover_every_rule_in_both_languages(policy: EscalationPolicy) -> None:
    fired: dict[str, set[str]] = {}
    for case in CASES:
        d = policy.decide(_conversation(case), category=case.get("category"))
        lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for t in case["turns"] for ch in str(t)) else "en"
        for rid in d.rule_ids:
            fired.setdefault(rid, set()).add(lang)
    rules_needing_both = {r.id for r in policy.matrix.rules}
    assert {r for r in rules_needing_both if fired.get(r) != {"zh", "en"}} == set()
    assert len(CASES) >= 40


def test_reasons_follow_language_and_cite_revision(policy: EscalationPolicy) -> None:
    zh = Conversation(turns=[Turn(text="电池鼓包了", ts=NOW)])
    d = policy.decide(zh, sop_revisions={"sop-escalation-matrix-zh": 7})
    assert d.sop_citation == "sop-escalation-matrix-zh@7"
    assert "鼓包" in d.reasons[0] and "产品安全组" in d.reasons[0]
    en = Conversation(turns=[Turn(text="The battery is swollen", ts=NOW)])
    d = policy.decide(en, sop_revisions={"sop-escalation-matrix-zh": 7})
    assert d.sop_citation == "sop-escalation-matrix-en@1"
    assert d.reasons[0].startswith("Product safety risk")
    # An explicit language wins over detection.
    d = policy.decide(en.model_copy(update={"language": "zh"}))
    assert d.sop_citation == "sop-escalation-matrix-zh@1"


def test_model_hints_cannot_override_hard_trigger(policy: EscalationPolicy) -> None:
    conv = Conversation(
        turns=[Turn(text="The charger caught fire last night", ts=NOW)], channel="chat", now=NOW
    )
    hints = {"escalate": False, "target": "tier1", "urgency": "low", "category": "product_usage"}
    d = policy.decide(conv, model_hints=hints)
    assert (d.escalate, d.target, d.urgency) == (True, "product_safety", "critical")
    assert d.deadline == NOW + timedelta(minutes=15)
    assert d.category == "product_usage"  # a hint may fill the category


def test_model_hints_fill_when_no_hard_rule(policy: EscalationPolicy) -> None:
    conv = Conversation(
        turns=[Turn(text="I need help with something unusual", ts=NOW)], channel="chat", now=NOW
    )
    d = policy.decide(conv, model_hints={"escalate": True, "target": "tier2", "urgency": "high"})
    assert (d.escalate, d.target, d.urgency, d.rule_ids) == (True, "tier2", "high", ["model_hint"])
    assert d.deadline == NOW + timedelta(minutes=policy.matrix.hint_deadline_minutes)
    # An undeclared target from a model is ignored, not trusted.
    d = policy.decide(conv, model_hints={"escalate": True, "target": "ceo"})
    assert d.escalate is False and d.target == "tier1"
    # A hint category outside the taxonomy is dropped.
    assert policy.decide(conv, model_hints={"category": "nonsense"}).category is None


def test_hint_category_can_trigger_category_rule(policy: EscalationPolicy) -> None:
    conv = Conversation(
        turns=[Turn(text="About the order from last week", ts=NOW)], customer={"vip": True}, now=NOW
    )
    assert policy.decide(conv).escalate is False
    assert policy.decide(conv, model_hints={"category": "complaint"}).target == "vip_desk"


def test_no_clock_gives_no_deadline_and_no_sla(policy: EscalationPolicy) -> None:
    conv = Conversation(turns=[Turn(text="Where is my order?")], channel="phone")
    d = policy.decide(conv)
    assert d.escalate is False and d.deadline is None


def test_now_defaults_to_last_turn(policy: EscalationPolicy) -> None:
    conv = Conversation(
        channel="chat",
        turns=[Turn(text="hello?", ts=NOW), Turn(text="anyone??", ts=NOW + timedelta(seconds=120))],
    )
    d = policy.decide(conv)
    assert "sla_breach" in d.rule_ids and d.deadline == NOW + timedelta(seconds=120)


# ----------------------------------------------------------------------------- load errors

GOOD = (NOVA / "escalation.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_unknown_target_names_file_and_line(taxonomy: Taxonomy) -> None:
    bad = GOOD.replace("    target: tier2\n", "    target: tier3\n")
    with pytest.raises(ConfigError) as e:
        EscalationMatrix.parse(bad, source="esc.yaml", taxonomy=taxonomy)
    assert f"esc.yaml:{_line_of(bad, 'target: tier3')}:" in e.value.message
    assert "tier3" in e.value.message and "targets" in e.value.message


def test_unknown_category_names_file_and_line(taxonomy: Taxonomy) -> None:
    bad = GOOD.replace("category: [complaint]", "category: [complaints]")
    with pytest.raises(ConfigError) as e:
        EscalationMatrix.parse(bad, source="esc.yaml", taxonomy=taxonomy)
    assert f"esc.yaml:{_line_of(bad, 'category: [complaints]')}:" in e.value.message
    assert "complaints" in e.value.message and "taxonomy" in e.value.message


def test_bad_regex_names_file_and_line() -> None:
    bad = GOOD.replace('regex: ["工商(?!银行)"', 'regex: ["工商(?!银行"')
    with pytest.raises(ConfigError) as e:
        EscalationMatrix.parse(bad, source="esc.yaml")
    assert f"esc.yaml:{_line_of(bad, 'regex:')}:" in e.value.message
    assert "invalid regular expression" in e.value.message


def test_duplicate_rule_id_is_an_error() -> None:
    bad = GOOD.replace("  - id: technical_fault\n", "  - id: safety\n")
    with pytest.raises(ConfigError) as e:
        EscalationMatrix.parse(bad, source="esc.yaml")
    second = [i for i, line in enumerate(bad.splitlines(), start=1) if "- id: safety" in line][1]
    assert f"esc.yaml:{second}: duplicate rule id 'safety'" in e.value.message


def test_condition_with_two_types_is_an_error() -> None:
    bad = GOOD.replace("      sla_breach: true\n", "      sla_breach: true\n      category: [other]\n")
    with pytest.raises(ConfigError) as e:
        EscalationMatrix.parse(bad, source="esc.yaml")
    assert "exactly one of" in e.value.message


def test_sample_matrix_mirrors_spec() -> None:
    m = EscalationMatrix.load(NOVA / "escalation.yaml")
    got = [(r.priority, r.id, r.target, r.urgency, r.deadline_minutes) for r in m.rules]
    assert got == [
        (1, "safety", "product_safety", "critical", 15),
        (2, "violence_self_harm", "supervisor", "critical", 15),
        (3, "regulator_legal_media", "complaints_pr", "critical", 60),
        (4, "privacy_incident", "privacy_office", "high", 240),
        (5, "vip_complaint", "vip_desk", "high", 30),
        (6, "repeated_contact", "supervisor", "high", 120),
        (7, "supervisor_request", "supervisor", "high", 30),
        (8, "refund_above_limit", "finance", "normal", 1440),
        (9, "sla_breach", "supervisor", "high", 0),
        (10, "negative_worsening", "supervisor", "high", 120),
        (11, "technical_fault", "tier2", "normal", 240),
    ]
    assert {k: v.first_reply_seconds for k, v in m.channels.items()} == {
        "phone": 20,
        "chat": 60,
        "messaging": 600,
        "email": 14400,
    }


# ----------------------------------------------------------------------------- amounts, truncation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("退款2000元", [(2000.0, "CNY")]),
        ("¥2,500 和 ￥10", [(2500.0, "CNY"), (10.0, "CNY")]),
        ("1.5万元的电脑", [(15000.0, "CNY")]),
        ("$400 or 3000 yuan", [(400.0, "USD"), (3000.0, "CNY")]),
        ("refund 350 dollars", [(350.0, "USD")]),
        ("order 123456789, phone 13812341234", []),
    ],
)
def test_extract_amounts(text: str, expected: list[tuple[float, str]]) -> None:
    assert [(a.value, a.currency) for a in extract_amounts(text)] == expected


def _long_conversation(n: int) -> Conversation:
    turns = [Turn(role="customer", text="电池鼓包了怎么办", ts=NOW)]
    for i in range(1, n):
        role = "agent" if i % 2 else "customer"
        turns.append(Turn(role=role, text=f"turn {i}", ts=NOW + timedelta(seconds=i)))
    return Conversation(turns=turns, channel="chat")


def test_truncation_keeps_first_customer_turn_and_last_turns() -> None:
    conv = _long_conversation(3000)
    short = truncate_conversation(conv, max_turns=10)
    assert short.turns[0] == conv.turns[0]
    assert short.turns[1:] == conv.turns[-10:]
    assert truncate_conversation(_long_conversation(5), max_turns=10).turns == _long_conversation(5).turns


def test_truncation_keeps_sla_clock_turn() -> None:
    turns = [Turn(role="customer", text="hi", ts=NOW), Turn(role="agent", text="hello", ts=NOW)]
    turns += [Turn(role="customer", text=f"msg {i}", ts=NOW + timedelta(seconds=10 + i)) for i in range(200)]
    short = truncate_conversation(Conversation(turns=turns), max_turns=5)
    assert [t.text for t in short.turns] == ["hi", "msg 0", *[f"msg {i}" for i in range(195, 200)]]


def test_long_conversation_still_sees_first_turn_and_sla(policy: EscalationPolicy) -> None:
    conv = _long_conversation(5000)
    assert len(conv.turns) > MAX_TURNS
    d = policy.decide(conv)
    assert d.target == "product_safety"  # the safety keyword is only in the first turn


def test_hints_without_analyzer_fill_sentiment(taxonomy: Taxonomy) -> None:
    matrix = EscalationMatrix.load(NOVA / "escalation.yaml", taxonomy=taxonomy)
    bare = EscalationPolicy(matrix, taxonomy)  # no sentiment analyzer
    conv = Conversation(turns=[Turn(text="still waiting", ts=NOW)], channel="chat", now=NOW)
    d = bare.decide(conv, model_hints={"sentiment": "negative", "sentiment_trend": "worsening"})
    assert (d.target, d.rule_ids) == ("supervisor", ["negative_worsening"])
    # Values outside the decision's vocabulary are ignored, not crashed on.
    d = bare.decide(conv, model_hints={"sentiment": "furious", "urgency": "critical"})
    assert d.escalate is False and d.sentiment == "neutral" and d.urgency == "normal"
