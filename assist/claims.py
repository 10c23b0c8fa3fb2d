"""Claim check and policy check: a reply says only what its cited evidence says.

Runs after every draft, whatever wrote it (the extractive composer or a generative model):

* **Claim check** (:func:`check_claims`): each sentence of the reply must be supported by
  the passages it cites (or, uncited, by one passage, which it is then attributed to):
  enough of its content tokens occur there, every number in it occurs there, and its
  clauses keep the polarity of the evidence clause they restate ("值班人员可以走" against
  "值班人员不得离开" is a negation mismatch). Unsupported sentences are removed; courtesy
  sentences (the tenant's phrasebook lines, greetings, closings) carry no claim and stay.
* **Policy check** (:func:`check_policy`): amounts, fees, payment methods (gift cards,
  crypto, wire transfers), links, phone numbers, e-mail addresses and codes in the reply
  that the cited evidence does not contain are removed, before anything reaches an agent.
  High-risk payment methods that the evidence does contain are kept and flagged for review.

Both work on NFKC-normalised text, so full-width digits and letters count as what they are.

Example:
    >>> ev = {1: "交接班时，值班人员不得离开岗位。"}
    >>> check_claims("值班人员可以离开岗位 [1]。", ev).supported
    0
    >>> check_claims("交接班时值班人员不得离开岗位 [1]。", ev).supported
    1
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assist.text import content_tokens as _content_tokens
from assist.text import extract_amounts, sentence_spans
from assist.text import parse_number as _to_number

__all__ = [
    "ClaimReport",
    "PolicyReport",
    "check_claims",
    "check_policy",
    "negation_count",
    "numbers_in",
]

_CITE = re.compile(r"\s?\[(\d{1,3})\]")
_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")
_CLAUSE = re.compile(r"[，,、；;：:。！？!?\n]+|\.(?=\s|$)")

# Negation: longer markers first so 不得 counts once; words that contain a negation
# character without negating (不仅 "not only", 无论 "whatever") are masked first.
# Words that contain 不/无/非/未/别 but do not negate the sentence (非常 "very", 不便
# "inconvenience", 无线 "wireless", 无门槛 "no minimum spend", 无理由退货 "no-reason returns").
_ZH_NOT_NEGATION = re.compile(
    r"不仅|不但|不论|不管|不久|不断|不少|不错|不便|无论|毫无疑问|不一定要|非常|无线|无门槛|无理由|无忧|"
    r"未来|特别|区别|分别|类别|级别|识别|别人|别的"
)
_ZH_NEGATION = re.compile(r"不得|不能|不可|不要|不用|不会|不准|不予|不允许|禁止|严禁|无法|无须|无需|没有|并非|不|没|未|勿|别|非|无")
_EN_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|nor|neither|without|none|nothing|prohibited|forbidden)\b|n't\b", re.I
)
# Numbers: digit runs, and Chinese numerals long enough (or followed by a unit) to be numbers
# rather than parts of words (一起, 统一).
_DIGIT_NUM = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百千万]{2,}|[二两三四五六七八九十百千万](?=[个天元次年月日号小时分钟周件位名人项条台])")
_COURTESY = re.compile(
    r"^(?:您好|你好|亲|尊敬的|感谢|谢谢|不客气|抱歉|很抱歉|非常抱歉|请问还有|还有什么|祝您|hi\b|hello\b|dear\b|thanks?\b|"
    r"thank you|sorry|we apologi[sz]e|is there anything else|anything else|have a (?:nice|good|great))",
    re.I,
)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def negation_count(text: str) -> int:
    """How many negation markers ``text`` holds (zh and en).

    Example:
        >>> negation_count("值班人员不得离开"), negation_count("You must not leave"), negation_count("不仅如此")
        (1, 1, 0)
        >>> negation_count("非常抱歉给您带来不便，我们会发放一张无门槛优惠券")
        0
    """
    t = _ZH_NOT_NEGATION.sub(" ", _nfkc(text))
    return len(_ZH_NEGATION.findall(t)) + len(_EN_NEGATION.findall(t))


def numbers_in(text: str) -> list[float]:
    """The numbers written in ``text``: digits (full-width too) and Chinese numerals.

    Example:
        >>> numbers_in("３天内退款，五百元，统一处理")
        [3.0, 500.0]
    """
    t = _PLACEHOLDER.sub(" ", _nfkc(text))
    out: list[float] = []
    for m in _DIGIT_NUM.finditer(t):
        v = _to_number(m.group())
        if v is not None:
            out.append(v)
    for m in _CN_NUM.finditer(t):
        v = _to_number(m.group())
        if v is not None:
            out.append(v)
    return out


def _clauses(text: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSE.split(text)]
    return [p for p in parts if p]


def _overlap(tokens: set[str], other: set[str]) -> float:
    return len(tokens & other) / len(tokens) if tokens else 0.0


@dataclass
class ClaimReport:
    """What the claim check kept and removed."""

    text: str
    supported: int
    """Sentences that carry a claim and are supported by their evidence."""
    removed: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    used: list[int] = field(default_factory=list)
    """Evidence numbers the kept sentences cite."""


def _sentence_problem(sentence: str, evidence: str, *, min_support: float) -> str | None:
    """Why ``sentence`` is not supported by ``evidence`` (None when it is)."""
    sentence, evidence = _nfkc(sentence), _nfkc(evidence)
    tokens = _content_tokens(sentence)
    if not tokens:
        return None
    ev_tokens = _content_tokens(evidence)
    if _overlap(tokens, ev_tokens) < min_support:
        return "unsupported"
    # Clause by clause too: an invented clause ("态度是积极的") must not ride on a clause
    # copied from the source.
    for clause in _clauses(sentence):
        ct = _content_tokens(clause)
        if len(ct) >= 3 and _overlap(ct, ev_tokens) < min_support:
            return "unsupported"
    ev_numbers = numbers_in(evidence)
    for v in numbers_in(sentence):
        if not any(abs(v - e) < 1e-9 for e in ev_numbers):
            return "number_mismatch"
    # Polarity, clause by clause: the evidence clauses a reply clause restates (those
    # sharing the most of its tokens, near ties included) must negate as often, modulo 2.
    # Conservative on purpose: when the evidence says a thing and its opposite about the
    # same subject, a sentence that could restate either is not supported.
    ev_clauses = [(negation_count(c) % 2, _content_tokens(c)) for c in _clauses(evidence)]
    for clause in _clauses(sentence):
        ct = _content_tokens(clause)
        if len(ct) < 2 or not ev_clauses:
            continue
        scored = [(_overlap(ct, et), parity) for parity, et in ev_clauses]
        best = max(o for o, _ in scored)
        if best < 0.4:
            continue
        mine = negation_count(clause) % 2
        if any(parity != mine for o, parity in scored if o >= best - 0.05):
            return "negation_mismatch"
    return None


def _is_courtesy(sentence: str, style: Sequence[str]) -> bool:
    plain = _CITE.sub("", sentence).strip()
    if numbers_in(plain):
        return False
    if _COURTESY.match(plain):
        return True
    tokens = _content_tokens(plain)
    return any(_overlap(tokens, _content_tokens(line)) >= 0.8 for line in style if line.strip())


def check_claims(text: str, evidence: Mapping[int, str], *, style: Sequence[str] = (),
                 min_support: float = 0.5, attribute: bool = True) -> ClaimReport:
    """Keep the sentences of ``text`` that their cited evidence supports.

    Args:
        text: The reply, with ``[n]`` citation markers.
        evidence: Evidence number -> its full text (a passage, or a sentence with its neighbours).
        style: The tenant's phrasebook lines (courtesy sentences that carry no claim).
        min_support: Share of a sentence's content tokens that must occur in its evidence.
        attribute: An uncited sentence supported by one evidence text gets its marker.

    Returns:
        The reply without unsupported sentences, how many claims are supported, what was
        removed and why (``claim_removed:<reason>`` flags).
    """
    out: list[str] = []
    removed: list[str] = []
    flags: list[str] = []
    used: list[int] = []
    supported = 0
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        cited = [int(m.group(1)) for m in _CITE.finditer(sentence)]
        plain = _CITE.sub("", sentence).strip()
        valid = [n for n in cited if n in evidence]
        if not _content_tokens(plain) and not numbers_in(plain):
            out.append(sentence)  # punctuation, a placeholder
            continue
        if not valid and _is_courtesy(sentence, style):
            out.append(sentence)
            continue
        problem: str | None = None
        if valid:
            problem = _sentence_problem(plain, "\n".join(evidence[n] for n in valid), min_support=min_support)
        if not valid or (problem is not None and attribute):
            # Uncited, or cited wrongly (small models often cite the wrong number): the
            # evidence text that supports it, if one does, gets the citation.
            why_cited = problem
            problem, best = "unsupported", None
            ranked = sorted((n for n in evidence if n not in valid),
                            key=lambda n: -_overlap(_content_tokens(plain), _content_tokens(_nfkc(evidence[n]))))
            for n in ranked[:3]:
                why = _sentence_problem(plain, evidence[n], min_support=min_support)
                if why is None:
                    problem, best = None, n
                    break
                if problem == "unsupported":
                    problem = why
            if why_cited is not None and problem is not None:
                problem = why_cited  # report why its own citation did not support it
            if problem is None and best is not None:
                if valid:
                    sentence = _CITE.sub("", sentence)
                    flags.append("citations_corrected")
                else:
                    flags.append("citations_attributed")
                valid = [best]
                if attribute:
                    end = len(sentence.rstrip("。．.!！?？ "))
                    sentence = f"{sentence[:end]} [{best}]{sentence[end:]}"
        if problem is not None:
            removed.append(sentence)
            flags.append(f"claim_removed:{problem}")
            continue
        supported += 1
        used.extend(n for n in valid if n not in used)
        out.append(sentence)
    joined = _join(out, text)
    return ClaimReport(joined, supported, removed, _unique(flags), used)


def _join(sentences: Sequence[str], original: str) -> str:
    cjk = sum(1 for c in original if "\u4e00" <= c <= "\u9fff") > len(original) / 4
    return ("" if cjk else " ").join(s.strip() for s in sentences if s.strip()).strip()


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------- policy
_URL = re.compile(r"https?://[^\s\])>，。]+|www\.[^\s\])>，。]+|\b[a-z0-9-]+\.(?:com|cn|net|org|io|xyz|top|info|me|ly|co)\b(?:/[^\s\])>，。]*)?", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\- ]{5,}\d(?![\w.])")
_CODE = re.compile(r"\b(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+\b|\b(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{6,}\b")
_PAYMENT = re.compile(
    r"gift\s*cards?|prepaid\s*cards?|itunes|steam\s*cards?|google\s*play\s*cards?|bitcoin|btc\b|usdt|crypto\w*|"
    r"wire\s*transfer|western\s*union|moneygram|礼品卡|购物卡|充值卡|点卡|比特币|虚拟货币|加密货币|电汇|"
    r"processing\s*fee|handling\s*fee|service\s*fee|手续费|服务费|保证金|解冻费",
    re.I,
)
_HIGH_RISK = re.compile(r"gift\s*cards?|prepaid|itunes|steam|google\s*play|bitcoin|btc|usdt|crypto|wire|western|moneygram|"
                        r"礼品卡|购物卡|充值卡|点卡|比特币|虚拟货币|加密货币|电汇|保证金|解冻费", re.I)


@dataclass
class PolicyReport:
    text: str
    removed: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def _squash(text: str) -> str:
    return re.sub(r"[\s\-]+", "", _nfkc(text).lower())


def _policy_findings(sentence: str, evidence: str) -> tuple[list[str], list[str]]:
    """(kinds the evidence lacks, high-risk kinds the evidence has) in one sentence."""
    s = _PLACEHOLDER.sub(" ", sentence)
    ev = _squash(evidence)
    ev_numbers = numbers_in(evidence)
    missing: list[str] = []
    review: list[str] = []
    for kind, rx in (("link", _URL), ("email", _EMAIL), ("phone", _PHONE), ("code", _CODE)):
        for m in rx.finditer(s):
            if _squash(m.group()) not in ev:
                missing.append(kind)
    ev_amounts = [a.value for a in extract_amounts(evidence)]
    for a in extract_amounts(s):
        # The same amount, however written (13.5亿元 is 1.35e9 to the amount parser and
        # 13.5 to the number finder), or the same characters.
        if not any(abs(a.value - v) < 1e-9 for v in [*ev_numbers, *ev_amounts]) and \
                _squash(s[a.start:a.end]) not in ev:
            missing.append("amount")
    for m in _PAYMENT.finditer(s):
        if _squash(m.group()) not in ev:
            missing.append("payment")
        elif _HIGH_RISK.search(m.group()):
            review.append("payment")
    return missing, review


def check_policy(text: str, evidence: Mapping[int, str] | Sequence[str]) -> PolicyReport:
    """Remove the sentences that state an amount, fee, payment method, link, phone number,
    e-mail address or code the evidence does not contain.

    Masked placeholders (``[PHONE_1]``) come from the customer and are allowed.

    Example:
        >>> check_policy("退款3天到账。请用礼品卡支付50元手续费。", ["退款3天到账。"]).text
        '退款3天到账。'
    """
    texts = list(evidence.values()) if isinstance(evidence, Mapping) else list(evidence)
    ev = "\n".join(_nfkc(t) for t in texts)
    out: list[str] = []
    removed: list[str] = []
    flags: list[str] = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        missing, review = _policy_findings(_nfkc(_CITE.sub("", sentence)), ev)
        if missing:
            removed.append(sentence)
            flags.extend(f"policy_removed:{k}" for k in missing)
            continue
        flags.extend(f"policy_review:{k}" for k in review)
        out.append(sentence)
    return PolicyReport(_join(out, text), removed, _unique(flags))
