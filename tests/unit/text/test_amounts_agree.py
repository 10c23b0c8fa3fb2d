"""Escalation's ``amount_above`` rule and QA's refund limit read the same amounts.

One shared table: for each text, escalation fires just below the amount and not at it,
QA flags the refund just below the limit and not at it, and both point at the same text.
"""

from __future__ import annotations

import pytest

import assist.escalation
import assist.quality
from assist.escalation import EscalationMatrix, EscalationPolicy
from assist.quality import QualityChecker, Rubric
from assist.text import extract_amounts
from assist.types import Conversation, Turn

pytestmark = [pytest.mark.unit, pytest.mark.fast]

# text (with a refund cue for QA), the amount both must read, its currency and text
SHARED = [
    ("退款1.5万元", 15000.0, "CNY", "1.5万元"),
    ("please refund $2k", 2000.0, "USD", "$2k"),
    ("退款两千元", 2000.0, "CNY", "两千元"),
    ("退款¥2,500", 2500.0, "CNY", "¥2,500"),
    ("退款2,500元", 2500.0, "CNY", "2,500元"),
    ("退款两千五百元", 2500.0, "CNY", "两千五百元"),
    ("退还5千块", 5000.0, "CNY", "5千块"),
    ("退款人民币3000元", 3000.0, "CNY", "人民币3000元"),
    ("refund 3000 yuan", 3000.0, "CNY", "3000 yuan"),
    ("refund RMB 3000", 3000.0, "CNY", "RMB 3000"),
    ("refund CNY 1,999.50", 1999.5, "CNY", "CNY 1,999.50"),
    ("refund USD 400", 400.0, "USD", "USD 400"),
    ("refund 350 dollars", 350.0, "USD", "350 dollars"),
    ("退款$1.2k", 1200.0, "USD", "$1.2k"),
    ("退款2w块", 20000.0, "CNY", "2w块"),
]
NO_AMOUNT = ["退款到尾号1234的卡，订单13812341234", "please refund order 123456", "退款三天内到账"]


def _policy(limit: float, currency: str) -> EscalationPolicy:
    matrix = EscalationMatrix.model_validate(
        {
            "tenant": "t",
            "sop": {"zh": "sop-zh", "en": "sop-en"},
            "targets": ["tier1", "finance"],
            "channels": {},
            "rules": [
                {
                    "id": "big_amount",
                    "priority": 1,
                    "when": {"amount_above": {currency: limit}},
                    "target": "finance",
                    "urgency": "normal",
                    "deadline_minutes": 60,
                    "reason": {"zh": "{amount}", "en": "{amount}"},
                    "risk_flag": "amount",
                }
            ],
        }
    )
    return EscalationPolicy(matrix)


def _qa(limit: float, currency: str) -> QualityChecker:
    return QualityChecker(Rubric.model_validate({"checks": {"promises": {"max_refund": {currency: limit}}}}))


def _escalation_reads(text: str, limit: float, currency: str) -> str | None:
    d = _policy(limit, currency).decide(Conversation(turns=[Turn(text=text)]))
    return d.reasons[0] if d.escalate else None


def _qa_reads(text: str, limit: float, currency: str) -> str | None:
    found = [f for f in _qa(limit, currency).check(text).findings if f.check == "promises"]
    over = [f.span for f in found if f.severity == "critical" and f.span]
    return text[over[0][0] : over[0][1]] if over and over[0] else None


def test_both_modules_use_the_one_extractor() -> None:
    assert assist.escalation.extract_amounts is extract_amounts
    assert assist.quality.extract_amounts is extract_amounts


@pytest.mark.parametrize(("text", "value", "currency", "raw"), SHARED)
def test_escalation_and_qa_agree(text: str, value: float, currency: str, raw: str) -> None:
    assert [(a.value, a.currency, a.text) for a in extract_amounts(text)] == [(value, currency, raw)]
    below = value - 0.5
    assert _escalation_reads(text, below, currency) == raw
    assert _qa_reads(text, below, currency) == raw
    # at the amount itself neither fires: both read exactly this value
    assert _escalation_reads(text, value, currency) is None
    assert _qa_reads(text, value, currency) is None
    # the other currency's limit does not apply
    other = "USD" if currency == "CNY" else "CNY"
    assert _escalation_reads(text, 0, other) is None
    assert _qa_reads(text, 0, other) is None


@pytest.mark.parametrize("text", NO_AMOUNT)
def test_no_amount_no_flag(text: str) -> None:
    assert extract_amounts(text) == []
    for currency in ("CNY", "USD"):
        assert _escalation_reads(text, 0, currency) is None
        assert _qa_reads(text, 0, currency) is None
