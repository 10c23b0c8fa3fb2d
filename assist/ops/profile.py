"""A tenant's service standards and red lines for supervisors: ``<tenants_dir>/<t>/ops.yaml``.

Nothing tenant-specific lives in code: the response standard per channel comes from the
tenant's escalation matrix (``channels:``) unless ``ops.yaml`` overrides it; the complaint
cues, resolution outcomes, KPI targets and red-line thresholds come from ``ops.yaml``.

Example ``ops.yaml``::

    timezone: Asia/Shanghai
    retention_days: 365
    standards: {close_within_hours: 24, fcr_days: 7}
    targets: {first_response_sla: 0.9, fcr: 0.85}
    red_lines:
      - {metric: complaint_rate, above: 0.1, window: day, min_conversations: 10}
    complaint:
      outcomes: [complaint]
      keywords: {zh: [投诉], en: [complaint]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assist.rules_loader import load_yaml_model

__all__ = ["METRICS", "ChannelRule", "OpsProfile", "RedLine", "load_ops_profile"]

METRICS = (
    "first_response_sla", "aht_seconds", "fcr", "closed_24h", "complaint_rate", "timeout_rate",
    "negative_share", "qa_score", "satisfaction",
)
"""The KPIs a red line or a target can name (see :mod:`assist.ops.kpis`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelRule(_Strict):
    first_reply_seconds: int = Field(gt=0)
    reply_seconds: int | None = Field(default=None, gt=0)


class Standards(_Strict):
    close_within_hours: float = Field(default=24, gt=0)
    fcr_days: int = Field(default=7, ge=1)
    """A conversation is resolved on first contact when it is resolved, not reopened and the
    customer does not come back within this many days."""
    channels: dict[str, ChannelRule] = Field(default_factory=dict)
    """Overrides of the escalation matrix's channel standards."""


class RedLine(_Strict):
    metric: str
    above: float | None = None
    below: float | None = None
    window: Literal["day", "week", "month"] = "day"
    min_conversations: int = Field(default=10, ge=1)
    """Windows with fewer conversations are not judged (one complaint in two chats is noise)."""

    @field_validator("metric")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError(f"unknown metric {v!r}: use one of {', '.join(METRICS)}")
        return v

    @model_validator(mode="after")
    def _one_bound(self) -> RedLine:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above: or below:")
        return self

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    def crossed(self, value: float | None) -> bool:
        if value is None:
            return False
        return value > self.above if self.above is not None else value < self.below  # type: ignore[operator]


class Cues(_Strict):
    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.zh, *self.en]


class Complaint(_Strict):
    outcomes: list[str] = Field(default_factory=list)
    """An outcome in this list marks the conversation a complaint."""
    keywords: Cues = Field(default_factory=Cues)
    """A customer turn containing one of these (case-insensitive) marks it a complaint."""


class ConvCheck(_Strict):
    enabled: bool = True
    severity: Literal["info", "minor", "major", "critical"] = "major"
    weight: float = Field(default=10, ge=0)
    """Points the conversation's QA score loses (once per check)."""


class Inspection(_Strict):
    """The conversation-level checks added to the rubric's per-reply checks."""

    response_time: ConvCheck = Field(default_factory=lambda: ConvCheck(severity="major", weight=10))
    escalation: ConvCheck = Field(default_factory=lambda: ConvCheck(severity="major", weight=20))


class OpsProfile(_Strict):
    timezone: str = "UTC"
    """Days, weeks and months are counted in this zone."""
    retention_days: int | None = Field(default=None, ge=1)
    """Conversations older than this are purged by ``assist ops purge`` (None: the setting
    ``ASSIST_OPS__RETENTION_DAYS``)."""
    standards: Standards = Field(default_factory=Standards)
    targets: dict[str, float] = Field(default_factory=dict)
    red_lines: list[RedLine] = Field(default_factory=list)
    complaint: Complaint = Field(default_factory=Complaint)
    inspection: Inspection = Field(default_factory=Inspection)
    resolved_outcomes: list[str] = Field(default_factory=lambda: ["resolved"])
    satisfaction_scale: int = Field(default=5, ge=2, le=10)
    """Ratings are given on 1..N; they are stored normalised to 1..5."""
    channels: dict[str, ChannelRule] = Field(default_factory=dict, exclude=True)
    """Filled in by :func:`load_ops_profile`: the matrix's standards plus the overrides."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from e
        return v

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}: use {', '.join(METRICS)}")
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def channel(self, name: str) -> ChannelRule | None:
        return self.channels.get(name)


def load_ops_profile(tenant_dir: Path, matrix_channels: dict[str, object] | None = None) -> OpsProfile:
    """Load ``tenant_dir/ops.yaml`` (defaults when absent) and merge the channel standards.

    Args:
        tenant_dir: ``<tenants_dir>/<tenant>``.
        matrix_channels: The escalation matrix's ``channels`` (objects with
            ``first_reply_seconds`` and ``reply_seconds``).
    """
    path = tenant_dir / "ops.yaml"
    profile = load_yaml_model(path, OpsProfile) if path.exists() else OpsProfile()
    channels: dict[str, ChannelRule] = {}
    for name, std in (matrix_channels or {}).items():
        channels[name] = ChannelRule(first_reply_seconds=std.first_reply_seconds,  # type: ignore[attr-defined]
                                     reply_seconds=getattr(std, "reply_seconds", None))
    channels.update(profile.standards.channels)
    profile.channels = channels
    return profile
