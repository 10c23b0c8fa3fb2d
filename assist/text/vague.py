"""Does a question point at something it does not name?

"Does this fast food chain operate in India?", "What is the population of the country?",
"这款能防水吗？" refer to a thing by a demonstrative, a definite article with a bare common
noun, or a pronoun; unless the conversation named it, the question is underspecified.
:func:`referring_expressions` finds those expressions (zh and en); the caller decides
whether the conversation resolves them (:mod:`assist.evidence` compares the candidate
topics with the conversation).

Pure functions on strings.

Example:
    >>> referring_expressions("Does this Fast food chain restaurant operate in India?")
    ['this fast']
    >>> referring_expressions("What is the Jewish population in the country?")
    ['the country']
    >>> referring_expressions("How do I reset my password?")
    []
    >>> referring_expressions("这款耳机能防水吗？")
    ['这款']
"""

from __future__ import annotations

import re

__all__ = ["referring_expressions"]

# "that" only where it cannot be a conjunction ("is it true that volunteers help"): at the
# start, or after a preposition or an auxiliary ("in that case", "is that shop open").
_EN_DEMONSTRATIVE = re.compile(
    r"(?:\b(?:this|these|those)|(?:^|\b(?:in|on|at|for|of|about|with|from|to|by|is|was|does|did|do|can|will)\s+)that)"
    r"\s+(?!is\b|was\b|are\b|were\b|means?\b|one\b|will\b|can\b|would\b)([a-z]+)",
    re.I,
)
# "the" + one lower-case noun, then the end, a possessive or a function word: "the country",
# "the animal in California", "the country's stadium" (not "the current data", "the FIFA ...").
_EN_DEFINITE = re.compile(
    r"\bthe\s+([a-z]{3,})(?='s\b|\s*[?.!,;:]|\s*$|\s+(?:in|on|at|for|to|from|with|of|that|which|who|is|was|are|"
    r"were|has|have|had|do|does|did|can|will|and|or)\b)"
)
_EN_PRONOUN = re.compile(r"\b(?:he|she|him|her|his|hers|it|its|they|them|their)\b", re.I)
_ZH_REFERRING = re.compile(
    r"这[个款种家位本部件项次]?|那[个款种家位本部件项次]?|该[款种家位项]?|此[款种项]?|它|他|她"
)
_ZH_NOT_REFERRING = re.compile(
    r"这样|那样|这么|那么|这里|那里|这些年|他人|其他|他们的|此外|因此|如此|从此|此时|应该|该死"
)


def referring_expressions(text: str, *, pronouns: bool = True) -> list[str]:
    """Expressions in ``text`` that refer to something without naming it (lower-cased en).

    Args:
        text: A question.
        pronouns: Count pronouns (he, it, 它, 他…) too; in a conversation's later turns a
            pronoun usually points back at what was said, so callers may leave them out.
    """
    out: list[str] = []
    if re.search(r"[\u4e00-\u9fff]", text):
        t = _ZH_NOT_REFERRING.sub(" ", text)
        for m in _ZH_REFERRING.finditer(t):
            if pronouns or m.group() not in ("它", "他", "她"):
                out.append(m.group())
        return out
    low = text.lower()
    out.extend(m.group().lower() for m in _EN_DEMONSTRATIVE.finditer(low))
    out.extend(m.group() for m in _EN_DEFINITE.finditer(low))
    if pronouns:
        out.extend(
            m.group()
            for m in _EN_PRONOUN.finditer(low)
            if m.group() != "it"
            or not re.search(r"\bit\s+(?:is|was)\s+(?:true|possible|necessary|safe|okay|ok)\b", low)
        )
    return out
