"""Yes/no questions and yes/no verdicts, in Chinese and English.

A yes/no question asks whether a proposition holds: 是否/是不是/有没有/能不能/可以…吗/
…吗？/A不A (去不去) in Chinese, a leading auxiliary (is/are/can/does/do/will …) in
English. :func:`parse_yes_no` returns the proposition (the question without its marker),
its *predicate* (what is asked about the subject: the part after 是否/能否/… in Chinese;
the whole proposition otherwise) and the verb class the answer takes, so a verdict reads
the way the question asked it: 是的/不是, 有/没有, 可以/不可以, 会/不会, 需要/不需要,
Yes/No (:func:`verdict_words`). :func:`leading_verdict` reads the verdict a reply starts
with (any of those words), for the claim check and for scoring.

Not yes/no: questions with a question word (什么/多少/哪/怎么/为什么…, what/which/how…),
alternative questions (是A还是B, "Is it A or B?"), and requests phrased as questions
("Can you tell me about …?").

Pure functions on strings (no model, no tenant data).

Example:
    >>> q = parse_yes_no("原告位于昆仑唐人中心的房子是否有产权证？")
    >>> q.predicate, q.verb
    ('有产权证', 'have')
    >>> verdict_words("have", "zh")
    ('有。', '没有。')
    >>> is_yes_no_question("Can I swim with it?"), is_yes_no_question("多少钱？")
    (True, False)
    >>> leading_verdict("不可以。交接班时不得离开 [1]。")
    'no'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Verdict",
    "VerdictVerb",
    "YesNoQuestion",
    "is_yes_no_question",
    "leading_verdict",
    "parse_yes_no",
    "split_leading_verdict",
    "verdict_words",
]

Verdict = Literal["yes", "no"]
VerdictVerb = Literal["be", "have", "can", "will", "need"]


@dataclass(frozen=True)
class YesNoQuestion:
    """A yes/no question taken apart."""

    text: str
    proposition: str
    """The statement asked about, marker removed ("张x6自愿与母亲一同生活")."""
    predicate: str
    """What is asked of the subject (after 是否/能否/…); the proposition when not separable."""
    verb: VerdictVerb
    """How the answer reads: 是的 (be), 有 (have), 可以 (can), 会 (will), 需要 (need)."""
    language: Literal["zh", "en"]


# Chinese markers, longest first; the verb class each one asks with.
_ZH_MARKERS: tuple[tuple[str, VerdictVerb], ...] = (
    ("可不可以", "can"),
    ("需不需要", "need"),
    ("是不是", "be"),
    ("有没有", "have"),
    ("能不能", "can"),
    ("会不会", "will"),
    ("要不要", "need"),
    ("对不对", "be"),
    ("是否", "be"),
    ("能否", "can"),
    ("可否", "can"),
    ("有无", "have"),
    ("用不用", "need"),
)
_ZH_MARKER_RX = re.compile("|".join(m for m, _ in _ZH_MARKERS if m != "有无") + "|有无(?![线限数])")
_ZH_WH = re.compile(
    r"什么|多少|哪|怎么|怎样|如何|为什么|为何|几[个天次年月日号点时岁位名种条项]|谁|何[时处地人种]|因何|啥|咋"
)
_ZH_ALTERNATIVE = re.compile(r"还是")
_ZH_FINAL = re.compile(r"(?:吗|么|嘛)\s*[？?]?\s*$|(?:没有|没)\s*[？?]\s*$")
_ZH_A_NOT_A = re.compile(r"([\u4e00-\u9fff])不\1")
# The verb the predicate starts with, when the marker itself says nothing (是否有 -> 有).
_ZH_LEAD_VERB: tuple[tuple[str, VerdictVerb], ...] = (
    ("有", "have"),
    ("可以", "can"),
    ("能够", "can"),
    ("能", "can"),
    ("会", "will"),
    ("需要", "need"),
    ("要", "need"),
)

_EN_AUX = (
    r"is|are|was|were|am|do|does|did|can|could|will|would|should|shall|has|have|had|may|might|must|"
    r"isn't|aren't|wasn't|weren't|don't|doesn't|didn't|can't|cannot|couldn't|won't|wouldn't|shouldn't|"
    r"hasn't|haven't|hadn't|mustn't"
)
_EN_LEAD_IN = r"(?:(?:so|and|but|also|ok|okay|well|then|hi|hello|hey|sorry|please|now)\b[\s,]*)*"
_EN_YES_NO = re.compile(rf"^\s*{_EN_LEAD_IN}({_EN_AUX})\b", re.I)
_EN_WH = re.compile(r"\b(?:what|which|who|whom|whose|where|when|why|how)\b", re.I)
_EN_REQUEST = re.compile(
    r"^\s*" + _EN_LEAD_IN + r"(?:can|could|would|will)\s+you\s+(?:please\s+)?"
    r"(?:tell|give|explain|describe|list|show|help|provide|share|let|find|summari[sz]e|elaborate|walk|guide|clarify|"
    r"suggest|recommend|outline|compare|define|expand|detail|break)\b",
    re.I,
)
_EN_ALTERNATIVE = re.compile(r"\bor\b(?!\s+not\b)", re.I)
_EN_VERB: dict[str, VerdictVerb] = {
    "can": "can",
    "could": "can",
    "will": "will",
    "would": "will",
    "has": "have",
    "have": "have",
    "had": "have",
    "must": "need",
    "should": "need",
}


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _lead_verb(predicate: str, default: VerdictVerb) -> VerdictVerb:
    for word, verb in _ZH_LEAD_VERB:
        if predicate.startswith(word):
            return verb
    return default


def parse_yes_no(text: str) -> YesNoQuestion | None:
    """The yes/no question in ``text`` taken apart, or None when it asks something else.

    Example:
        >>> parse_yes_no("张x6是否自愿与母亲一同生活？").predicate
        '自愿与母亲一同生活'
        >>> parse_yes_no("Does the phone support wireless charging?").proposition
        'the phone support wireless charging'
        >>> parse_yes_no("是退款还是换货？") is None, parse_yes_no("Can you tell me about refunds?") is None
        (True, True)
    """
    t = _nfkc(text)
    if not t:
        return None
    # The question is the last sentence that asks (a turn may start with context).
    parts = [p for p in re.split(r"(?<=[。！!；;])|(?<=\.)\s+", t) if p.strip()]
    if len(parts) > 1:
        asking = [p for p in parts if re.search(r"[？?]", p)]
        t = (asking[-1] if asking else parts[-1]).strip()
    if re.search(r"[\u4e00-\u9fff]", t) and len(re.findall(r"[\u4e00-\u9fff]", t)) >= len(
        re.findall(r"[A-Za-z]+", t)
    ):
        return _parse_zh(t)
    return _parse_en(t)


def _parse_zh(t: str) -> YesNoQuestion | None:
    body = re.sub(r"[？?。！!\s]+$", "", t)
    if _ZH_ALTERNATIVE.search(body):
        return None
    m = _ZH_MARKER_RX.search(body)
    if _ZH_WH.search(body) and not m:
        return None
    if m:
        verb = dict(_ZH_MARKERS)[m.group()]
        subject, predicate = body[: m.start()], body[m.end() :]
        predicate = re.sub(r"(?:吗|么|呢)$", "", predicate)
        if verb == "be":
            verb = _lead_verb(predicate, "be")
        return YesNoQuestion(t, subject + predicate, predicate or subject, verb, "zh")
    final = _ZH_FINAL.search(t)
    if final and not _ZH_WH.search(body):
        prop = re.sub(r"(?:吗|么|嘛|没有|没)$", "", body)
        # "可以戴着游泳吗" -> can; "他来了吗" -> be
        return YesNoQuestion(t, prop, prop, _verb_in(prop), "zh")
    anota = _ZH_A_NOT_A.search(body)
    if anota and not _ZH_WH.search(body) and t.endswith(("？", "?")):
        prop = body[: anota.start()] + anota.group(1) + body[anota.end() :]
        return YesNoQuestion(t, prop, prop[anota.start() :], _lead_verb(prop[anota.start() :], "be"), "zh")
    return None


def _verb_in(prop: str) -> VerdictVerb:
    """The verb class of a 吗-question: the first modal or 有 in it (else be)."""
    m = re.search(r"可以|能够|能|会|需要|有", prop)
    if not m:
        return "be"
    return _lead_verb(m.group(), "be")


def _parse_en(t: str) -> YesNoQuestion | None:
    m = _EN_YES_NO.match(t)
    if not m or _EN_REQUEST.match(t):
        return None
    rest = t[m.end() :]
    if _EN_WH.search(rest.split(",")[0]) and not re.search(r"\b(?:if|whether)\b", rest, re.I):
        # "Do you know what ...": an embedded question asks for the what.
        if re.match(r"\s*(?:you|we|i)\s+(?:know|remember|have any idea)\b", rest, re.I):
            return None
    if _EN_ALTERNATIVE.search(rest):
        return None
    aux = m.group(1).lower()
    prop = re.sub(r"[?.!\s]+$", "", rest).strip()
    base = aux.replace("n't", "").replace("cannot", "can").rstrip("'")
    verb = _EN_VERB.get(base, "be")
    return YesNoQuestion(t, prop, prop, verb, "en")


def is_yes_no_question(text: str) -> bool:
    """Whether ``text`` asks for a yes or a no (see :func:`parse_yes_no`).

    Example:
        >>> is_yes_no_question("张某是否自愿？"), is_yes_no_question("How do I turn on GPS?")
        (True, False)
    """
    return parse_yes_no(text) is not None


_ZH_WORDS: dict[VerdictVerb, tuple[str, str]] = {
    "be": ("是的。", "不是。"),
    "have": ("有。", "没有。"),
    "can": ("可以。", "不可以。"),
    "will": ("会。", "不会。"),
    "need": ("需要。", "不需要。"),
}


def verdict_words(verb: VerdictVerb, language: str) -> tuple[str, str]:
    """(yes, no) as the leading sentence of a reply, in the question's own verb.

    Example:
        >>> verdict_words("can", "zh"), verdict_words("can", "en")
        (('可以。', '不可以。'), ('Yes.', 'No.'))
    """
    if language == "zh":
        return _ZH_WORDS[verb]
    return "Yes.", "No."


# A verdict leading a reply: one of the words above (or 是/否/对/不对…), as its own sentence
# or as the reply's first clause ("是的，…", "No, …").
_LEAD_NO = (
    r"不是的|不是|不可以|不能|不会|不需要|不用|没有|没|否|不对|不行|"
    r"no|nope|not really"
)
_LEAD_YES = r"是的|是|有的|有|可以|能|会的|会|需要|要|对的|对|行|yes|yeah|yep|correct"
_LEADING = re.compile(rf"^\s*(?:(?P<no>{_LEAD_NO})|(?P<yes>{_LEAD_YES}))\s*(?P<end>[。．.!！,，；;]|$)", re.I)


def split_leading_verdict(text: str) -> tuple[Verdict | None, str, str]:
    """``(verdict, lead, rest)``: the verdict a reply starts with, the characters that state
    it (with their punctuation) and the rest. ``(None, "", text)`` when it starts otherwise.

    Example:
        >>> split_leading_verdict("没有。该房屋产权证未办 [1]。")
        ('no', '没有。', '该房屋产权证未办 [1]。')
        >>> split_leading_verdict("Yes, you can return it [1].")
        ('yes', 'Yes, ', 'you can return it [1].')
        >>> split_leading_verdict("有效期为一年。")[0] is None
        True
    """
    body = text.lstrip()
    # NFKC maps these words and their punctuation one to one, so offsets carry over.
    m = _LEADING.match(unicodedata.normalize("NFKC", body))
    if not m:
        return None, "", text
    verdict: Verdict = "no" if m.group("no") else "yes"
    end = len(text) - len(body) + m.end()
    while end < len(text) and text[end] == " ":
        end += 1
    return verdict, text[:end], text[end:]


def leading_verdict(text: str) -> Verdict | None:
    """The verdict a reply starts with ("是的。", "不可以。", "No, …"), else None."""
    return split_leading_verdict(text)[0]
