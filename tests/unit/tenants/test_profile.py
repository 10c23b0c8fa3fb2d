"""Tenant profiles and the registry's neutral defaults, on files only (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.errors import ConfigError
from assist.profile import load_profile, neutral_profile
from assist.quality import QualityChecker, Rubric, default_rubric, load_rubric
from assist.resources import resource_path
from assist.tenants import TENANT_FILES, TenantRegistry
from assist.types import Conversation, Turn
from tests.conftest import REPO

pytestmark = [pytest.mark.unit, pytest.mark.fast]

TENANTS = REPO / "examples" / "tenants"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ profiles
@pytest.mark.parametrize("tenant", ["nova", "bank"])
def test_sample_profiles_load(tenant: str) -> None:
    profile = load_profile(TENANTS / tenant / "profile.yaml", tenant=tenant)
    assert profile.company("zh") and profile.company("en") and profile.pii_patterns
    for lang in ("zh", "en"):
        assert profile.phrases(lang, "greeting") and profile.not_covered_for(lang).clarifying


def test_gaps_are_filled_from_the_neutral_profile_per_language_and_section(tmp_path: Path) -> None:
    p = write(tmp_path / "t1" / "profile.yaml", """
display_name: {zh: 示例水务热线}
phrasebook:
  zh:
    greeting: ["您好，示例水务热线。"]
""")
    profile = load_profile(p, tenant="t1")
    neutral = neutral_profile()
    assert profile.company("zh") == "示例水务热线" and profile.company("en") == neutral.company("en")
    assert profile.phrases("zh", "greeting") == ["您好，示例水务热线。"]
    assert profile.phrases("zh", "closing") == neutral.phrases("zh", "closing")
    assert profile.phrases("en", "greeting") == neutral.phrases("en", "greeting")
    assert profile.not_covered_for("en") == neutral.not_covered_for("en")
    assert profile.pii_extra_patterns() == {}


@pytest.mark.parametrize(("body", "line", "reason"), [
    ("pii_patterns:\n  account: ['LT\\\\d{10}']\n", 1, "pii_patterns: PII kind(s) ['account']"),
    ("pii_patterns:\n  ACCOUNT: ['LT(\\\\d']\n", 2, "pii_patterns.ACCOUNT[0]: bad regular expression"),
    ("display_name:\n  zh: 示例\nphrasebok: {}\n", 3, "phrasebok: unknown key"),
    ("phrasebook:\n  zh:\n    greetings: [您好]\n", 3, "phrasebook.zh.greetings: unknown key"),
    ("sentiment:\n  terms: {盗刷: -9}\n", 2, "sentiment.terms.盗刷: Input should be greater than or equal to -4"),
    ("tenant: nova\n", 1, "tenant is 'nova' but the file is in the directory of tenant 't1'"),
])
def test_a_bad_profile_names_file_line_and_reason(tmp_path: Path, body: str, line: int, reason: str) -> None:
    p = write(tmp_path / "t1" / "profile.yaml", body)
    with pytest.raises(ConfigError) as ei:
        load_profile(p, tenant="t1")
    assert ei.value.message.startswith(f"{p}:{line}: {reason}"), ei.value.message


def test_neutral_resources_carry_no_tenants_words() -> None:
    for path in resource_path("tenant_defaults").glob("*.yaml"):
        text = path.read_text(encoding="utf-8").lower()
        for word in ("nova", "新星", "澜汀", "lanting", "订单号", "order number"):
            assert word not in text, (path.name, word)


# ------------------------------------------------------------------ the registry
def test_a_tenant_without_files_gets_neutral_defaults(tmp_path: Path) -> None:
    registry = TenantRegistry(tmp_path)
    rules = registry.get("created-by-api")
    assert rules.defaults == TENANT_FILES
    assert rules.profile == neutral_profile() and rules.rubric == default_rubric()
    assert rules.taxonomy.ids() == ["general"]
    upset = Conversation(tenant="created-by-api", turns=[Turn(text="你们太差了，我要投诉，气死了！")])
    decision = rules.policy.decide(upset)
    assert not decision.escalate and decision.target == "tier1" and decision.sop_citation is None
    report = registry.checker("created-by-api").check("好的。", conversation=upset)
    assert {f.check for f in report.findings} == {"greeting", "empathy"}
    assert all("nova" not in f.message.lower() and "新星" not in f.message for f in report.findings)
    assert registry.masker("created-by-api").mask("订单NV202411220001").text == "订单NV202411220001"


async def test_the_default_taxonomy_routes_without_a_model(tmp_path: Path) -> None:
    rules = TenantRegistry(tmp_path).get("t1")
    router = await rules.router(embedder=None)  # type: ignore[arg-type]  # one category: nothing to embed
    (result,) = await router.predict(["任何问题"])
    assert result.label == "general" and not result.out_of_scope


def test_each_missing_file_falls_back_alone(tmp_path: Path) -> None:
    write(tmp_path / "t1" / "profile.yaml", "display_name: {en: Example Water}\n")
    rules = TenantRegistry(tmp_path).get("t1")
    assert rules.defaults == ("taxonomy.yaml", "escalation.yaml", "rubric.yaml", "routing_examples.jsonl")
    assert rules.profile.company("en") == "Example Water"


def test_a_rubric_kind_the_tenants_masker_never_finds_is_an_error(tmp_path: Path) -> None:
    rubric = write(tmp_path / "t1" / "rubric.yaml", "checks:\n  pii_exposure:\n    kinds: [PHONE, ACCOUNT]\n")
    with pytest.raises(ConfigError, match=rf"{rubric}:3: checks.pii_exposure.kinds\[1\]: 'ACCOUNT' is not detected"):
        TenantRegistry(tmp_path).get("t1")
    write(tmp_path / "t1" / "profile.yaml", "pii_patterns:\n  ACCOUNT: ['AC\\d{8}']\n")
    rules = TenantRegistry(tmp_path).get("t1")
    report = rules.checker().check("您的账户AC12345678已更新。")
    assert [f.check for f in report.findings] == ["pii_exposure"]


def test_sample_tenants_load_with_all_their_files() -> None:
    registry = TenantRegistry(TENANTS)
    for tenant in ("nova", "bank"):
        rules = registry.get(tenant)
        assert rules.defaults == (), tenant
    assert registry.masker("bank").mask("客户号LT2024031588").text == "客户号[ACCOUNT_1]"
    assert registry.masker("nova").mask("客户号LT2024031588").text == "客户号LT2024031588"


# ------------------------------------------------------------------ the default rubric
def test_a_listed_check_takes_unset_values_from_the_default_rubric(tmp_path: Path) -> None:
    p = write(tmp_path / "rubric.yaml", "checks:\n  greeting:\n    severity: major\n")
    rubric = load_rubric(p)
    greeting = rubric.checks.greeting
    assert greeting is not None and greeting.severity == "major"
    assert greeting.patterns == default_rubric().checks.greeting.patterns  # type: ignore[union-attr]
    assert rubric.checks.closing is None  # not listed: not run
    # Built in code, the same: the checker fills the gaps.
    qa = QualityChecker(Rubric(checks={"greeting": {"when": "always"}}))
    assert qa.check("您好，请问有什么可以帮您？").findings == []


def test_the_sample_rubric_keeps_its_own_values() -> None:
    rubric = load_rubric(TENANTS / "nova" / "rubric.yaml")
    assert rubric.checks.promises.max_refund == {"CNY": 2000, "USD": 300}  # type: ignore[union-attr]
    assert "欢迎" not in rubric.checks.greeting.patterns.zh  # type: ignore[union-attr]  # its own list wins


def test_a_partial_not_covered_wording_keeps_the_neutral_apology(tmp_path: Path) -> None:
    p = write(tmp_path / "t1" / "profile.yaml", "not_covered:\n  zh:\n    clarifying: 请提供户号。\n")
    wording = load_profile(p).not_covered_for("zh")
    assert wording.clarifying == "请提供户号。" and wording.apology == neutral_profile().not_covered_for("zh").apology
