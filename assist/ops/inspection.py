"""Inspect every stored conversation: the tenant's rubric on each agent reply plus the
conversation-level checks of a supervisor.

Per agent reply (:class:`assist.quality.QualityChecker` with the tenant's rubric): greeting
on the first reply, closing when the customer ends, apology/soothing when the customer is
upset, forbidden words, promises. Exposed personal data: the stored text is masked, so a
placeholder (``[PHONE_1]``) in an agent's reply is exactly where the agent wrote the
customer's data; it is a ``pii_exposure`` finding at the placeholder's span, with the
rubric's severity and weight.

Per conversation: first response and each later reply against the channel's standard,
escalation compliance (the matrix said escalate: was it done, to whom, in time?), resolved
on first contact, closure within the standard, complaint, negative sentiment, and a
predicted satisfaction with its reasons.

Score: the mean of the reply scores, minus each failed conversation-level check's weight
(``ops.yaml`` ``inspection:``), clamped to 0..100. Findings carry the message ``seq`` and a
span into its stored (masked) text, as the widget shows them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from assist.conversation import first_unanswered_index
from assist.escalation import EscalationPolicy
from assist.ops.profile import OpsProfile
from assist.ops.satisfaction import Facts, count_repeats, predict
from assist.quality import QualityChecker
from assist.sentiment import SentimentAnalyzer
from assist.types import Conversation, Finding, Turn

__all__ = ["Inspector", "InspectionResult", "repeat_flags"]

_PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9]*)_\d+\]")
SERIOUS = ("major", "critical")


@dataclass
class InspectionResult:
    id: str
    score: float
    passed: bool
    findings: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def _fmt_s(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class Inspector:
    """Inspects conversations of one tenant.

    Args:
        checker: The tenant's :class:`QualityChecker` (rubric).
        profile: The tenant's :class:`OpsProfile` (channel standards, checks, complaint cues).
        policy: The tenant's escalation policy, for escalation compliance (None: not checked).
        sentiment: Scores customer turns.
    """

    checker: QualityChecker
    profile: OpsProfile
    policy: EscalationPolicy | None = None
    sentiment: SentimentAnalyzer = field(default_factory=SentimentAnalyzer)

    def __post_init__(self) -> None:
        cues = [c.lower() for c in self.profile.complaint.keywords.all()]
        self._complaint_rx = re.compile("|".join(re.escape(c) for c in cues)) if cues else None
        self._empathy = self.checker.rubric.checks.empathy

    def inspect(self, conv: dict[str, Any], messages: Sequence[dict[str, Any]]) -> InspectionResult:
        """Inspect one stored conversation (``conv``: an ``ops_conversations`` row as a dict)."""
        turns = [Turn(role=m["role"], text=m["text"], ts=m["ts"]) for m in messages]
        lang = conv.get("language")
        findings: list[dict[str, Any]] = []
        reply_scores: list[float] = []
        apologised_when_upset = False
        critical = False

        # -- each agent reply against the rubric -----------------------------------------
        for i, t in enumerate(turns):
            if t.role != "agent":
                continue
            prefix = Conversation(turns=turns[:i], channel=conv.get("channel"), language=lang)
            report = self.checker.check(t.text, conversation=prefix, language=lang)
            found = list(report.findings)
            score = report.score
            pii = self._pii(t.text)
            if pii:
                chk = self.checker.rubric.checks.pii_exposure
                found += pii
                score = max(0.0, score - min(chk.weight * len(pii), chk.cap))  # type: ignore[union-attr]
            reply_scores.append(score)
            for f in found:
                critical = critical or f.severity == "critical"
                findings.append(self._row(conv, i, f))
            if self._empathy and not any(f.check == "empathy" for f in found) and self._upset_before(turns, i):
                apologised_when_upset = True

        # -- response times against the channel standard --------------------------------
        std = self.profile.channel(conv.get("channel") or "")
        first_ok: bool | None = None
        replies_ok: bool | None = None
        rt = self.profile.inspection.response_time
        conv_deduction = 0.0
        if std is not None:
            first_ok, replies_ok, late = self._response_times(turns, std.first_reply_seconds,
                                                              std.reply_seconds or std.first_reply_seconds)
            if rt.enabled and late:
                findings.extend(self._row(conv, seq, Finding(check=name, severity=rt.severity, message=msg))
                                for seq, name, msg in late)
                if rt.severity != "info":
                    conv_deduction += rt.weight

        # -- escalation compliance ----------------------------------------------------------
        esc = self.profile.inspection.escalation
        if self.policy is not None and esc.enabled:
            problems = self._escalation(conv, turns)
            if problems:
                findings.extend(self._row(conv, seq, Finding(check=name, severity=esc.severity, message=msg))
                                for seq, name, msg in problems)
                if esc.severity != "info":
                    conv_deduction += esc.weight

        # -- conversation facts -----------------------------------------------------------
        customer = [t.text for t in turns if t.role == "customer"]
        scores = [self.sentiment.analyze(t).score for t in customer]
        negative = any(self.sentiment.analyze(t).label == "negative" for t in customer)
        complaint = self._complaint(conv, customer)
        resolved = None if conv.get("resolved") is None else bool(conv["resolved"])
        handle = conv.get("handle_s")
        closed = None if handle is None else int(handle <= self.profile.standards.close_within_hours * 3600)
        base = sum(reply_scores) / len(reply_scores) if reply_scores else 0.0
        if not reply_scores:
            findings.append(self._row(conv, None, Finding(
                check="no_reply", severity="critical", message="no agent replied in this conversation")))
            critical = True
        score = round(max(0.0, min(100.0, base - conv_deduction)), 2)
        passed = score >= self.checker.rubric.pass_score and not critical
        upset = self._empathy is not None and any(
            s <= self._empathy.negative_at for s in scores)
        sat = predict(Facts(
            last_sentiment=scores[-1] if scores else 0.0,
            trend=self.sentiment.trend(scores), resolved=resolved, reopened=bool(conv.get("reopened")),
            complaint=complaint, first_response_ok=first_ok, replies_ok=replies_ok, upset=upset,
            apologised=apologised_when_upset, repeats=count_repeats(customer),
            serious_findings=sum(1 for f in findings if f["severity"] in SERIOUS)))
        facts = {
            "sla_met": None if first_ok is None else int(first_ok),
            "timeout": None if first_ok is None else int(not (first_ok and replies_ok is not False)),
            "closed_24h": closed,
            "fcr": None if resolved is None else int(resolved and not conv.get("reopened")),
            "complaint": int(complaint), "negative": int(negative),
            "sentiment_min": round(min(scores), 4) if scores else None,
            "qa_score": score, "qa_passed": int(passed), "findings_count": len(findings),
            "predicted_satisfaction": sat.score, "satisfaction_reasons": sat.reasons,
        }
        return InspectionResult(conv["id"], score, passed, findings, facts)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _row(conv: dict[str, Any], seq: int | None, f: Finding) -> dict[str, Any]:
        return {"tenant": conv["tenant"], "conversation_id": conv["id"], "seq": seq, "check": f.check,
                "severity": f.severity, "message": f.message,
                "span_start": f.span[0] if f.span else None, "span_end": f.span[1] if f.span else None}

    def _pii(self, text: str) -> list[Finding]:
        chk = self.checker.rubric.checks.pii_exposure
        if chk is None or not chk.enabled:
            return []
        out = []
        for m in _PLACEHOLDER.finditer(text):
            kind = m.group(1)
            if kind not in chk.kinds:
                continue
            out.append(Finding(check="pii_exposure", severity=chk.severity_by_kind.get(kind, chk.severity),
                               message=f"the reply exposes personal data ({kind}); it was masked before storage",
                               span=(m.start(), m.end())))
        return out

    def _upset_before(self, turns: Sequence[Turn], i: int) -> bool:
        chk = self._empathy
        assert chk is not None
        customer = [t.text for t in turns[:i] if t.role == "customer"][-chk.lookback_turns:]
        return bool(customer) and min(self.sentiment.analyze(t).score for t in customer) <= chk.negative_at

    @staticmethod
    def _response_times(turns: Sequence[Turn], first_s: int, later_s: int,
                        ) -> tuple[bool | None, bool | None, list[tuple[int | None, str, str]]]:
        late: list[tuple[int | None, str, str]] = []
        first_ok: bool | None = None
        replies_ok: bool | None = None
        answered = False
        for i, t in enumerate(turns):
            if t.role != "agent" or t.ts is None:
                continue
            pending = first_unanswered_index(list(turns[:i]))
            if pending is None or turns[pending].ts is None:
                continue  # a follow-up or a proactive message: nothing was waiting
            waited = (t.ts - turns[pending].ts).total_seconds()  # type: ignore[operator]
            limit = later_s if answered else first_s
            ok = waited <= limit
            if not answered:
                first_ok = ok
                if not ok:
                    late.append((i, "first_response",
                                 f"first response after {_fmt_s(waited)}; the channel standard is {_fmt_s(limit)}"))
            else:
                replies_ok = (replies_ok is not False) and ok
                if not ok:
                    late.append((i, "reply_time",
                                 f"reply after {_fmt_s(waited)}; the channel standard is {_fmt_s(limit)}"))
            answered = True
        if not answered:
            first_ok = False
            late.append((None, "first_response", "the customer never got an agent reply"))
        return first_ok, replies_ok, late

    def _escalation(self, conv: dict[str, Any], turns: Sequence[Turn]) -> list[tuple[int | None, str, str]]:
        """Apply the matrix after each customer turn; judge the hand-over that was made (if any)
        against the decisions: missing, to the wrong desk, or after the deadline."""
        assert self.policy is not None
        decisions: list[tuple[int, Any]] = []
        seen: set[str] = set()
        for i, t in enumerate(turns):
            if t.role != "customer":
                continue
            prefix = Conversation(tenant=conv["tenant"], turns=list(turns[: i + 1]), channel=conv.get("channel"),
                                  language=conv.get("language"), now=t.ts)
            d = self.policy.decide(prefix)
            if d.escalate and d.target and d.target != self.policy.matrix.default.target and d.target not in seen:
                seen.add(d.target)
                decisions.append((i, d))
        if not decisions:
            return []
        done_to, done_at = conv.get("escalated_to"), conv.get("escalated_at")
        i, first = decisions[0]
        reason = first.reasons[0] if first.reasons else first.target
        if not done_to:
            return [(i, "escalation_missed",
                     f"the escalation matrix required a hand-over to {first.target} ({reason}); none was made")]
        match = next(((j, d) for j, d in decisions if d.target == done_to), None)
        if match is None:
            return [(i, "escalation_target", f"escalated to {done_to}; the matrix names {first.target} ({reason})")]
        j, d = match
        if d.deadline and done_at:
            deadline = d.deadline if d.deadline.tzinfo else d.deadline.replace(tzinfo=UTC)
            if done_at > deadline + timedelta(seconds=1):
                late_by = (done_at - deadline).total_seconds()
                return [(j, "escalation_late", f"escalated to {done_to} {_fmt_s(late_by)} after the deadline")]
        return []

    def _complaint(self, conv: dict[str, Any], customer: Sequence[str]) -> bool:
        meta = conv.get("meta") or {}
        if isinstance(meta.get("complaint"), bool):
            return meta["complaint"]
        if conv.get("outcome") and conv["outcome"] in self.profile.complaint.outcomes:
            return True
        if self._complaint_rx is None:
            return False
        return any(self._complaint_rx.search(t.lower()) for t in customer)


def repeat_flags(starts: dict[str, list[tuple[datetime, str]]], days: int) -> dict[str, int]:
    """``{conversation id: 1 if the same customer came back within ``days``}``."""
    out: dict[str, int] = {}
    window = timedelta(days=days)
    for items in starts.values():
        for k, (at, cid) in enumerate(items):
            nxt = items[k + 1][0] if k + 1 < len(items) else None
            out[cid] = int(nxt is not None and nxt - at <= window)
    return out
