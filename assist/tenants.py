"""Per-tenant files, loaded once, validated at load time, with neutral defaults for gaps.

    <tenants_dir>/<tenant>/profile.yaml             name, wording, phrasebook, PII patterns (assist.profile)
    <tenants_dir>/<tenant>/taxonomy.yaml            categories (routing)
    <tenants_dir>/<tenant>/routing_examples.jsonl   labelled few-shot examples
    <tenants_dir>/<tenant>/escalation.yaml          escalation matrix
    <tenants_dir>/<tenant>/rubric.yaml              quality rubric

A malformed file fails with file, line and reason (``assist.rules_loader``). A missing file
is not an error: the tenant gets the neutral default shipped with the core
(``assist/resources/tenant_defaults/``): neutral wording and generic PII patterns, one
"general" category, a matrix without hard rules, the default rubric. So a tenant created
through the API works before anyone writes its files, and never with another tenant's words.

:meth:`TenantRegistry.profile`, :meth:`~TenantRegistry.masker` and
:meth:`~TenantRegistry.checker` are the one place the core asks for a tenant's wording,
personal-data patterns and quality rules.

Example:
    >>> registry = TenantRegistry(Path("examples/tenants"))
    >>> registry.profile("bank").company("en")
    'Lanting Bank Card Services'
    >>> registry.get("a-new-tenant").defaults
    ('profile.yaml', 'taxonomy.yaml', 'escalation.yaml', 'rubric.yaml', 'routing_examples.jsonl')
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assist.embedders.base import Embedder
from assist.errors import ConfigError, InputError
from assist.escalation import EscalationPolicy, load_policy
from assist.privacy import PiiMasker
from assist.profile import TenantProfile, load_profile, neutral_profile
from assist.quality import QualityChecker, Rubric, default_rubric, load_rubric
from assist.resources import resource_path
from assist.routing import RoutingResult, Taxonomy, TaxonomyRouter, load_examples
from assist.rules_loader import line_of
from assist.sentiment import SentimentAnalyzer

__all__ = ["TENANT_FILES", "TenantRegistry", "TenantRules"]

TENANT_FILES = ("profile.yaml", "taxonomy.yaml", "escalation.yaml", "rubric.yaml", "routing_examples.jsonl")
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class _FixedRouter:
    """Routes everything to one category: a taxonomy with a single in-scope category (the
    neutral default) has nothing to learn, and a classifier cannot be fitted on one class."""

    def __init__(self, label: str) -> None:
        self.label = label

    async def predict(self, texts: Sequence[str]) -> list[RoutingResult]:
        return [RoutingResult(label=self.label, confidence=1.0, scores=[(self.label, 1.0)], out_of_scope=False,
                              similarity=1.0) for _ in texts]


@dataclass
class TenantRules:
    """One tenant's loaded files (or their neutral defaults)."""

    tenant: str
    directory: Path
    profile: TenantProfile
    taxonomy: Taxonomy
    policy: EscalationPolicy
    rubric: Rubric
    examples: list[tuple[str, str]]
    masker: PiiMasker
    sentiment: SentimentAnalyzer
    defaults: tuple[str, ...] = ()
    """The files this tenant lacks, for which the neutral defaults are used."""
    _router: TaxonomyRouter | _FixedRouter | None = None

    async def router(self, embedder: Embedder, *, category_names: bool = True,
                     max_in_scope_rejection: float = 0.02) -> TaxonomyRouter | _FixedRouter:
        if self._router is None:
            fallback = self.taxonomy.fallback
            in_scope = [c.id for c in self.taxonomy.categories if c.id != fallback]
            if len(in_scope) <= 1 and not self.examples:
                self._router = _FixedRouter(in_scope[0] if in_scope else self.taxonomy.categories[0].id)
            else:
                self._router = await TaxonomyRouter(embedder, self.taxonomy, self.examples,
                                                    category_names=category_names,
                                                    max_in_scope_rejection=max_in_scope_rejection).fit()
        return self._router

    def checker(self) -> QualityChecker:
        return QualityChecker(self.rubric, self.masker, self.sentiment, profile=self.profile)


@dataclass
class TenantRegistry:
    """Loads and caches each tenant's files. ``reload(tenant)`` after editing them.

    Args:
        directory: ``ASSIST_TENANTS_DIR``: one folder per tenant.
        sentiment: The analyzer of tenants without extra sentiment terms (shared).
    """

    directory: Path
    sentiment: SentimentAnalyzer = field(default_factory=SentimentAnalyzer)
    _cache: dict[str, TenantRules] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, tenant: str) -> TenantRules:
        with self._lock:
            if tenant not in self._cache:
                self._cache[tenant] = self._load(tenant)
            return self._cache[tenant]

    def reload(self, tenant: str) -> TenantRules:
        with self._lock:
            self._cache.pop(tenant, None)
        return self.get(tenant)

    def profile(self, tenant: str) -> TenantProfile:
        """The tenant's profile, gaps filled with neutral values."""
        return self.get(tenant).profile

    def masker(self, tenant: str) -> PiiMasker:
        """The tenant's masker: the generic detectors plus the profile's patterns (one per tenant)."""
        return self.get(tenant).masker

    def log_masker(self) -> PiiMasker:
        """A masker for the service's logs: the generic detectors plus the identifier patterns
        of every tenant configured in the directory (a log record carries no tenant; logs are
        read by operators, never shown to another tenant). A tenant whose files fail to load
        is skipped here and reported when it is used."""
        merged: dict[str, list[str]] = {}
        root = Path(self.directory)
        names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        for name in names:
            if not _TENANT_RE.match(name):
                continue
            try:
                patterns = self.profile(name).pii_extra_patterns()
            except Exception:  # noqa: BLE001 - a broken tenant must not take logging down
                continue
            for kind, rx in patterns.items():
                merged.setdefault(kind, []).append(f"(?:{rx})")
        return PiiMasker({kind: "|".join(rxs) for kind, rxs in merged.items()})

    def checker(self, tenant: str, masker: PiiMasker | None = None) -> QualityChecker:
        """The tenant's quality checker (its rubric, masker, sentiment terms and phrasebook)."""
        rules = self.get(tenant)
        if masker is None:
            return rules.checker()
        return QualityChecker(rules.rubric, masker, rules.sentiment, profile=rules.profile)

    # ------------------------------------------------------------------ loading
    def _path(self, tenant: str, name: str, missing: list[str]) -> Path | None:
        path = Path(self.directory) / tenant / name
        if path.is_file():
            return path
        missing.append(name)
        return None

    def _load(self, tenant: str) -> TenantRules:
        if not isinstance(tenant, str) or not _TENANT_RE.match(tenant):
            raise InputError(f"invalid tenant id {tenant!r}")
        missing: list[str] = []
        profile_path = self._path(tenant, "profile.yaml", missing)
        taxonomy_path = self._path(tenant, "taxonomy.yaml", missing)
        escalation_path = self._path(tenant, "escalation.yaml", missing)
        rubric_path = self._path(tenant, "rubric.yaml", missing)
        examples_path = self._path(tenant, "routing_examples.jsonl", missing)

        profile = load_profile(profile_path, tenant=tenant) if profile_path else neutral_profile()
        terms = profile.sentiment_terms()
        sentiment = SentimentAnalyzer(extra_terms=terms) if terms else self.sentiment
        taxonomy_file = taxonomy_path or resource_path("tenant_defaults", "taxonomy.yaml")
        policy = load_policy(escalation_path or resource_path("tenant_defaults", "escalation.yaml"),
                             taxonomy_file, sentiment=sentiment)
        rubric = load_rubric(rubric_path) if rubric_path else default_rubric()
        if rubric_path is not None:
            _check_pii_kinds(rubric, profile, rubric_path)
        return TenantRules(
            tenant=tenant,
            directory=Path(self.directory) / tenant,
            profile=profile,
            taxonomy=policy.taxonomy or Taxonomy.load(taxonomy_file),
            policy=policy,
            rubric=rubric,
            examples=load_examples(examples_path) if examples_path else [],
            masker=PiiMasker(extra_patterns=profile.pii_extra_patterns()),
            sentiment=sentiment,
            defaults=tuple(missing),
        )


def _check_pii_kinds(rubric: Rubric, profile: TenantProfile, path: Path) -> None:
    """A rubric that checks for a kind the tenant's masker never produces checks nothing."""
    chk = rubric.checks.pii_exposure
    if chk is None:
        return
    known = profile.pii_kinds()
    problems = []
    root = None
    for i, kind in enumerate(chk.kinds):
        if kind not in known:
            if root is None:
                root = yaml.compose(path.read_text(encoding="utf-8"))
            line = line_of(root, ("checks", "pii_exposure", "kinds", i)) or 1
            problems.append(
                f"{path}:{line}: checks.pii_exposure.kinds[{i}]: {kind!r} is not detected for this tenant; "
                f"use one of {sorted(known)} or add a pattern for it to profile.yaml (pii_patterns)"
            )
    if problems:
        raise ConfigError("\n".join(problems))
