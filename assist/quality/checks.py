"""The rubric's checks, one function each: a reply (and what is known about it) in, findings out.

Pure functions of their arguments: the checker (:mod:`assist.quality.checker`) picks the
checks the rubric lists, passes each the tenant's masker, sentiment analyzer and
phrasebook, and scores the findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assist.privacy import PiiMasker
from assist.quality.rubric import (
    ClosingCheck,
    EmpathyCheck,
    ForbiddenWordsCheck,
    GreetingCheck,
    GroundingCheck,
    PiiExposureCheck,
    PromisesCheck,
)
from assist.sentiment import SentimentAnalyzer
from assist.text import (
    Duration,
    clause_spans,
    content_tokens,
    extract_amounts,
    extract_durations,
    mentions_number,
    sentence_spans,
    span_containing,
)
from assist.types import Conversation, Finding

__all__ = ["closing", "empathy", "forbidden_words", "greeting", "grounding", "pii_exposure", "promises"]

_CONDITION_BEFORE = re.compile(r"(超过|超出|大于|多于|满|more than|over|longer than|after|beyond)\s*$", re.I)
_CITATION = re.compile(r"[\[【](\d{1,3})[\]】]")
_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _search_any(patterns: Iterable[str], text: str) -> re.Match[str] | None:
    for p in patterns:
        m = re.search(p, text, re.I)
        if m:
            return m
    return None


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else str(v)


def _suggest(message: str, example: str | None) -> str:
    """The finding's message with the tenant's phrasebook line to use instead."""
    if not example:
        return message
    shown = example if len(example) <= 60 else example[:59] + "…"
    return f"{message} (phrasebook: {shown})"


def greeting(chk: GreetingCheck, reply: str, conv: Conversation | None, *,
             phrases: Sequence[str] = (), example: str | None = None) -> list[Finding]:
    """No greeting in the first reply. ``phrases``: the tenant's phrasebook patterns;
    ``example``: the phrasebook line suggested in the finding."""
    if chk.when == "first_reply":
        if conv is None or any(t.role in ("agent", "bot") for t in conv.turns):
            return []
    if _search_any([*chk.patterns.all(), *phrases], reply):
        return []
    return [Finding(check="greeting", severity=chk.severity,
                    message=_suggest("no greeting in the first reply", example))]


def closing(chk: ClosingCheck, reply: str, conv: Conversation | None, *,
            phrases: Sequence[str] = (), example: str | None = None) -> list[Finding]:
    if chk.when == "ending":
        last = ""
        if conv is not None:
            last = next((t.text for t in reversed(conv.turns) if t.role == "customer"), "")
        if not last or not _search_any(chk.ending_cues.all(), last):
            return []
    if _search_any([*chk.patterns.all(), *phrases], reply):
        return []
    return [Finding(check="closing", severity=chk.severity,
                    message=_suggest("the conversation is ending but the reply has no closing phrase", example))]


def empathy(chk: EmpathyCheck, reply: str, conv: Conversation | None, sentiment: SentimentAnalyzer, *,
            phrases: Sequence[str] = (), example: str | None = None) -> list[Finding]:
    if conv is None:
        return []
    customer = [t.text for t in conv.turns if t.role == "customer"][-chk.lookback_turns :]
    if not customer:
        return []
    worst = min(sentiment.analyze(t).score for t in customer)
    if worst > chk.negative_at or _search_any([*chk.patterns.all(), *phrases], reply):
        return []
    return [Finding(
        check="empathy", severity=chk.severity,
        message=_suggest(f"the customer is upset (sentiment {worst:.2f}) but the reply neither apologises "
                         "nor soothes", example),
    )]


def forbidden_words(chk: ForbiddenWordsCheck, reply: str, *, extra_zh: Sequence[str] = (),
                    extra_en: Sequence[str] = ()) -> list[Finding]:
    """Each forbidden phrase at its span; ``extra_*``: the tenant profile's forbidden words."""
    # Curly apostrophes are common in pasted text; same length, so spans stay valid.
    norm = reply.replace("\u2019", "'").replace("\u2018", "'")
    out: list[Finding] = []
    taken: list[tuple[int, int]] = []
    zh = sorted({*chk.words.zh, *extra_zh}, key=len, reverse=True)
    en = sorted({*chk.words.en, *extra_en}, key=len, reverse=True)
    rxs: list[re.Pattern[str]] = [re.compile(re.escape(w)) for w in zh]
    rxs += [re.compile(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", re.I) for w in en]
    rxs += [re.compile(p, re.I) for p in chk.patterns]
    for rx in rxs:
        for m in rx.finditer(norm):
            if m.start() == m.end() or any(not (m.end() <= s or m.start() >= e) for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            out.append(Finding(check="forbidden_words", severity=chk.severity,
                               message=f"forbidden phrase {reply[m.start() : m.end()]!r}",
                               span=(m.start(), m.end())))
    return out


def pii_exposure(chk: PiiExposureCheck, reply: str, cited: dict[int, str] | None,
                 masker: PiiMasker) -> list[Finding]:
    # Data quoted from the cited knowledge (the service centre's address or hotline)
    # belongs to the company, not the customer.
    sources = " ".join((cited or {}).values())
    out = []
    for e in masker.detect(reply):
        if e.kind not in chk.kinds or (sources and reply[e.start : e.end] in sources):
            continue
        out.append(Finding(
            check="pii_exposure",
            severity=chk.severity_by_kind.get(e.kind, chk.severity),
            message=f"full {e.kind.lower()} shown; show at most the last 4 digits (138****1234)",
            span=(e.start, e.end),
        ))
    return out


def promises(chk: PromisesCheck, reply: str, cited: dict[int, str] | None) -> list[Finding]:
    sources = list((cited or {}).values())
    sentences = sentence_spans(reply)
    out: list[Finding] = []
    for a in extract_amounts(reply):
        s, e = span_containing(sentences, a.start)
        sentence = reply[s:e]
        currency = a.currency
        span = (a.start, a.end)
        shown = f"{_fmt(a.value)} {currency}"
        if _search_any(chk.compensation_cues.all(), sentence):
            limit = chk.max_compensation.get(currency)  # type: ignore[call-overload]
            if limit is not None and a.value > limit:
                out.append(Finding(
                    check="promises", severity=chk.over_limit_severity, span=span,
                    message=f"compensation of {shown} exceeds the agent allowance ({_fmt(limit)} {currency}); "
                            "needs supervisor approval",
                ))
            elif (
                chk.allowed_amounts
                and not any(abs(m.value - a.value) < 1e-9 and m.currency == currency for m in chk.allowed_amounts)
                and not mentions_number(a.value, sources)
            ):
                out.append(Finding(
                    check="promises", severity=chk.severity, span=span,
                    message=f"compensation of {shown} is not an allowed amount nor in the cited policy",
                ))
        elif _search_any(chk.refund_cues.all(), sentence):
            limit = chk.max_refund.get(currency)  # type: ignore[call-overload]
            if limit is not None and a.value > limit:
                out.append(Finding(
                    check="promises", severity=chk.over_limit_severity, span=span,
                    message=f"refund of {shown} is above {_fmt(limit)} {currency}; needs supervisor approval",
                ))
    clauses = clause_spans(reply)
    for d in extract_durations(reply):
        if _CONDITION_BEFORE.search(reply[max(0, d.start - 12) : d.start]):
            continue  # "延迟超过3天" / "more than 3 days late" states a condition, not a promise
        s, e = span_containing(clauses, d.start)
        if not (d.within or _search_any(chk.promise_cues.all(), reply[s:e])):
            continue
        if _duration_allowed(chk, d) or (mentions_number(d.low, sources) and mentions_number(d.high, sources)):
            continue
        what = f"{_fmt(d.low)}" + (f"-{_fmt(d.high)}" if d.high != d.low else "") + f" {d.unit.replace('_', ' ')}(s)"
        out.append(Finding(
            check="promises", severity=chk.severity, span=(d.start, d.end),
            message=f"promised time {what} is not in the service standards nor in the cited text",
        ))
    return out


def _duration_allowed(chk: PromisesCheck, d: Duration) -> bool:
    for spec in chk.allowed_durations:
        if spec.unit != d.unit:
            continue
        lo = spec.max if spec.min is None else spec.min
        if (d.low, d.high) == (lo, spec.max) or d.low == d.high == spec.max:
            return True
    return False


def grounding(chk: GroundingCheck, reply: str, conv: Conversation | None, cited: dict[int, str],
              flagged: list[tuple[int, int]]) -> list[Finding]:
    """Cited sentences supported by their sources; numbers found in the sources or the
    conversation (``flagged``: spans another check already reported)."""
    out: list[Finding] = []
    for s, e in sentence_spans(reply):
        sentence = reply[s:e]
        markers = list(_CITATION.finditer(sentence))
        if not markers:
            continue
        texts = []
        for m in markers:
            n = int(m.group(1))
            if n in cited:
                texts.append(cited[n])
            else:
                out.append(Finding(check="grounding", severity=chk.severity, span=(s + m.start(), s + m.end()),
                                   message=f"citation [{n}] does not match any provided source"))
        if not texts:
            continue
        tokens = content_tokens(sentence)
        if len(tokens) < 2:
            continue
        support = content_tokens(" ".join(texts))
        overlap = len(tokens & support) / len(tokens)
        if overlap < chk.min_overlap:
            out.append(Finding(
                check="grounding", severity=chk.severity, span=(s, e),
                message=f"sentence is not supported by its citation (token overlap {overlap:.2f} < {chk.min_overlap})",
            ))
    if chk.check_numbers:
        known = list(cited.values()) + ([t.text for t in conv.turns] if conv else [])
        masked = _ignorable_number_spans(reply)
        for m in _DIGITS.finditer(reply):
            a, b = m.start(), m.end()
            if any(not (b <= x or a >= y) for x, y in [*flagged, *masked]):
                continue
            if mentions_number(float(m.group()), known):
                continue
            out.append(Finding(check="grounding", severity=chk.severity, span=(a, b),
                               message=f"number {m.group()} is not in the cited text"))
    return out


def _ignorable_number_spans(reply: str) -> list[tuple[int, int]]:
    """Citation markers, placeholders and masked numbers (138****1234) are not claims."""
    spans = [(m.start(), m.end()) for m in _CITATION.finditer(reply)]
    spans += [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(reply)]
    spans += [(m.start(), m.end()) for m in re.finditer(r"\d*[*＊•]{2,}\d*", reply)]
    return spans
