"""QualityChecker: a tenant's rubric applied to one reply, findings scored."""

from __future__ import annotations

from assist.privacy import PiiMasker
from assist.profile import LANGUAGES, PhraseSection, TenantProfile, neutral_profile, phrase_pattern
from assist.quality import checks
from assist.quality.rubric import Check, Rubric, with_defaults
from assist.sentiment import SentimentAnalyzer
from assist.text import detect_language
from assist.types import Conversation, Finding, Language, QAReport

__all__ = ["QualityChecker"]


class QualityChecker:
    """Applies a :class:`~assist.quality.rubric.Rubric` to agent replies.

    Args:
        rubric: The tenant rubric (:func:`~assist.quality.rubric.load_rubric`); unset values
            of its checks come from the default rubric.
        masker: Detects exposed personal data (default: the generic detectors plus the
            profile's patterns).
        sentiment: Scores the customer's turns for the empathy check.
        profile: The tenant's profile: its phrasebook counts as greeting, closing and
            apology phrases and is what findings suggest; its forbidden words are added to
            the rubric's. Default: the neutral profile.

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
        *,
        profile: TenantProfile | None = None,
    ) -> None:
        self.rubric = with_defaults(rubric)
        self.profile = profile or neutral_profile()
        self.masker = masker or PiiMasker(extra_patterns=self.profile.pii_extra_patterns())
        self.sentiment = sentiment or SentimentAnalyzer(extra_terms=self.profile.sentiment_terms())
        self._phrases: dict[str, list[str]] = {
            "greeting": self._patterns("greeting"),
            "closing": self._patterns("closing"),
            "empathy": self._patterns("apology", "soothing"),
        }

    def _patterns(self, *sections: PhraseSection) -> list[str]:
        return [phrase_pattern(p) for lang in LANGUAGES for s in sections for p in self.profile.phrases(lang, s)]

    def _example(self, language: str, section: PhraseSection) -> str | None:
        return next(iter(self.profile.phrases(language, section)), None)

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
        per_check: list[tuple[Check, list[Finding]]] = []
        if c.greeting and c.greeting.enabled:
            per_check.append((c.greeting, checks.greeting(
                c.greeting, reply, conversation, phrases=self._phrases["greeting"],
                example=self._example(lang, "greeting"))))
        if c.closing and c.closing.enabled:
            per_check.append((c.closing, checks.closing(
                c.closing, reply, conversation, phrases=self._phrases["closing"],
                example=self._example(lang, "closing"))))
        if c.empathy and c.empathy.enabled:
            per_check.append((c.empathy, checks.empathy(
                c.empathy, reply, conversation, self.sentiment, phrases=self._phrases["empathy"],
                example=self._example(lang, "apology"))))
        if c.forbidden_words and c.forbidden_words.enabled:
            words = self.profile.forbidden_words
            per_check.append((c.forbidden_words, checks.forbidden_words(
                c.forbidden_words, reply, extra_zh=words.get("zh", []), extra_en=words.get("en", []))))
        if c.pii_exposure and c.pii_exposure.enabled:
            per_check.append((c.pii_exposure, checks.pii_exposure(c.pii_exposure, reply, cited_texts, self.masker)))
        flagged: list[tuple[int, int]] = []
        if c.promises and c.promises.enabled:
            found = checks.promises(c.promises, reply, cited_texts)
            flagged = [f.span for f in found if f.span]
            per_check.append((c.promises, found))
        if c.grounding and c.grounding.enabled and cited_texts is not None:
            per_check.append((c.grounding, checks.grounding(c.grounding, reply, conversation, cited_texts, flagged)))

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
