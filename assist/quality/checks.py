"""A per-tenant quality rubric for agent replies (drafted or human), Chinese and English.

The rubric is a YAML file (``examples/tenants/nova/rubric.yaml``) loaded into
:class:`Rubric`. :class:`QualityChecker` applies it to one reply and returns a
:class:`assist.types.QAReport` with itemised findings, each with a character span into
the reply where there is something to point at.

Checks (each optional in the file; a missing check is not run):

``greeting``
    A greeting pattern is present. ``when: first_reply`` (default) checks only the
    first agent reply of a conversation (no earlier agent/bot turn); with no
    conversation given it is skipped, because we cannot tell. ``when: always``.
``closing``
    A closing pattern is present. ``when: ending`` (default) checks only when the
    customer's last turn signals the end (``ending_cues``: 谢谢/没有了/that's all...), so
    mid-conversation replies are not asked to say goodbye; ``when: always``.
``empathy``
    When the customer is upset (the lowest :class:`SentimentAnalyzer` score over the last
    ``lookback_turns`` customer turns is at most ``negative_at``), the reply apologises
    or soothes.
``forbidden_words``
    Each forbidden phrase (zh + en, case-insensitive, English on word boundaries) is a
    finding at its span.
``pii_exposure``
    Full phone, ID, card, e-mail (and, best effort, address) found by :class:`PiiMasker`
    in the reply is a finding (critical by default); masked forms such as
    ``138****1234`` are not numbers and do not match, and data quoted verbatim from the
    cited knowledge (the repair centre's address) is the company's, not the customer's.
``promises``
    Money amounts and durations are extracted with regexes (``赔偿您500元``, ``3天内到账``,
    ``refund you $500``, ``within 2 days``). An amount in a compensation sentence above
    ``max_compensation``, or a refund above ``max_refund``, is an over-limit finding
    (needs approval, even when cited). Other compensation amounts must be in
    ``allowed_amounts`` or in the cited text. A promised duration (``内``/``within`` or a
    promise word in its sentence) must match ``allowed_durations`` or have its numbers
    in the cited text.
``grounding``
    Only when ``cited_texts`` is given. For each sentence with citation markers ``[n]``,
    the share of its content tokens (English words without stop words; Chinese
    character bigrams) found in the cited chunks must reach ``min_overlap``; a marker
    with no cited text is a finding. Every number in the reply must appear in some
    cited text or in the conversation (numbers the customer gave are known), unless
    another check already flagged it.

Scoring: each finding deducts its check's ``weight`` (``info`` findings deduct nothing),
at most ``max_deduction`` per check (default: the weight, so a check fails once);
``score = max(0, 100 - deductions)``; ``passed`` = no critical finding and
``score >= pass_score``.

Example:
    >>> rubric = load_rubric("examples/tenants/nova/rubric.yaml")  # doctest: +SKIP
    >>> qa = QualityChecker(rubric)                                 # doctest: +SKIP
    >>> qa.check("这是规定，我也没办法。").passed                     # doctest: +SKIP
    False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assist.privacy import PiiMasker
from assist.rules_loader import load_yaml_model
from assist.sentiment import SentimentAnalyzer
from assist.text import (
    Amount,
    Currency,
    Duration,
    DurationUnit,
    clause_spans,
    content_tokens,
    detect_language,
    extract_amounts,
    extract_durations,
    mentions_number,
    sentence_spans,
    span_containing,
)
from assist.types import Conversation, Finding, Language, QAReport

__all__ = [
    "Amount",
    "Duration",
    "QualityChecker",
    "Rubric",
    "extract_amounts",
    "extract_durations",
    "load_rubric",
]

Severity = Literal["info", "minor", "major", "critical"]


# ---------------------------------------------------------------------------- model
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _valid_regex(p: str) -> str:
    try:
        re.compile(p)
    except re.error as e:
        raise ValueError(f"bad regular expression {p!r}: {e}") from e
    return p


Regex = Annotated[str, AfterValidator(_valid_regex)]
"""A regular expression, validated per item so an error names its list index (and line)."""


class Phrases(_Strict):
    """Regular expressions per language (matched case-insensitively)."""

    zh: list[Regex] = Field(default_factory=list)
    en: list[Regex] = Field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.zh, *self.en]


class Words(_Strict):
    """Literal phrases per language (not regexes)."""

    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)


class _Check(_Strict):
    enabled: bool = True
    severity: Severity = "minor"
    weight: float = Field(default=10, ge=0, le=100)
    """Points deducted per finding."""
    max_deduction: float | None = Field(default=None, ge=0, le=100)
    """Cap for this check; default: ``weight`` (the check fails once)."""

    @property
    def cap(self) -> float:
        return self.weight if self.max_deduction is None else self.max_deduction


class GreetingCheck(_Check):
    when: Literal["first_reply", "always"] = "first_reply"
    patterns: Phrases = Phrases(
        zh=[r"您好", r"你好", r"很高兴为您服务", r"欢迎"],
        en=[
            r"\bhello\b",
            r"\bhi\b",
            r"\bgood (morning|afternoon|evening)\b",
            r"thank(s| you) for (contacting|reaching out)",
        ],
    )


class ClosingCheck(_Check):
    when: Literal["ending", "always"] = "ending"
    patterns: Phrases = Phrases(
        zh=[
            r"祝您.{0,8}(愉快|顺利|开心)",
            r"感谢您的(耐心|支持|理解|来电|咨询)",
            r"如有其他问题",
            r"随时联系",
            r"再见",
        ],
        en=[
            r"have a (great|good|nice|wonderful) (day|evening|weekend)",
            r"anything else I can help",
            r"thank you for (your patience|contacting)",
            r"\bgoodbye\b",
            r"take care",
        ],
    )
    ending_cues: Phrases = Phrases(
        zh=[
            r"谢谢",
            r"感谢",
            r"没有了",
            r"没其他",
            r"没别的",
            r"再见",
            r"就这样",
            r"可以了",
            r"解决了",
            r"明白了",
        ],
        en=[
            r"\bthanks?\b",
            r"thank you",
            r"that'?s all",
            r"that is all",
            r"\bbye\b",
            r"nothing else",
            r"all set",
        ],
    )


class EmpathyCheck(_Check):
    patterns: Phrases = Phrases(
        zh=[
            r"抱歉",
            r"对不起",
            r"不好意思",
            r"理解您的(心情|感受|着急)",
            r"请您放心",
            r"带来(的)?不便",
            r"让您久等",
        ],
        en=[r"\bsorry\b", r"\bapologi[sz]e", r"\bunderstand (your|how)", r"rest assured", r"inconvenience"],
    )
    negative_at: float = Field(default=-0.2, ge=-1, le=1)
    lookback_turns: int = Field(default=2, ge=1, le=20)


class ForbiddenWordsCheck(_Check):
    words: Words = Words()
    patterns: list[Regex] = Field(default_factory=list)
    """Extra regular expressions, for variants a word list cannot express."""


_PII_KINDS = {"PHONE", "ID", "CARD", "EMAIL", "ADDR", "ORDER"}


class PiiExposureCheck(_Check):
    severity: Severity = "critical"
    kinds: list[str] = Field(default_factory=lambda: ["PHONE", "ID", "CARD", "EMAIL"])
    severity_by_kind: dict[str, Severity] = Field(default_factory=dict)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if k not in _PII_KINDS]
        if bad:
            raise ValueError(f"unknown PII kind(s) {bad}; use {sorted(_PII_KINDS)}")
        return v


class MoneySpec(_Strict):
    value: float = Field(ge=0)
    currency: Currency = "CNY"


class DurationSpec(_Strict):
    """An allowed duration: ``{min: 3, max: 7, unit: business_day}`` or ``{max: 24, unit: hour}``."""

    min: float | None = Field(default=None, ge=0)
    max: float = Field(ge=0)
    unit: DurationUnit


class PromisesCheck(_Check):
    severity: Severity = "major"
    over_limit_severity: Severity = "critical"
    allowed_amounts: list[MoneySpec] = Field(default_factory=list)
    max_compensation: dict[Currency, float] = Field(default_factory=dict)
    max_refund: dict[Currency, float] = Field(default_factory=dict)
    allowed_durations: list[DurationSpec] = Field(default_factory=list)
    compensation_cues: Phrases = Phrases(
        zh=[r"赔偿", r"补偿", r"赔付", r"优惠券", r"代金券", r"红包", r"返现", r"礼品卡", r"积分"],
        en=[
            r"compensat",
            r"\bcoupons?\b",
            r"\bvouchers?\b",
            r"\bcredits?\b",
            r"gift card",
            r"cashback",
            r"goodwill",
        ],
    )
    refund_cues: Phrases = Phrases(
        zh=[r"退款", r"退还", r"退回", r"退您", r"退给您", r"返还"],
        en=[r"\brefund", r"\breimburse", r"money back"],
    )
    promise_cues: Phrases = Phrases(
        zh=[
            r"保证",
            r"承诺",
            r"一定",
            r"肯定",
            r"会",
            r"将",
            r"预计",
            r"到账",
            r"送达",
            r"安排",
            r"为您",
            r"给您",
        ],
        en=[r"\bwill\b", r"\bguarantee", r"\bpromise", r"\bexpect", r"\bshould\b", r"\bwe'll\b", r"\bI'll\b"],
    )


class GroundingCheck(_Check):
    min_overlap: float = Field(default=0.3, ge=0, le=1)
    check_numbers: bool = True


class Checks(_Strict):
    """The checks of a rubric, by name; an unknown name is an error, a missing one is not run."""

    greeting: GreetingCheck | None = None
    closing: ClosingCheck | None = None
    empathy: EmpathyCheck | None = None
    forbidden_words: ForbiddenWordsCheck | None = None
    pii_exposure: PiiExposureCheck | None = None
    promises: PromisesCheck | None = None
    grounding: GroundingCheck | None = None


class Rubric(_Strict):
    """A tenant's quality rubric.

    Example:
        >>> r = Rubric(tenant="nova", checks={"forbidden_words": {"words": {"zh": ["没办法"]}}})
        >>> r.pass_score
        80.0
    """

    tenant: str = "default"
    version: int = 1
    pass_score: float = Field(default=80.0, ge=0, le=100)
    default_language: Language = "zh"
    checks: Checks = Checks()


def load_rubric(path: str | Path) -> Rubric:
    """Load and validate a rubric file.

    Raises:
        ConfigError: ``FILE:LINE: reason`` for YAML errors, unknown checks or keys, bad
            severities, bad regular expressions or out-of-range values.
    """
    return load_yaml_model(path, Rubric)


# ---------------------------------------------------------------------------- helpers
_CONDITION_BEFORE = re.compile(r"(超过|超出|大于|多于|满|more than|over|longer than|after|beyond)\s*$", re.I)
_CITATION = re.compile(r"[\[【](\d{1,3})[\]】]")
_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
def _search_any(patterns: Iterable[str], text: str) -> re.Match[str] | None:
    for p in patterns:
        m = re.search(p, text, re.I)
        if m:
            return m
    return None


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else str(v)


# ---------------------------------------------------------------------------- checker
class QualityChecker:
    """Applies a :class:`Rubric` to agent replies.

    Args:
        rubric: The tenant rubric (:func:`load_rubric`).
        masker: Detects exposed personal data (default :class:`PiiMasker` with Nova patterns).
        sentiment: Scores the customer's turns for the empathy check.

    Example:
        >>> qa = QualityChecker(Rubric(checks={"forbidden_words": {"severity": "major", "words": {"en": ["calm down"]}}}))
        >>> report = qa.check("Please calm down.")
        >>> report.findings[0].check, report.findings[0].span
        ('forbidden_words', (7, 16))
    """

    def __init__(
        self,
        rubric: Rubric,
        masker: PiiMasker | None = None,
        sentiment: SentimentAnalyzer | None = None,
    ) -> None:
        self.rubric = rubric
        self.masker = masker or PiiMasker()
        self.sentiment = sentiment or SentimentAnalyzer()

    def check(
        self,
        reply: str,
        conversation: Conversation | None = None,
        cited_texts: dict[int, str] | None = None,
        language: Language | None = None,
    ) -> QAReport:
        """Check one reply.

        Args:
            reply: The agent's (or the draft's) reply text.
            conversation: The conversation so far, *without* this reply; needed for the
                greeting (first reply?), closing (ending?) and empathy (upset?) checks.
            cited_texts: Citation number -> text of the cited chunk, for grounding and
                to support numbers in promises. None: grounding is not checked.
            language: ``zh``/``en``; default from the conversation or the reply's script.

        Returns:
            A :class:`QAReport`: score in [0, 100], passed, findings sorted by position.
        """
        lang: Language = (
            language
            or (conversation.language if conversation and conversation.language else None)
            or detect_language(reply, default=self.rubric.default_language)
        )
        c = self.rubric.checks
        per_check: list[tuple[_Check, list[Finding]]] = []
        if c.greeting and c.greeting.enabled:
            per_check.append((c.greeting, self._greeting(c.greeting, reply, conversation)))
        if c.closing and c.closing.enabled:
            per_check.append((c.closing, self._closing(c.closing, reply, conversation)))
        if c.empathy and c.empathy.enabled:
            per_check.append((c.empathy, self._empathy(c.empathy, reply, conversation)))
        if c.forbidden_words and c.forbidden_words.enabled:
            per_check.append((c.forbidden_words, self._forbidden(c.forbidden_words, reply)))
        if c.pii_exposure and c.pii_exposure.enabled:
            per_check.append((c.pii_exposure, self._pii(c.pii_exposure, reply, cited_texts)))
        flagged: list[tuple[int, int]] = []
        if c.promises and c.promises.enabled:
            found = self._promises(c.promises, reply, cited_texts, lang)
            flagged = [f.span for f in found if f.span]
            per_check.append((c.promises, found))
        if c.grounding and c.grounding.enabled and cited_texts is not None:
            per_check.append(
                (c.grounding, self._grounding(c.grounding, reply, conversation, cited_texts, flagged))
            )

        deductions = 0.0
        findings: list[Finding] = []
        for chk, found in per_check:
            findings.extend(found)
            points = sum(chk.weight for f in found if f.severity != "info")
            deductions += min(points, chk.cap)
        score = round(max(0.0, 100.0 - deductions), 2)
        findings.sort(key=lambda f: (f.span[0] if f.span else -1, f.check))
        passed = score >= self.rubric.pass_score and not any(f.severity == "critical" for f in findings)
        return QAReport(score=score, passed=passed, findings=findings)

    # -- individual checks ---------------------------------------------------
    @staticmethod
    def _greeting(chk: GreetingCheck, reply: str, conv: Conversation | None) -> list[Finding]:
        if chk.when == "first_reply":
            if conv is None or any(t.role in ("agent", "bot") for t in conv.turns):
                return []
        if _search_any(chk.patterns.all(), reply):
            return []
        return [
            Finding(
                check="greeting",
                severity=chk.severity,
                message="no greeting in the first reply (phrasebook: 您好，我是新星电子客服…)",
            )
        ]

    @staticmethod
    def _closing(chk: ClosingCheck, reply: str, conv: Conversation | None) -> list[Finding]:
        if chk.when == "ending":
            last = ""
            if conv is not None:
                last = next((t.text for t in reversed(conv.turns) if t.role == "customer"), "")
            if not last or not _search_any(chk.ending_cues.all(), last):
                return []
        if _search_any(chk.patterns.all(), reply):
            return []
        return [
            Finding(
                check="closing",
                severity=chk.severity,
                message="the conversation is ending but the reply has no closing phrase",
            )
        ]

    def _empathy(self, chk: EmpathyCheck, reply: str, conv: Conversation | None) -> list[Finding]:
        if conv is None:
            return []
        customer = [t.text for t in conv.turns if t.role == "customer"][-chk.lookback_turns :]
        if not customer:
            return []
        worst = min(self.sentiment.analyze(t).score for t in customer)
        if worst > chk.negative_at or _search_any(chk.patterns.all(), reply):
            return []
        return [
            Finding(
                check="empathy",
                severity=chk.severity,
                message=f"the customer is upset (sentiment {worst:.2f}) but the reply neither apologises nor soothes",
            )
        ]

    @staticmethod
    def _forbidden(chk: ForbiddenWordsCheck, reply: str) -> list[Finding]:
        # Curly apostrophes are common in pasted text; same length, so spans stay valid.
        norm = reply.replace("\u2019", "'").replace("\u2018", "'")
        out: list[Finding] = []
        taken: list[tuple[int, int]] = []
        rxs: list[re.Pattern[str]] = [
            re.compile(re.escape(w)) for w in sorted(chk.words.zh, key=len, reverse=True)
        ]
        rxs += [
            re.compile(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", re.I)
            for w in sorted(chk.words.en, key=len, reverse=True)
        ]
        rxs += [re.compile(p, re.I) for p in chk.patterns]
        for rx in rxs:
            for m in rx.finditer(norm):
                if m.start() == m.end() or any(not (m.end() <= s or m.start() >= e) for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                out.append(
                    Finding(
                        check="forbidden_words",
                        severity=chk.severity,
                        message=f"forbidden phrase {reply[m.start() : m.end()]!r}",
                        span=(m.start(), m.end()),
                    )
                )
        return out

    def _pii(self, chk: PiiExposureCheck, reply: str, cited: dict[int, str] | None) -> list[Finding]:
        # Data quoted from the cited knowledge (the service centre's address or hotline)
        # belongs to the company, not the customer.
        sources = " ".join((cited or {}).values())
        out = []
        for e in self.masker.detect(reply):
            if e.kind not in chk.kinds or (sources and reply[e.start : e.end] in sources):
                continue
            out.append(
                Finding(
                    check="pii_exposure",
                    severity=chk.severity_by_kind.get(e.kind, chk.severity),
                    message=f"full {e.kind.lower()} shown; show at most the last 4 digits (138****1234)",
                    span=(e.start, e.end),
                )
            )
        return out

    def _promises(
        self, chk: PromisesCheck, reply: str, cited: dict[int, str] | None, lang: Language
    ) -> list[Finding]:
        sources = list((cited or {}).values())
        sentences = sentence_spans(reply)
        out: list[Finding] = []
        for a in extract_amounts(reply):
            s, e = span_containing(sentences, a.start)
            sentence = reply[s:e]
            currency = a.currency
            span = (a.start, a.end)
            shown = f"{_fmt(a.value)} {currency}"
            if _search_any(chk.compensation_cues.all(), sentence):
                limit = chk.max_compensation.get(currency)  # type: ignore[call-overload]
                if limit is not None and a.value > limit:
                    out.append(
                        Finding(
                            check="promises",
                            severity=chk.over_limit_severity,
                            span=span,
                            message=f"compensation of {shown} exceeds the agent allowance ({_fmt(limit)} {currency}); needs supervisor approval",
                        )
                    )
                elif (
                    chk.allowed_amounts
                    and not any(
                        abs(m.value - a.value) < 1e-9 and m.currency == currency for m in chk.allowed_amounts
                    )
                    and not mentions_number(a.value, sources)
                ):
                    out.append(
                        Finding(
                            check="promises",
                            severity=chk.severity,
                            span=span,
                            message=f"compensation of {shown} is not an allowed amount nor in the cited policy",
                        )
                    )
            elif _search_any(chk.refund_cues.all(), sentence):
                limit = chk.max_refund.get(currency)  # type: ignore[call-overload]
                if limit is not None and a.value > limit:
                    out.append(
                        Finding(
                            check="promises",
                            severity=chk.over_limit_severity,
                            span=span,
                            message=f"refund of {shown} is above {_fmt(limit)} {currency}; needs supervisor approval",
                        )
                    )
        clauses = clause_spans(reply)
        for d in extract_durations(reply):
            if _CONDITION_BEFORE.search(reply[max(0, d.start - 12) : d.start]):
                continue  # "延迟超过3天" / "more than 3 days late" states a condition, not a promise
            s, e = span_containing(clauses, d.start)
            if not (d.within or _search_any(chk.promise_cues.all(), reply[s:e])):
                continue
            if self._duration_allowed(chk, d) or (mentions_number(d.low, sources) and mentions_number(d.high, sources)):
                continue
            what = (
                f"{_fmt(d.low)}"
                + (f"-{_fmt(d.high)}" if d.high != d.low else "")
                + f" {d.unit.replace('_', ' ')}(s)"
            )
            out.append(
                Finding(
                    check="promises",
                    severity=chk.severity,
                    span=(d.start, d.end),
                    message=f"promised time {what} is not in the service standards nor in the cited text",
                )
            )
        return out

    @staticmethod
    def _duration_allowed(chk: PromisesCheck, d: Duration) -> bool:
        for spec in chk.allowed_durations:
            if spec.unit != d.unit:
                continue
            lo = spec.max if spec.min is None else spec.min
            if (d.low, d.high) == (lo, spec.max) or d.low == d.high == spec.max:
                return True
        return False

    def _grounding(
        self,
        chk: GroundingCheck,
        reply: str,
        conv: Conversation | None,
        cited: dict[int, str],
        flagged: list[tuple[int, int]],
    ) -> list[Finding]:
        out: list[Finding] = []
        for s, e in sentence_spans(reply):
            sentence = reply[s:e]
            markers = list(_CITATION.finditer(sentence))
            if not markers:
                continue
            texts = []
            for m in markers:
                n = int(m.group(1))
                if n in cited:
                    texts.append(cited[n])
                else:
                    out.append(
                        Finding(
                            check="grounding",
                            severity=chk.severity,
                            span=(s + m.start(), s + m.end()),
                            message=f"citation [{n}] does not match any provided source",
                        )
                    )
            if not texts:
                continue
            tokens = content_tokens(sentence)
            if len(tokens) < 2:
                continue
            support = content_tokens(" ".join(texts))
            overlap = len(tokens & support) / len(tokens)
            if overlap < chk.min_overlap:
                out.append(
                    Finding(
                        check="grounding",
                        severity=chk.severity,
                        span=(s, e),
                        message=f"sentence is not supported by its citation (token overlap {overlap:.2f} < {chk.min_overlap})",
                    )
                )
        if chk.check_numbers:
            known = list(cited.values()) + ([t.text for t in conv.turns] if conv else [])
            masked = self._ignorable_number_spans(reply)
            for m in _DIGITS.finditer(reply):
                a, b = m.start(), m.end()
                if any(not (b <= x or a >= y) for x, y in [*flagged, *masked]):
                    continue
                if mentions_number(float(m.group()), known):
                    continue
                out.append(
                    Finding(
                        check="grounding",
                        severity=chk.severity,
                        span=(a, b),
                        message=f"number {m.group()} is not in the cited text",
                    )
                )
        return out

    @staticmethod
    def _ignorable_number_spans(reply: str) -> list[tuple[int, int]]:
        """Citation markers, placeholders and masked numbers (138****1234) are not claims."""
        spans = [(m.start(), m.end()) for m in _CITATION.finditer(reply)]
        spans += [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(reply)]
        spans += [(m.start(), m.end()) for m in re.finditer(r"\d*[*＊•]{2,}\d*", reply)]
        return spans

