"""Per-tenant rule files, loaded once and validated at load time.

    <tenants_dir>/<tenant>/taxonomy.yaml            categories (routing)
    <tenants_dir>/<tenant>/routing_examples.jsonl   labelled few-shot examples
    <tenants_dir>/<tenant>/escalation.yaml          escalation matrix
    <tenants_dir>/<tenant>/rubric.yaml              quality rubric

A malformed file fails with file, line and reason (``assist.rules_loader``); a missing
one is a clear error naming the file to add.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from assist.embedders.base import Embedder
from assist.errors import ConfigError
from assist.escalation import EscalationPolicy, load_policy
from assist.quality import QualityChecker, Rubric, load_rubric
from assist.routing import Taxonomy, TaxonomyRouter, load_examples
from assist.sentiment import SentimentAnalyzer


@dataclass
class TenantRules:
    tenant: str
    directory: Path
    taxonomy: Taxonomy
    policy: EscalationPolicy
    rubric: Rubric
    examples: list[tuple[str, str]]
    _router: TaxonomyRouter | None = None

    async def router(self, embedder: Embedder, *, category_names: bool = True,
                     max_in_scope_rejection: float = 0.02) -> TaxonomyRouter:
        if self._router is None:
            self._router = await TaxonomyRouter(embedder, self.taxonomy, self.examples,
                                                category_names=category_names,
                                                max_in_scope_rejection=max_in_scope_rejection).fit()
        return self._router


@dataclass
class TenantRegistry:
    """Loads and caches each tenant's rules. ``reload(tenant)`` after editing files."""

    directory: Path
    sentiment: SentimentAnalyzer = field(default_factory=SentimentAnalyzer)
    _cache: dict[str, TenantRules] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _file(self, tenant: str, name: str) -> Path:
        path = self.directory / tenant / name
        if not path.exists():
            raise ConfigError(
                f"tenant {tenant!r} has no {name}: add {path} (see examples/tenants/nova/{name} for the format)"
            )
        return path

    def get(self, tenant: str) -> TenantRules:
        with self._lock:
            if tenant not in self._cache:
                self._cache[tenant] = self._load(tenant)
            return self._cache[tenant]

    def reload(self, tenant: str) -> TenantRules:
        with self._lock:
            self._cache.pop(tenant, None)
        return self.get(tenant)

    def _load(self, tenant: str) -> TenantRules:
        taxonomy_path = self._file(tenant, "taxonomy.yaml")
        policy = load_policy(self._file(tenant, "escalation.yaml"), taxonomy_path, sentiment=self.sentiment)
        return TenantRules(
            tenant=tenant,
            directory=self.directory / tenant,
            taxonomy=Taxonomy.load(taxonomy_path),
            policy=policy,
            rubric=load_rubric(self._file(tenant, "rubric.yaml")),
            examples=load_examples(self._file(tenant, "routing_examples.jsonl")),
        )

    def checker(self, tenant: str, masker) -> QualityChecker:
        return QualityChecker(self.get(tenant).rubric, masker, self.sentiment)
