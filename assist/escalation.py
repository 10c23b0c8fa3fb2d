"""Rule-based escalation: a tenant's escalation matrix applied to a conversation.

The matrix (``examples/tenants/<tenant>/escalation.yaml``) lists rules with a priority,
a condition tree, a target team, an urgency, a deadline in minutes and reason templates
in Chinese and English. :class:`EscalationPolicy` evaluates every rule; the
highest-priority rule that fires picks target, urgency and deadline, and every rule that
fires adds its reason and risk flag. Model judgement (``model_hints``) only fills gaps:
it can escalate a conversation no hard rule caught, and it can never cancel, retarget or
downgrade a hard trigger.

Condition types (exactly one per node; nest with ``any`` / ``all``):

``keywords``       ``{zh: [...], en: [...], regex: [...]}`` on customer turns; Chinese terms
                   match as substrings, English terms on word boundaries, regexes are
                   case-insensitive; all lists apply to every text (mixed-language chats).
``category``       ``[ids]``: the routed category (argument, else the model hint) is one of them.
``customer``       ``{field, equals | gte | lte}`` on ``conversation.customer``.
``sla_breach``     ``true``: the first customer message not yet answered by an agent has
                   waited longer than the channel's reply standard (``channels``).
``sentiment``      ``{label, trend}``: the latest customer turn's label and the trend.
``amount_above``   ``{CNY: 2000, USD: 300}``: a money amount in a customer turn above the
                   threshold of its currency (2000元, ¥2500, 1.5万元, 两千元, $400, $2k, 3000 yuan),
                   read by :func:`assist.text.extract_amounts` as QA reads them.

Example:
    >>> matrix = EscalationMatrix.load("examples/tenants/nova/escalation.yaml",
    ...                                taxonomy=Taxonomy.load("examples/tenants/nova/taxonomy.yaml"))
    >>> policy = EscalationPolicy(matrix, sentiment=SentimentAnalyzer())
    >>> policy.decide(Conversation(turns=[Turn(text="手机充电时冒烟了！")])).target
    'product_safety'
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assist.conversation import MAX_TURNS, conversation_now, first_unanswered_index, truncate_conversation
from assist.errors import ConfigError
from assist.rules_loader import line_of, parse_yaml_model
from assist.text import Amount, Currency, detect_language, extract_amounts
from assist.types import Conversation, EscalationDecision, Language

if TYPE_CHECKING:
    from assist.routing import Taxonomy
    from assist.sentiment import SentimentAnalyzer

Urgency = Literal["low", "normal", "high", "critical"]
_URGENCY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}


# ----------------------------------------------------------------------------- model


class _Strict(BaseModel):
    # Operators edit these files by hand: a misspelt key must fail, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeywordCondition(_Strict):
    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(
                    f"invalid regular expression {pattern!r}: {e}; escape special characters with a backslash"
                ) from e
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> KeywordCondition:
        if not (self.zh or self.en or self.regex):
            raise ValueError("keywords needs at least one term in zh, en or regex")
        return self


class CustomerCondition(_Strict):
    field: str
    equals: Any = None
    gte: float | None = None
    lte: float | None = None

    @model_validator(mode="after")
    def _one_test(self) -> CustomerCondition:
        if sum(x is not None for x in (self.equals, self.gte, self.lte)) != 1:
            raise ValueError("customer condition needs exactly one of equals, gte, lte")
        return self


class SentimentCondition(_Strict):
    label: Literal["negative", "neutral", "positive"] = "negative"
    trend: Literal["worsening", "stable", "improving"] | None = None


class Condition(_Strict):
    """One node of a rule's condition tree: exactly one field set."""

    keywords: KeywordCondition | None = None
    category: list[str] | None = None
    customer: CustomerCondition | None = None
    sla_breach: bool | None = None
    sentiment: SentimentCondition | None = None
    amount_above: dict[Currency, float] | None = None
    any: list[Condition] | None = None
    all: list[Condition] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        set_fields = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(set_fields) != 1:
            raise ValueError(
                f"a condition needs exactly one of {', '.join(type(self).model_fields)}; got {set_fields or 'none'}"
                " (combine several with any: [...] or all: [...])"
            )
        return self


class ReasonTemplate(_Strict):
    """Reason shown to the agent; ``{placeholders}`` come from what the rule matched:
    ``keyword``, ``amount``, ``channel``, ``waited_minutes``, ``limit_seconds``, ``contacts``."""

    zh: str
    en: str


class EscalationRule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    priority: int = Field(ge=1, description="1 is the highest priority")
    description: str = ""
    when: Condition
    target: str
    urgency: Urgency
    deadline_minutes: int = Field(ge=0)
    reason: ReasonTemplate
    risk_flag: str


class ChannelStandard(_Strict):
    first_reply_seconds: int = Field(gt=0)
    reply_seconds: int | None = Field(default=None, gt=0)
    """Later replies (chat: 3 minutes); default: the first-reply standard."""


class DefaultHandling(_Strict):
    target: str = "tier1"
    close_within_minutes: int = Field(default=1440, ge=0)


class EscalationMatrix(_Strict):
    """A tenant's escalation matrix (``escalation.yaml``).

    Example:
        >>> m = EscalationMatrix.load("examples/tenants/nova/escalation.yaml")
        >>> [r.id for r in m.rules][:2]
        ['safety', 'violence_self_harm']
    """

    tenant: str
    sop: dict[Language, str]
    """Article id of the escalation SOP per language, cited in every decision."""
    targets: list[str]
    channels: dict[str, ChannelStandard]
    default: DefaultHandling = Field(default_factory=DefaultHandling)
    hint_deadline_minutes: int = Field(default=120, ge=0)
    """Deadline when only a model hint (no hard rule) escalates."""
    rules: list[EscalationRule]

    @classmethod
    def load(cls, path: str | Path, *, taxonomy: Taxonomy | None = None) -> EscalationMatrix:
        """Load, validate and cross-check a matrix file.

        Raises:
            ConfigError: ``FILE:LINE: reason`` for YAML or schema errors, bad regexes,
                duplicate rule ids, targets not in ``targets``, and (with ``taxonomy``)
                categories not in the taxonomy.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found; check the path") from None
        return cls.parse(text, source=str(path), taxonomy=taxonomy)

    @classmethod
    def parse(
        cls, text: str, *, source: str = "<string>", taxonomy: Taxonomy | None = None
    ) -> EscalationMatrix:
        """Like :meth:`load`, from YAML text."""
        matrix = parse_yaml_model(text, cls, source=source)
        root = yaml.compose(text)
        problems: list[str] = []

        def at(loc: tuple[int | str, ...], msg: str) -> None:
            problems.append(f"{source}:{line_of(root, loc) or 1}: {msg}")

        known_targets = set(matrix.targets)
        if matrix.default.target not in known_targets:
            at(("default", "target"), f"unknown target {matrix.default.target!r}; declare it under targets")
        seen: dict[str, int] = {}
        categories = set(taxonomy.ids()) if taxonomy is not None else None
        for i, rule in enumerate(matrix.rules):
            if rule.id in seen:
                at(
                    ("rules", i, "id"),
                    f"duplicate rule id {rule.id!r} (first at rules[{seen[rule.id]}]); ids must be unique",
                )
            seen.setdefault(rule.id, i)
            if rule.target not in known_targets:
                at(
                    ("rules", i, "target"),
                    f"rule {rule.id!r}: unknown target {rule.target!r}; use one of {sorted(known_targets)} "
                    "or add it to targets",
                )
            if categories is not None:
                for loc, cats in _category_nodes(rule.when, ("rules", i, "when")):
                    for j, cat in enumerate(cats):
                        if cat not in categories:
                            at(
                                (*loc, j),
                                f"rule {rule.id!r}: unknown category {cat!r}; use one of {sorted(categories)} "
                                "(taxonomy.yaml)",
                            )
        if problems:
            raise ConfigError("\n".join(problems))
        return matrix


def _category_nodes(
    cond: Condition, loc: tuple[int | str, ...]
) -> Iterator[tuple[tuple[int | str, ...], list[str]]]:
    if cond.category is not None:
        yield (*loc, "category"), cond.category
    for key in ("any", "all"):
        for j, sub in enumerate(getattr(cond, key) or []):
            yield from _category_nodes(sub, (*loc, key, j))


# ----------------------------------------------------------------------------- policy


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(template: str, evidence: Mapping[str, Any]) -> str:
    return string.Formatter().vformat(template, (), _SafeDict(evidence))


class _Context:
    """What the conditions look at, computed once per decision."""

    def __init__(
        self,
        conv: Conversation,
        *,
        now: datetime | None,
        category: str | None,
        sentiment: tuple[str, str] | None,
        channels: Mapping[str, ChannelStandard],
        full_turns_pending_ts: datetime | None,
        answered_before: bool,
    ) -> None:
        self.conv = conv
        self.customer_texts = [t.text for t in conv.turns if t.role == "customer"]
        self.lower_texts = [t.lower() for t in self.customer_texts]
        self.now = now
        self.category = category
        self.sentiment = sentiment
        self.channels = channels
        self.pending_ts = full_turns_pending_ts
        self.answered_before = answered_before
        self._amounts: list[Amount] | None = None

    @property
    def amounts(self) -> list[Amount]:
        if self._amounts is None:
            self._amounts = [a for text in self.customer_texts for a in extract_amounts(text)]
        return self._amounts


_KW_CACHE: dict[
    tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], tuple[re.Pattern[str] | None, ...]
] = {}


def _keyword_patterns(kw: KeywordCondition) -> tuple[re.Pattern[str] | None, ...]:
    key = (tuple(kw.zh), tuple(kw.en), tuple(kw.regex))
    if key not in _KW_CACHE:
        zh = (
            re.compile("|".join(re.escape(t.lower()) for t in sorted(kw.zh, key=len, reverse=True)))
            if kw.zh
            else None
        )
        en = (
            re.compile(
                r"(?<![a-z0-9])(?:"
                + "|".join(re.escape(t.lower()) for t in sorted(kw.en, key=len, reverse=True))
                + r")(?![a-z0-9])"
            )
            if kw.en
            else None
        )
        rx = re.compile("|".join(f"(?:{p})" for p in kw.regex), re.I) if kw.regex else None
        _KW_CACHE[key] = (zh, en, rx)
    return _KW_CACHE[key]


def _evaluate(cond: Condition, ctx: _Context, evidence: dict[str, Any]) -> bool:
    """True when ``cond`` holds; fills ``evidence`` with what matched (for reasons)."""
    if cond.any is not None:
        return any(_evaluate(c, ctx, evidence) for c in cond.any)
    if cond.all is not None:
        trial: dict[str, Any] = {}
        if all(_evaluate(c, ctx, trial) for c in cond.all):
            evidence.update(trial)
            return True
        return False
    if cond.keywords is not None:
        zh, en, rx = _keyword_patterns(cond.keywords)
        for text in ctx.lower_texts:
            for pattern in (zh, en, rx):
                m = pattern.search(text) if pattern is not None else None
                if m:
                    evidence.setdefault("keyword", m.group(0))
                    return True
        return False
    if cond.category is not None:
        return ctx.category is not None and ctx.category in cond.category
    if cond.customer is not None:
        c = cond.customer
        value = ctx.conv.customer.get(c.field)
        if c.equals is not None:
            ok = value == c.equals
        else:
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            ok = number >= c.gte if c.gte is not None else number <= c.lte  # type: ignore[operator]
        if ok and c.field == "contacts_last_7d":
            evidence["contacts"] = value
        return ok
    if cond.sla_breach is not None:
        return _sla_breached(ctx, evidence) == cond.sla_breach
    if cond.sentiment is not None:
        if ctx.sentiment is None:
            return False
        label, trend = ctx.sentiment
        return label == cond.sentiment.label and (
            cond.sentiment.trend is None or trend == cond.sentiment.trend
        )
    if cond.amount_above is not None:
        for a in ctx.amounts:
            limit = cond.amount_above.get(a.currency)
            if limit is not None and a.value > limit:
                evidence.setdefault("amount", a.text)
                return True
        return False
    return False  # pragma: no cover - the model validator guarantees one field


def _sla_breached(ctx: _Context, evidence: dict[str, Any]) -> bool:
    channel = ctx.conv.channel
    if channel is None or channel not in ctx.channels or ctx.now is None or ctx.pending_ts is None:
        return False
    std = ctx.channels[channel]
    limit = std.reply_seconds if (ctx.answered_before and std.reply_seconds) else std.first_reply_seconds
    waited = (ctx.now - ctx.pending_ts).total_seconds()
    if waited > limit:
        evidence.update(channel=channel, waited_minutes=round(waited / 60, 1), limit_seconds=limit)
        return True
    return False


class EscalationPolicy:
    """Decides whether and where to escalate a conversation. Pure: no I/O, no wall clock.

    Args:
        matrix: The tenant's :class:`EscalationMatrix`.
        taxonomy: Optional; when given, a model-hint category outside it is ignored.
        sentiment: A ``SentimentAnalyzer`` (``conversation(conv)`` -> label, score, trend).
            Without one, sentiment rules use the model hints only.
        max_turns: Truncation window (:func:`assist.conversation.truncate_conversation`).

    Example:
        >>> policy = EscalationPolicy(matrix, sentiment=SentimentAnalyzer())
        >>> d = policy.decide(conv, category="refund_return", sop_revisions={"sop-escalation-matrix-zh": 3})
        >>> d.escalate, d.target, d.sop_citation
        (True, 'finance', 'sop-escalation-matrix-zh@3')
    """

    def __init__(
        self,
        matrix: EscalationMatrix,
        taxonomy: Taxonomy | None = None,
        sentiment: SentimentAnalyzer | None = None,
        *,
        max_turns: int = MAX_TURNS,
    ) -> None:
        self.matrix = matrix
        self.taxonomy = taxonomy
        self.sentiment = sentiment
        self.max_turns = max_turns
        self._rules = sorted(matrix.rules, key=lambda r: r.priority)

    def decide(
        self,
        conversation: Conversation,
        *,
        category: str | None = None,
        model_hints: Mapping[str, Any] | None = None,
        sop_revisions: Mapping[str, int] | None = None,
    ) -> EscalationDecision:
        """Apply the matrix to ``conversation``.

        Args:
            conversation: The conversation; ``now`` (else the latest turn time) is the clock.
            category: The routed category, when known.
            model_hints: Model judgement, all optional: ``category``, ``sentiment``,
                ``sentiment_trend``, ``escalate``, ``target``, ``urgency``, ``reason``.
                Used only where no hard rule decides.
            sop_revisions: ``article_id -> revision`` for the citation (default 1).

        Returns:
            The decision; reasons are in the conversation's language.
        """
        hints = dict(model_hints or {})
        conv = truncate_conversation(conversation, self.max_turns)
        now = conversation_now(conversation)
        language: Language = conversation.language or _language_of(conv)  # type: ignore[assignment]

        hint_category = hints.get("category")
        if (
            hint_category is not None
            and self.taxonomy is not None
            and hint_category not in self.taxonomy.ids()
        ):
            hint_category = None
        category = category or hint_category

        sentiment_label, sentiment_trend = "neutral", "stable"
        if self.sentiment is not None:
            s = self.sentiment.conversation(conv)
            sentiment_label, sentiment_trend = s.label, s.trend
        else:
            # Model hints fill sentiment only when no analyzer is configured, and only
            # with values the decision type accepts.
            if hints.get("sentiment") in ("negative", "neutral", "positive"):
                sentiment_label = hints["sentiment"]
            if hints.get("sentiment_trend") in ("worsening", "stable", "improving"):
                sentiment_trend = hints["sentiment_trend"]

        # The SLA clock reads the full turn list: it is a cheap role/timestamp scan, and
        # truncation keeps the clock turn anyway.
        pending = first_unanswered_index(conversation.turns)
        pending_ts = conversation.turns[pending].ts if pending is not None else None
        answered_before = pending is not None and any(t.role == "agent" for t in conversation.turns[:pending])
        ctx = _Context(
            conv,
            now=now,
            category=category,
            sentiment=(sentiment_label, sentiment_trend),
            channels=self.matrix.channels,
            full_turns_pending_ts=pending_ts,
            answered_before=answered_before,
        )

        fired: list[tuple[EscalationRule, dict[str, Any]]] = []
        for rule in self._rules:
            evidence: dict[str, Any] = {}
            if _evaluate(rule.when, ctx, evidence):
                fired.append((rule, evidence))

        sop_id = self.matrix.sop.get(language) or next(iter(self.matrix.sop.values()), None)
        citation = f"{sop_id}@{(sop_revisions or {}).get(sop_id, 1)}" if sop_id else None
        base: dict[str, Any] = {
            "category": category,
            "sentiment": sentiment_label,
            "sentiment_trend": sentiment_trend,
        }
        if fired:
            top = fired[0][0]
            flags: list[str] = []
            for rule, _ in fired:
                if rule.risk_flag not in flags:
                    flags.append(rule.risk_flag)
            return EscalationDecision(
                escalate=True,
                target=top.target,
                urgency=top.urgency,
                deadline=now + timedelta(minutes=top.deadline_minutes) if now is not None else None,
                risk_flags=flags,
                reasons=[_render(getattr(rule.reason, language), ev) for rule, ev in fired],
                sop_citation=citation,
                rule_ids=[rule.id for rule, _ in fired],
                **base,
            )

        # No hard trigger: a model hint may escalate, but only to a declared target.
        if hints.get("escalate") and hints.get("target") in self.matrix.targets:
            urgency: Urgency = hints.get("urgency", "normal")
            if urgency not in _URGENCY_RANK:
                urgency = "normal"
            reason = hints.get("reason") or (
                "模型判断需要升级处理" if language == "zh" else "The model judged that this needs escalation"
            )
            return EscalationDecision(
                escalate=True,
                target=hints["target"],
                urgency=urgency,
                deadline=now + timedelta(minutes=self.matrix.hint_deadline_minutes)
                if now is not None
                else None,
                risk_flags=["model_judgement"],
                reasons=[str(reason)],
                sop_citation=citation,
                rule_ids=["model_hint"],
                **base,
            )
        default = self.matrix.default
        return EscalationDecision(
            escalate=False,
            target=default.target,
            # A hint may lower the urgency of a routine ticket, never raise it without escalating.
            urgency="low" if hints.get("urgency") == "low" else "normal",
            deadline=now + timedelta(minutes=default.close_within_minutes) if now is not None else None,
            **base,
        )


def _language_of(conv: Conversation) -> str:
    text = " ".join(t.text for t in conv.turns if t.role == "customer") or " ".join(
        t.text for t in conv.turns
    )
    return detect_language(text)


def load_policy(
    escalation_path: str | Path,
    taxonomy_path: str | Path | None = None,
    *,
    sentiment: SentimentAnalyzer | None = None,
) -> EscalationPolicy:
    """Build a policy from a tenant's files (taxonomy optional, used for cross-checks).

    Example:
        >>> policy = load_policy("examples/tenants/nova/escalation.yaml", "examples/tenants/nova/taxonomy.yaml")
    """
    from assist.routing import Taxonomy

    taxonomy = Taxonomy.load(taxonomy_path) if taxonomy_path is not None else None
    return EscalationPolicy(EscalationMatrix.load(escalation_path, taxonomy=taxonomy), taxonomy, sentiment)


__all__: Sequence[str] = (
    "Condition",
    "EscalationMatrix",
    "EscalationPolicy",
    "EscalationRule",
    "extract_amounts",
    "load_policy",
)
