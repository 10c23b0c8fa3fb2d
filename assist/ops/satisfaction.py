"""Satisfaction: a transparent prediction for unrated conversations, with its reasons.

:func:`predict` scores a conversation on the 1..5 rating scale from facts a supervisor can
check: how the customer's mood ended and moved, whether the issue was resolved, reopened or
a complaint, response times against the channel standard, an apology when the customer was
upset, and the customer repeating themselves. Each fact adds or removes a fixed amount;
the reasons are those amounts, largest first. No training data of the tenant is needed.

The same facts, computable from text alone, are the features of the learned model that
``assist eval satisfaction`` measures on the STC-3 customer-helpdesk dialogues
(:func:`text_features`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assist.sentiment import SentimentAnalyzer

__all__ = ["Facts", "Prediction", "TEXT_FEATURES", "predict", "text_features"]

# The weights of the transparent score, in rating points (1..5 scale).
WEIGHTS: dict[str, float] = {
    "mood_end": 0.9,          # x last customer sentiment (-1..1)
    "mood_trend": 0.3,        # x (+1 improving, -1 worsening)
    "resolved": 0.5,
    "unresolved": -0.7,
    "reopened": -0.5,
    "complaint": -0.8,
    "slow_first_response": -0.4,
    "slow_replies": -0.3,
    "no_apology_when_upset": -0.3,
    "apology_when_upset": 0.2,
    "repeats": -0.2,          # per repeated customer message, at most 3
    "qa_findings": -0.1,      # per major/critical finding, at most 4
}
BASE = 3.6


@dataclass
class Facts:
    """What the prediction reads; None = unknown (adds nothing)."""

    last_sentiment: float = 0.0
    trend: str = "stable"
    resolved: bool | None = None
    reopened: bool = False
    complaint: bool = False
    first_response_ok: bool | None = None
    replies_ok: bool | None = None
    upset: bool = False
    apologised: bool = False
    repeats: int = 0
    serious_findings: int = 0


@dataclass
class Prediction:
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)


def predict(f: Facts) -> Prediction:
    """The transparent 1..5 score and its reasons (``{"reason", "effect"}``, largest effect first)."""
    parts: dict[str, float] = {"mood_end": WEIGHTS["mood_end"] * f.last_sentiment}
    if f.trend in ("improving", "worsening"):
        parts["mood_trend"] = WEIGHTS["mood_trend"] * (1 if f.trend == "improving" else -1)
    if f.resolved is True:
        parts["resolved"] = WEIGHTS["resolved"]
    elif f.resolved is False:
        parts["unresolved"] = WEIGHTS["unresolved"]
    if f.reopened:
        parts["reopened"] = WEIGHTS["reopened"]
    if f.complaint:
        parts["complaint"] = WEIGHTS["complaint"]
    if f.first_response_ok is False:
        parts["slow_first_response"] = WEIGHTS["slow_first_response"]
    if f.replies_ok is False:
        parts["slow_replies"] = WEIGHTS["slow_replies"]
    if f.upset:
        key = "apology_when_upset" if f.apologised else "no_apology_when_upset"
        parts[key] = WEIGHTS[key]
    if f.repeats:
        parts["repeats"] = WEIGHTS["repeats"] * min(f.repeats, 3)
    if f.serious_findings:
        parts["qa_findings"] = WEIGHTS["qa_findings"] * min(f.serious_findings, 4)
    score = max(1.0, min(5.0, BASE + sum(parts.values())))
    reasons = [{"reason": k, "effect": round(v, 2)} for k, v in
               sorted(parts.items(), key=lambda kv: -abs(kv[1])) if abs(v) >= 0.05]
    return Prediction(round(score, 2), reasons)


def _norm(text: str) -> str:
    return re.sub(r"\W+", "", text.lower())


def count_repeats(customer_texts: Sequence[str]) -> int:
    """Customer messages that repeat an earlier one (same words, punctuation aside)."""
    seen: set[str] = set()
    n = 0
    for t in customer_texts:
        k = _norm(t)
        if len(k) >= 4 and k in seen:
            n += 1
        seen.add(k)
    return n


TEXT_FEATURES = (
    "first_sentiment", "last_sentiment", "min_sentiment", "mean_sentiment", "trend",
    "helpdesk_sentiment", "turns", "customer_turns", "last_is_customer", "customer_chars",
    "helpdesk_chars", "repeats", "question_marks_last", "exclaims",
)


def text_features(turns: Sequence[tuple[str, str]], sentiment: SentimentAnalyzer) -> list[float]:
    """Features of a conversation from its text alone: ``turns`` = ``(role, text)`` with role
    ``customer`` or anything else (the service side). Order: :data:`TEXT_FEATURES`."""
    cust = [t for r, t in turns if r == "customer"]
    serv = [t for r, t in turns if r != "customer"]
    cs = [sentiment.analyze(t).score for t in cust] or [0.0]
    hs = [sentiment.analyze(t).score for t in serv] or [0.0]
    trend = sentiment.trend(cs)
    last = cust[-1] if cust else ""
    return [
        cs[0], cs[-1], min(cs), sum(cs) / len(cs),
        1.0 if trend == "improving" else -1.0 if trend == "worsening" else 0.0,
        sum(hs) / len(hs), float(len(turns)), float(len(cust)),
        1.0 if turns and turns[-1][0] == "customer" else 0.0,
        float(sum(len(t) for t in cust)), float(sum(len(t) for t in serv)),
        float(count_repeats(cust)), float(last.count("?") + last.count("？")),
        float(sum(t.count("!") + t.count("！") for t in cust)),
    ]
