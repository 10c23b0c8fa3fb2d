"""Suggestions, feedback and knowledge gaps: round trips, grouping and tenant isolation."""

from __future__ import annotations

import pytest

from assist.db import Database, FeedbackRepository, GapRepository, SuggestionRepository, normalize_question
from assist.errors import InputError, NotFoundError


@pytest.fixture
def suggestions(database: Database) -> SuggestionRepository:
    return SuggestionRepository(database)


@pytest.fixture
def feedback(database: Database) -> FeedbackRepository:
    return FeedbackRepository(database)


@pytest.fixture
def gaps(database: Database) -> GapRepository:
    return GapRepository(database)


def test_suggestion_round_trip_and_isolation(suggestions: SuggestionRepository) -> None:
    req = {"conversation": [{"role": "customer", "text": "我的手机号是[PHONE]，怎么退款？"}]}
    resp = {"text": "您好……", "citations": [{"chunk_id": "c1"}]}
    rec = suggestions.add("acme", "draft", req, resp)
    assert len(rec.id) == 36 and rec.status == "ok"
    got = suggestions.get("acme", rec.id)
    assert got is not None and got.request == req and got.response == resp
    assert suggestions.get("other", rec.id) is None
    assert suggestions.list("other") == []
    suggestions.add("acme", "escalation", {}, {"escalate": True})
    assert [s.kind for s in suggestions.list("acme", kind="escalation")] == ["escalation"]
    assert len(suggestions.list("acme")) == 2
    with pytest.raises(InputError):
        suggestions.add("acme", "poem", {}, {})  # type: ignore[arg-type]


def test_feedback_round_trip_and_counts(
    suggestions: SuggestionRepository, feedback: FeedbackRepository
) -> None:
    sid = suggestions.add("acme", "draft", {}, {"text": "t"}).id
    feedback.add("acme", "accepted", suggestion_id=sid, actor="agent-1")
    edited = feedback.add(
        "acme", "edited", suggestion_id=sid, final_text="t2", diff="-t\n+t2", actor="agent-2"
    )
    feedback.add("acme", "rejected", reason="wrong policy")
    assert edited.final_text == "t2" and edited.diff == "-t\n+t2" and edited.created_at.tzinfo is not None
    assert [f.outcome for f in feedback.list("acme", suggestion_id=sid)] == ["edited", "accepted"]
    assert [f.reason for f in feedback.list("acme", outcome="rejected")] == ["wrong policy"]
    assert feedback.outcome_counts("acme") == {"accepted": 1, "edited": 1, "rejected": 1}
    assert feedback.outcome_counts("other") == {"accepted": 0, "edited": 0, "rejected": 0}
    with pytest.raises(InputError):
        feedback.add("acme", "meh")  # type: ignore[arg-type]


def test_feedback_cannot_reference_another_tenants_suggestion(
    suggestions: SuggestionRepository, feedback: FeedbackRepository
) -> None:
    sid = suggestions.add("tenant-a", "draft", {}, {}).id
    with pytest.raises(NotFoundError):
        feedback.add("tenant-b", "accepted", suggestion_id=sid)
    assert feedback.list("tenant-a") == [] and feedback.list("tenant-b") == []


def test_gaps_grouped_most_frequent_first(gaps: GapRepository) -> None:
    for q in ["怎么退款？", "怎么 退款?", "怎么退款", "How do I cancel?", "how do i CANCEL", "发票怎么开"]:
        gaps.add("acme", q, language="en" if q[0].isascii() else "zh")
    gaps.add("other", "怎么退款？")
    gaps.add("other", "怎么退款？")
    gaps.add("other", "怎么退款？")
    gaps.add("other", "怎么退款？")

    groups = gaps.grouped("acme")
    assert [(g.normalized, g.count) for g in groups] == [
        ("怎么退款", 3),
        ("howdoicancel", 2),
        ("发票怎么开", 1),
    ]
    assert groups[0].example == "怎么退款"  # the most recent wording
    assert groups[0].first_seen <= groups[0].last_seen and groups[0].last_seen.tzinfo is not None
    assert gaps.grouped("acme", limit=1)[0].count == 3  # not the other tenant's 4
    assert len(gaps.list("acme")) == 6 and len(gaps.list("other")) == 4


def test_gap_explicit_normalized_key(gaps: GapRepository) -> None:
    gaps.add("acme", "refund please", normalized="refund")
    gaps.add("acme", "money back", normalized="refund")
    assert [(g.normalized, g.count) for g in gaps.grouped("acme")] == [("refund", 2)]
    with pytest.raises(InputError):
        gaps.add("acme", "   ")


@pytest.mark.unit
def test_normalize_question() -> None:
    assert normalize_question("ＡＢＣ，　退款！") == "abc退款"
    assert normalize_question(" How do I get a REFUND? ") == "howdoigetarefund"
