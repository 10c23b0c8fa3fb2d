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
from assist.text.yesno import YesNoQuestion, parse_yes_no, split_leading_verdict

__all__ = [
    "ClaimReport",
    "PolicyReport",
    "check_claims",
    "check_policy",
    "evidence_verdict",
    "negation_count",
    "numbers_in",
    "verdict_support",
]

_CITE = re.compile(r"\s?\[(\d{1,3})\]")
_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")
# Clauses end at commas, colons, sentence ends and brackets: a bracketed remark ("房屋(产权证
# 未办)") is a clause of its own, so a negation inside it is checked on its own. Citation
# markers ([1]) and placeholders ([PHONE_1]) are taken out before splitting.
_CLAUSE = re.compile(r"[，,、；;：:。！？!?\n（）()【】\[\]〔〕]+|\.(?=\s|$)")

# Negation: longer markers first so 不得 counts once; words that contain a negation
# character without negating (不仅 "not only", 无论 "whatever") are masked first.
# Words that contain 不/无/非/未/别 but do not negate the sentence (非常 "very", 不便
# "inconvenience", 无线 "wireless", 无门槛 "no minimum spend", 无理由退货 "no-reason returns").
_ZH_NOT_NEGATION = re.compile(
    r"不仅|不但|不论|不管|不久|不断|不少|不错|不便|无论|毫无疑问|不一定要|非常|无线|无门槛|无理由|无忧|"
    r"未来|特别|区别|分别|类别|级别|识别|别人|别的"
)
_ZH_NEGATION = re.compile(
    r"不得|不能|不可|不要|不用|不会|不准|不予|不允许|禁止|严禁|无法|无须|无需|没有|并非|不|没|未|勿|别|非|无"
)
_EN_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|nor|neither|without|none|nothing|prohibited|forbidden)\b|n't\b", re.I
)
# Numbers: digit runs, and Chinese numerals long enough (or followed by a unit) to be numbers
# rather than parts of words (一起, 统一).
_DIGIT_NUM = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_CN_NUM = re.compile(
    r"[零〇一二两三四五六七八九十百千万]{2,}|[二两三四五六七八九十百千万](?=[个天元次年月日号小时分钟周件位名人项条台])"
)
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
    parts = [p.strip() for p in _CLAUSE.split(_PLACEHOLDER.sub(" ", _CITE.sub(" ", text)))]
    return [p for p in parts if p]


def _overlap(tokens: set[str], other: set[str]) -> float:
    return len(tokens & other) / len(tokens) if tokens else 0.0


# --------------------------------------------------------------------------- yes/no verdicts
def _token_spans(tokens: set[str], text: str) -> list[tuple[int, int]]:
    """Where ``tokens`` (content tokens) first occur in ``text`` (lower-cased, NFKC)."""
    low = text.lower()
    out: list[tuple[int, int]] = []
    for tok in tokens:
        if tok.isascii():
            m = re.search(r"\b" + re.escape(tok), low)
            if m:
                out.append((m.start(), m.end()))
        else:
            i = low.find(tok)
            if i >= 0:
                out.append((i, i + len(tok)))
    return out


def _verdict_tokens(text: str) -> set[str]:
    """Content tokens with Chinese bigrams taken apart into characters: a restatement in
    other words (随原告生活 for 一直同原告一起生活) shares characters more than bigrams."""
    tokens = _content_tokens(text)
    return {t for t in tokens if t.isascii()} | {c for t in tokens if not t.isascii() for c in t}


def verdict_support(
    question: str | YesNoQuestion, sentence: str, *, min_overlap: float = 0.5
) -> tuple[str | None, float]:
    """A yes/no question's answer read from one evidence sentence, and how closely the
    sentence restates the question (0 when it gives no verdict).

    The sentence must restate at least ``min_overlap`` of the question's proposition and of
    its predicate (what is asked: the part after 是否/能否/…) within one clause or two
    adjacent ones. Then:

    * **no** when a negation stands in the predicate's scope (from a few characters before
      the restated predicate to its end) where the question has none, or the reverse
      ("原告是否再婚？" / "原告离婚后未再婚。"); or when the question names a number
      the restating clause does not hold while the clause states another ("月薪是否为2250元？"
      / "月薪1800元");
    * **yes** when the polarity agrees and the numbers match;
    * None (no verdict; never a guess) when no clause restates enough of the question.

    Example:
        >>> verdict_support("被告是否到庭？", "被告经传唤无正当理由未到庭。")[0]
        'no'
    """
    q = question if isinstance(question, YesNoQuestion) else parse_yes_no(question)
    if q is None:
        return None, 0.0
    tokens = _verdict_tokens
    prop = tokens(_nfkc(q.proposition))
    # Numbers are compared on their own (below): the words around them must match here.
    pred = {t for t in tokens(_nfkc(q.predicate)) if not t[:1].isdigit()} or prop
    sentence = _nfkc(_PLACEHOLDER.sub(" ", _CITE.sub(" ", sentence))).strip()
    if sentence.endswith("?"):  # a question (an FAQ's heading) states nothing
        return None, 0.0
    if not prop or _overlap(prop, tokens(sentence)) < min_overlap:
        return None, 0.0
    clauses = _clauses(sentence)
    windows = [*clauses, *(a + "，" + b for a, b in zip(clauses, clauses[1:], strict=False))]
    # The clause(s) restating the predicate; among equals, the one that names the subject
    # ("被告杨x4承担…责任，案外人胡x10不承担…责任" for 胡x10); single clauses before pairs.
    subject = tokens(_nfkc(q.proposition[: len(q.proposition) - len(q.predicate)]))
    best, rank, window = 0.0, -1.0, ""
    for w in windows:
        wt = tokens(w)
        o = _overlap(pred, wt)
        r = o + 0.5 * _overlap(subject, wt) if q.language == "zh" else o
        if r > rank + 1e-9:
            best, rank, window = o, r, w
    if best < min_overlap:
        return None, 0.0
    strength = _overlap(prop, tokens(sentence)) + best
    # Where the restated predicate starts (its first word, in the question's order) and ends.
    pred_text = _nfkc(q.predicate).lower()
    # Located by the words (bigrams) both share when there are any, else by characters.
    shared = _content_tokens(pred_text) & _content_tokens(window) or pred & tokens(window)
    located = sorted(shared, key=lambda t: (pred_text.find(t), t))
    spans = _token_spans(set(located[:1]), window)
    verb = spans[0][0] if spans else 0
    end = max((e for s, e in _token_spans(set(located), window) if s >= verb), default=len(window))
    # Numbers the question names must be the ones the evidence states.
    q_numbers = numbers_in(q.predicate)
    if q_numbers:
        if not numbers_in(window):
            return None, 0.0
        if any(not any(abs(v - e) < 1e-9 for e in numbers_in(window)) for v in q_numbers):
            return "no", strength
    mine = _negated(window, verb, end, zh=q.language == "zh")
    asked = negation_count(q.predicate if q.language == "zh" else q.proposition) % 2
    return ("no" if mine != asked else "yes"), strength


_COVERB = re.compile(
    r"^\s*(?:在|按|向|对|给|从|与|和|跟|为|于|将|把|被|就|及时|依|以|再|再次|能|能够|会|可|可以|应|予|曾|一直|完全|全部)"
)


def _negated(window: str, verb: int, end: int, *, zh: bool) -> int:
    """1 when the predicate at ``window[verb:end]`` is negated, else 0.

    Chinese negation stands right before what it negates (未到庭, 不得离开) or before a
    coverb phrase that leads to it (没有在…处设置); the nearest negation in the clause
    before the predicate counts when it is that close, not a negation further back in
    the clause (无正当理由未到庭 is one negation of 到庭). Negations inside the
    predicate count too. English: any negation from a few words before the predicate.
    """
    if not zh:
        return negation_count(window[max(0, verb - 25) : end]) % 2
    # In the predicate, or right after it as its result (调解未果, 办不成).
    inside = negation_count(window[verb:end]) + int(bool(re.match(r"[未不无没]", window[end : end + 1])))
    before = window[:verb]
    masked = _ZH_NOT_NEGATION.sub(lambda m: " " * len(m.group()), before)
    last = None
    for m in _ZH_NEGATION.finditer(masked):
        last = m
    near = 0
    if last is not None:
        gap = before[last.end() :]
        if not re.search(r"[，,；;]", gap) and (len(gap) <= 4 or _COVERB.match(gap)):
            near = 1
    return (inside + near) % 2


def evidence_verdict(question: str | YesNoQuestion, sentence: str, *, min_overlap: float = 0.5) -> str | None:
    """The verdict of :func:`verdict_support` alone.

    Example:
        >>> evidence_verdict("原告是否再婚？", "原告离婚后未再婚。"), evidence_verdict("Can I return it?", "You can return it within 7 days.")
        ('no', 'yes')
    """
    return verdict_support(question, sentence, min_overlap=min_overlap)[0]


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
    # A reply clause may restate an evidence clause together with its neighbour (a
    # bracketed remark: "房屋（产权证未办）"), and only the negations in the restated part
    # of an evidence clause count (无需 of "被告无需支付抚养费坐落于…一处房屋" is about the
    # support payment, not the house). Conservative on purpose: when the evidence says a
    # thing and its opposite about the same subject, a sentence that could restate either
    # is not supported.
    ev_texts = _clauses(evidence)
    ev_clause_tokens = [_content_tokens(c) for c in ev_texts]
    for clause in _clauses(sentence):
        ct = _content_tokens(clause)
        if len(ct) < 2 or not ev_texts:
            continue
        scored = [_overlap(ct, et) for et in ev_clause_tokens]
        best = max(scored)
        if best < 0.4:
            continue
        mine = negation_count(clause) % 2
        for i, o in enumerate(scored):
            if o >= best - 0.05 and _restated_negations(ct, ev_texts, ev_clause_tokens, i) % 2 != mine:
                return "negation_mismatch"
    return None


def _scoped_negations(tokens: set[str], clause: str) -> int:
    """Negations in the part of ``clause`` that restates ``tokens``: from a few characters
    (words) before the first shared token to just after the last one (调解未果)."""
    spans = _token_spans(tokens & _content_tokens(clause), clause)
    if not spans:
        return 0
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    back = 25 if clause[start : start + 1].isascii() else 4
    return negation_count(clause[max(0, start - back) : end + 1])


def _restated_negations(
    tokens: set[str], clauses: Sequence[str], clause_tokens: Sequence[set[str]], i: int
) -> int:
    """Negations of evidence clause ``i`` and of a neighbour that restates the rest of
    ``tokens`` (at least two of the tokens clause ``i`` lacks), each in its restated part."""
    total = _scoped_negations(tokens, clauses[i])
    rest = tokens - clause_tokens[i]
    for j in (i - 1, i + 1):
        if 0 <= j < len(clauses) and len(rest & clause_tokens[j]) >= 2:
            total += _scoped_negations(rest, clauses[j])
    return total


def _is_courtesy(sentence: str, style: Sequence[str]) -> bool:
    plain = _CITE.sub("", sentence).strip()
    if numbers_in(plain):
        return False
    if _COURTESY.match(plain):
        return True
    tokens = _content_tokens(plain)
    return any(_overlap(tokens, _content_tokens(line)) >= 0.8 for line in style if line.strip())


def check_claims(
    text: str,
    evidence: Mapping[int, str],
    *,
    style: Sequence[str] = (),
    min_support: float = 0.5,
    attribute: bool = True,
    question: str | None = None,
) -> ClaimReport:
    """Keep the sentences of ``text`` that their cited evidence supports.

    Args:
        text: The reply, with ``[n]`` citation markers.
        evidence: Evidence number -> its full text (a passage, or a sentence with its neighbours).
        style: The tenant's phrasebook lines (courtesy sentences that carry no claim).
        min_support: Share of a sentence's content tokens that must occur in its evidence.
        attribute: An uncited sentence supported by one evidence text gets its marker.
        question: The customer's question. When it asks yes or no, a verdict the reply
            leads with ("是的。", "不可以。", "No, …") is kept only when the claim that
            follows it (the first of the next three supported sentences that gives a
            verdict, :func:`evidence_verdict`) gives the same one; otherwise it is removed
            (``verdict_mismatch``, or ``verdict_unsupported`` when nothing after it says).

    Returns:
        The reply without unsupported sentences, how many claims are supported, what was
        removed and why (``claim_removed:<reason>`` flags).
    """
    out: list[str] = []
    removed: list[str] = []
    flags: list[str] = []
    used: list[int] = []
    supported = 0
    yes_no = parse_yes_no(question) if question else None
    verdicts: list[tuple[int, str, str]] = []  # (position in out, verdict, its text)
    claims: list[tuple[int, str]] = []  # (position in out, plain text) of supported claims
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        if yes_no is not None:
            verdict, lead, rest = split_leading_verdict(sentence)
            if verdict is not None:
                if not _content_tokens(_CITE.sub("", rest)) and not numbers_in(_CITE.sub("", rest)):
                    verdicts.append((len(out), verdict, sentence))
                    out.append(sentence)
                    continue
                verdicts.append((len(out), verdict, lead))  # "是的，…": checked against its own rest
                out.append(lead.rstrip())
                sentence = rest
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
            ranked = sorted(
                (n for n in evidence if n not in valid),
                key=lambda n: -_overlap(_content_tokens(plain), _content_tokens(_nfkc(evidence[n]))),
            )
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
        claims.append((len(out), _CITE.sub("", sentence).strip()))
        out.append(sentence)
    for pos, given, lead in verdicts:
        assert yes_no is not None
        after = [plain for at, plain in claims if at > pos][:3]
        said = next((v for v in (evidence_verdict(yes_no, p) for p in after) if v is not None), None)
        if said != given:
            out[pos] = ""
            removed.append(lead)
            flags.append("claim_removed:verdict_mismatch" if said else "claim_removed:verdict_unsupported")
    joined = _join(out, text)
    return ClaimReport(joined, supported, removed, _unique(flags), used)


def _join(sentences: Sequence[str], original: str) -> str:
    cjk = sum(1 for c in original if "\u4e00" <= c <= "\u9fff") > len(original) / 4
    return ("" if cjk else " ").join(s.strip() for s in sentences if s.strip()).strip()


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------- policy
_URL = re.compile(
    r"https?://[^\s\])>，。]+|www\.[^\s\])>，。]+|\b[a-z0-9-]+\.(?:com|cn|net|org|io|xyz|top|info|me|ly|co)\b(?:/[^\s\])>，。]*)?",
    re.I,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\- ]{5,}\d(?![\w.])")
_CODE = re.compile(
    r"\b(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+\b|\b(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{6,}\b"
)
_PAYMENT = re.compile(
    r"gift\s*cards?|prepaid\s*cards?|itunes|steam\s*cards?|google\s*play\s*cards?|bitcoin|btc\b|usdt|crypto\w*|"
    r"wire\s*transfer|western\s*union|moneygram|礼品卡|购物卡|充值卡|点卡|比特币|虚拟货币|加密货币|电汇|"
    r"processing\s*fee|handling\s*fee|service\s*fee|手续费|服务费|保证金|解冻费",
    re.I,
)
_HIGH_RISK = re.compile(
    r"gift\s*cards?|prepaid|itunes|steam|google\s*play|bitcoin|btc|usdt|crypto|wire|western|moneygram|"
    r"礼品卡|购物卡|充值卡|点卡|比特币|虚拟货币|加密货币|电汇|保证金|解冻费",
    re.I,
)


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
        if (
            not any(abs(a.value - v) < 1e-9 for v in [*ev_numbers, *ev_amounts])
            and _squash(s[a.start : a.end]) not in ev
        ):
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
