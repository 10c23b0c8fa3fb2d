"""A tenant's profile: its name, wording, phrasebook and patterns, in one validated file.

Everything the core says or detects on behalf of a tenant comes from here, never from
code: the company name in the drafting prompt, the not-covered reply, the phrasebook the
quality check suggests, the tenant's own personal-data patterns (order or account
numbers), its extra sentiment and risk terms and forbidden words, and the strings the
agents' widget shows.

    <tenants_dir>/<tenant>/profile.yaml     (examples/tenants/nova/profile.yaml, .../bank/...)

Every field is optional. What a tenant leaves out comes from the neutral profile shipped
with the core (``assist/resources/tenant_defaults/profile.yaml``), per language and per
phrasebook section, so a tenant with no profile at all (one created through the API)
gets neutral wording and generic patterns, never another tenant's words.

A mistake is reported like the other rule files, ``FILE:LINE: reason``::

    examples/tenants/bank/profile.yaml:14: pii_patterns.account: kind must be upper-case letters ...

Example:
    >>> profile = load_profile("examples/tenants/bank/profile.yaml")      # doctest: +SKIP
    >>> profile.company("en")                                              # doctest: +SKIP
    'Hengchuan Bank Card Services'
    >>> neutral_profile().not_covered_for("en").clarifying                  # doctest: +SKIP
    'Could you tell me a little more about your request, so I can check with the right team?'
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assist.resources import resource_path
from assist.rules_loader import line_of, load_yaml_model
from assist.types import Language

__all__ = [
    "LANGUAGES",
    "NotCoveredWording",
    "PhraseSection",
    "Phrasebook",
    "SentimentTerms",
    "TenantProfile",
    "WidgetStrings",
    "load_profile",
    "neutral_profile",
    "phrase_pattern",
]

LANGUAGES: tuple[Language, ...] = ("zh", "en")
PhraseSection = Literal["greeting", "apology", "soothing", "closing"]
_KIND = re.compile(r"^[A-Z]{2,20}$")
_BUILTIN_KINDS = frozenset({"PHONE", "ID", "CARD", "EMAIL", "ADDR"})


class _Strict(BaseModel):
    # Operators edit these files by hand: a misspelt key must fail, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _valid_regex(p: str) -> str:
    try:
        re.compile(p)
    except re.error as e:
        raise ValueError(f"bad regular expression {p!r}: {e}; escape special characters with a backslash") from e
    return p


Regex = Annotated[str, AfterValidator(_valid_regex)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Phrasebook(_Strict):
    """Standard phrases of one language; ``{agent}`` stands for the agent's name."""

    greeting: list[Text] = Field(default_factory=list)
    apology: list[Text] = Field(default_factory=list)
    soothing: list[Text] = Field(default_factory=list)
    closing: list[Text] = Field(default_factory=list)


class NotCoveredWording(_Strict):
    """The reply when the knowledge base does not cover a question (``prompts/not_covered.*.j2``)."""

    apology: str = Field(default="", max_length=200)
    """Put before the reply ("抱歉，" / "Sorry, ")."""
    clarifying: Text = "…"
    """What the agent asks the customer for, so the right team can check (the tenant's
    identifiers: an order number, the last four digits of a card...)."""


class SentimentTerms(_Strict):
    """Domain words the core lexicons do not know (``assist/resources/sentiment``)."""

    terms: dict[str, Annotated[float, Field(ge=-4, le=4)]] = Field(default_factory=dict)
    """Term -> weight, -3 (very negative) ... +3, like the lexicon files."""
    risk_terms: dict[Language, list[Text]] = Field(default_factory=dict)
    """Words that signal risk in this domain (盗刷, "card stolen"): scored ``risk_weight``."""
    risk_weight: float = Field(default=-2.5, ge=-4, le=0)

    def merged(self) -> dict[str, float]:
        out = {t: self.risk_weight for words in self.risk_terms.values() for t in words}
        out.update(self.terms)
        return out


class WidgetStrings(_Strict):
    """Strings the agents' widget shows for this tenant (``GET /v1/tenant``)."""

    paste_placeholder: str | None = Field(default=None, max_length=1000)
    """The example conversation in the paste box (one turn per line)."""
    related_title: str | None = Field(default=None, max_length=100)
    """Heading of the related-content list beside a draft ("相关文章" / "Related articles")."""
    related_insert_link: str | None = Field(default=None, max_length=100)
    """Button that adds a related article's link to the reply."""
    related_insert_snippet: str | None = Field(default=None, max_length=100)
    """Button that adds a related article's short extract to the reply."""
    related_matched: str | None = Field(default=None, max_length=100)
    """Label before the words that made an article related ("匹配" / "Matched")."""


def _upper_kinds(v: dict[str, list[str]]) -> dict[str, list[str]]:
    bad = [k for k in v if not _KIND.match(k)]
    if bad:
        raise ValueError(
            f"PII kind(s) {bad}: a kind must be 2-20 upper-case letters (it becomes the placeholder [KIND_1])"
        )
    empty = [k for k, patterns in v.items() if not patterns]
    if empty:
        raise ValueError(f"PII kind(s) {empty} have no pattern")
    return v


class TenantProfile(_Strict):
    """A tenant's profile (``profile.yaml``); see the module docstring.

    Use :func:`load_profile` (which fills gaps from the neutral profile) rather than the
    constructor, and the accessors (:meth:`company`, :meth:`phrases`, ...) rather than the
    fields: they fall back per language.
    """

    tenant: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    """Optional; when given it must be the directory's name (a copied file is caught)."""
    display_name: dict[Language, Text] = Field(default_factory=dict)
    """The company or service name per language, as the drafting prompt names it."""
    languages: list[Language] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    pii_patterns: Annotated[dict[str, list[Regex]], AfterValidator(_upper_kinds)] = Field(default_factory=dict)
    """Extra personal-data patterns by placeholder kind, e.g. ``{ORDER: ['NV\\d{10,16}']}``;
    the built-in detectors (phone, ID, card, e-mail, address) always run."""
    phrasebook: dict[Language, Phrasebook] = Field(default_factory=dict)
    not_covered: dict[Language, NotCoveredWording] = Field(default_factory=dict)
    sentiment: SentimentTerms = Field(default_factory=SentimentTerms)
    forbidden_words: dict[Language, list[Text]] = Field(default_factory=dict)
    """Added to the quality rubric's forbidden-words check."""
    widget: dict[Language, WidgetStrings] = Field(default_factory=dict)
    article_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S*\{article_id\}\S*$")
    """The public link of an article, for related content the agent sends the customer:
    ``{article_id}`` and ``{language}`` are filled in (``https://help.example.com/{language}/{article_id}``).
    None: articles have no public link (the agent sends a short extract instead)."""

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, v: list[Language]) -> list[Language]:
        if len(set(v)) != len(v):
            raise ValueError("a language is listed twice")
        return v

    # ------------------------------------------------------------------ resolved values
    def with_defaults(self, base: TenantProfile) -> TenantProfile:
        """This profile with every gap filled from ``base``: per language, and within a
        language per field (a phrasebook section, the apology or the clarifying request).

        Extra PII patterns, sentiment terms and forbidden words are the tenant's own: the
        neutral profile has none to add.
        """
        update: dict[str, object] = {"display_name": {**base.display_name, **self.display_name}}
        for name in ("phrasebook", "not_covered", "widget"):
            mine: dict[str, BaseModel] = getattr(self, name)
            merged: dict[str, BaseModel] = dict(getattr(base, name))
            for lang, own in mine.items():
                fallback = merged.get(lang)
                if fallback is None:
                    merged[lang] = own
                    continue
                unset = {f: getattr(fallback, f) for f in type(own).model_fields if f not in own.model_fields_set}
                merged[lang] = own.model_copy(update=unset)
            update[name] = merged
        return self.model_copy(update=update)

    def company(self, language: str) -> str:
        """The name the drafting prompt uses (the display name in ``language``, else any)."""
        return self.display_name.get(language) or next(iter(self.display_name.values()), "")  # type: ignore[call-overload]

    def phrases(self, language: str, section: PhraseSection) -> list[str]:
        book = self.phrasebook.get(language)  # type: ignore[call-overload]
        return list(getattr(book, section)) if book is not None else []

    def not_covered_for(self, language: str) -> NotCoveredWording:
        return self.not_covered.get(language) or NotCoveredWording()  # type: ignore[call-overload]

    def pii_extra_patterns(self) -> dict[str, str]:
        """``{KIND: regex}`` for :class:`assist.privacy.PiiMasker` (alternatives joined)."""
        return {kind: "|".join(f"(?:{p})" for p in patterns) for kind, patterns in self.pii_patterns.items()}

    def pii_kinds(self) -> set[str]:
        """Every placeholder kind this tenant's masker can produce."""
        return set(_BUILTIN_KINDS) | set(self.pii_patterns)

    def sentiment_terms(self) -> dict[str, float]:
        return self.sentiment.merged()

    def widget_strings(self, language: str) -> WidgetStrings:
        return self.widget.get(language) or WidgetStrings()  # type: ignore[call-overload]

    def article_link(self, article_id: str, language: str) -> str | None:
        """The public link of an article (``article_url`` filled in), or None."""
        if not self.article_url:
            return None
        from urllib.parse import quote

        return self.article_url.replace("{article_id}", quote(article_id, safe="")).replace(
            "{language}", quote(language, safe=""))


def phrase_pattern(phrase: str) -> str:
    """A phrasebook line as a regex that finds it in a reply, whatever the agent's name.

    Example:
        >>> bool(re.search(phrase_pattern("您好，我是客服{agent}。"), "您好，我是客服小王。"))
        True
    """
    parts = re.split(r"\{[a-z_]+\}", phrase.strip().strip("\"“”「」"))
    return r".{0,20}?".join(re.escape(p) for p in parts)


@cache
def neutral_profile() -> TenantProfile:
    """The profile of a tenant without one: neutral wording, no extra patterns."""
    return load_yaml_model(resource_path("tenant_defaults", "profile.yaml"), TenantProfile)


def load_profile(path: str | Path, *, tenant: str | None = None) -> TenantProfile:
    """Load and validate a tenant's ``profile.yaml``; gaps are filled from the neutral profile.

    Args:
        path: The file.
        tenant: The tenant whose directory holds it; when the file names a tenant, it must match.

    Raises:
        ConfigError: ``FILE:LINE: reason`` for YAML errors, unknown keys, bad regexes or kinds.
    """
    import yaml

    from assist.errors import ConfigError

    profile = load_yaml_model(path, TenantProfile)
    if tenant is not None and profile.tenant is not None and profile.tenant != tenant:
        line = line_of(yaml.compose(Path(path).read_text(encoding="utf-8")), ("tenant",)) or 1
        raise ConfigError(
            f"{path}:{line}: tenant is {profile.tenant!r} but the file is in the directory of tenant {tenant!r}; "
            "fix the tenant key (or remove it)"
        )
    return profile.with_defaults(neutral_profile())
