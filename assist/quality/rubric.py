"""The quality rubric's schema, its loader, and the default rubric it falls back on.

A tenant's ``rubric.yaml`` is validated into :class:`Rubric` (``FILE:LINE: reason`` on
any mistake). The default rubric is a resource file
(``assist/resources/tenant_defaults/rubric.yaml``): the rubric of a tenant without one,
and the source of every value a tenant rubric's check leaves out, so a check written as
``greeting: {severity: major}`` keeps the default greeting patterns. The schema below
holds no tenant's wording.

Example:
    >>> rubric = load_rubric("examples/tenants/nova/rubric.yaml")   # doctest: +SKIP
    >>> default_rubric().checks.greeting.patterns.zh[:2]
    ['您好', '你好']
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assist.resources import resource_path
from assist.rules_loader import load_yaml_model
from assist.text import Currency, DurationUnit
from assist.types import Language

__all__ = [
    "Check",
    "Checks",
    "ClosingCheck",
    "DurationSpec",
    "EmpathyCheck",
    "ForbiddenWordsCheck",
    "GreetingCheck",
    "GroundingCheck",
    "MoneySpec",
    "Phrases",
    "PiiExposureCheck",
    "PromisesCheck",
    "Rubric",
    "Severity",
    "Words",
    "default_rubric",
    "load_rubric",
    "with_defaults",
]

Severity = Literal["info", "minor", "major", "critical"]


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


class Check(_Strict):
    """What every check has. The values a check leaves out come from the default rubric."""

    enabled: bool = True
    severity: Severity = "minor"
    weight: float = Field(default=10, ge=0, le=100)
    """Points deducted per finding."""
    max_deduction: float | None = Field(default=None, ge=0, le=100)
    """Cap for this check; default: ``weight`` (the check fails once)."""

    @property
    def cap(self) -> float:
        return self.weight if self.max_deduction is None else self.max_deduction


class GreetingCheck(Check):
    when: Literal["first_reply", "always"] = "first_reply"
    patterns: Phrases = Field(default_factory=Phrases)


class ClosingCheck(Check):
    when: Literal["ending", "always"] = "ending"
    patterns: Phrases = Field(default_factory=Phrases)
    ending_cues: Phrases = Field(default_factory=Phrases)


class EmpathyCheck(Check):
    patterns: Phrases = Field(default_factory=Phrases)
    negative_at: float = Field(default=-0.2, ge=-1, le=1)
    lookback_turns: int = Field(default=2, ge=1, le=20)


class ForbiddenWordsCheck(Check):
    words: Words = Field(default_factory=Words)
    patterns: list[Regex] = Field(default_factory=list)
    """Extra regular expressions, for variants a word list cannot express."""


class PiiExposureCheck(Check):
    kinds: list[str] = Field(default_factory=list)
    """Placeholder kinds of :class:`assist.privacy.PiiMasker`: PHONE, ID, CARD, EMAIL, ADDR,
    and the tenant's own (``pii_patterns`` in its profile)."""
    severity_by_kind: dict[str, Severity] = Field(default_factory=dict)

    @field_validator("kinds")
    @classmethod
    def _kind_names(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if not re.fullmatch(r"[A-Z]{2,20}", k)]
        if bad:
            raise ValueError(f"PII kind(s) {bad}: use upper-case kinds such as PHONE, ID, CARD, EMAIL, ADDR")
        return v


class MoneySpec(_Strict):
    value: float = Field(ge=0)
    currency: Currency = "CNY"


class DurationSpec(_Strict):
    """An allowed duration: ``{min: 3, max: 7, unit: business_day}`` or ``{max: 24, unit: hour}``."""

    min: float | None = Field(default=None, ge=0)
    max: float = Field(ge=0)
    unit: DurationUnit


class PromisesCheck(Check):
    over_limit_severity: Severity = "critical"
    allowed_amounts: list[MoneySpec] = Field(default_factory=list)
    max_compensation: dict[Currency, float] = Field(default_factory=dict)
    max_refund: dict[Currency, float] = Field(default_factory=dict)
    allowed_durations: list[DurationSpec] = Field(default_factory=list)
    compensation_cues: Phrases = Field(default_factory=Phrases)
    refund_cues: Phrases = Field(default_factory=Phrases)
    promise_cues: Phrases = Field(default_factory=Phrases)


class GroundingCheck(Check):
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
        >>> r = Rubric(tenant="t1", checks={"forbidden_words": {"words": {"zh": ["没办法"]}}})
        >>> r.pass_score
        80.0
    """

    tenant: str = "default"
    version: int = 1
    pass_score: float = Field(default=80.0, ge=0, le=100)
    default_language: Language = "zh"
    checks: Checks = Field(default_factory=Checks)


@cache
def default_rubric() -> Rubric:
    """The default rubric (a resource file), loaded and validated once."""
    return load_yaml_model(resource_path("tenant_defaults", "rubric.yaml"), Rubric)


def with_defaults(rubric: Rubric, base: Rubric | None = None) -> Rubric:
    """``rubric`` with each listed check's unset values taken from ``base`` (the default rubric).

    Checks ``rubric`` does not list stay off. Idempotent.
    """
    base = base or default_rubric()
    checks: dict[str, Check | None] = {}
    for name in Checks.model_fields:
        own: Check | None = getattr(rubric.checks, name)
        ref: Check | None = getattr(base.checks, name)
        if own is None or ref is None:
            checks[name] = own
            continue
        unset = {f: getattr(ref, f) for f in type(own).model_fields
                 if f not in own.model_fields_set and f in ref.model_fields_set}
        checks[name] = own.model_copy(update=unset) if unset else own
    return rubric.model_copy(update={"checks": rubric.checks.model_copy(update=checks)})


def load_rubric(path: str | Path) -> Rubric:
    """Load and validate a rubric file; unset values of its checks come from the default rubric.

    Raises:
        ConfigError: ``FILE:LINE: reason`` for YAML errors, unknown checks or keys, bad
            severities, bad regular expressions or out-of-range values.
    """
    return with_defaults(load_yaml_model(path, Rubric))
