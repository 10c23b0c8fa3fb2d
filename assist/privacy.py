"""Personal-data masking for Chinese and English customer-service text.

Customer messages go to a language model and into logs; personal data must not. The
:class:`PiiMasker` replaces personal data with typed, numbered placeholders
(``[PHONE_1]``, ``[ID_1]``, ``[CARD_1]``, ``[EMAIL_1]``, ``[ORDER_1]``, ``[ADDR_1]``) and
returns the mapping needed to put the originals back into the model's reply.

What is detected, and how a false positive is avoided:

* Chinese mobile numbers (``1[3-9]x`` + 8 digits, optional ``+86``/``0086``, spaces or
  dashes), validated with ``phonenumbers`` (offline metadata), so ``1381234567``
  (10 digits) or ``12012345678`` (no such prefix) stay as they are.
* Chinese landlines (``0xx-xxxxxxx(x)``), validated with ``phonenumbers``; ``400``/``800``
  service numbers are company numbers, not personal data, and are left alone.
* 18-digit resident identity numbers, checksum and birth date checked with
  ``stdnum.cn.ric``.
* Bank card numbers of 16 to 19 digits (groups of 4 allowed), Luhn-checked with
  ``stdnum.luhn``.
* E-mail addresses.
* International phone numbers, found by ``phonenumbers.PhoneNumberMatcher`` with
  leniency VALID (a number must be valid for its region) and written like a phone
  number (``+``/``00`` prefix or separators; a bare digit run is too ambiguous).
* Tenant patterns (``[KIND_n]``): a tenant's own identifiers, such as order or account
  numbers, from its profile (``pii_patterns`` in ``profile.yaml``, see
  :mod:`assist.profile`); the core itself has none. ``TenantRegistry.masker(tenant)``
  keeps one masker per tenant.
* Addresses, best effort: Chinese ``省/市/区/县`` + ``路/街/大道/巷`` + ``号`` (+ ``栋/单元/室``),
  English ``number + capitalised street name + St/Road/Ave...``.

Example:
    >>> m = PiiMasker()
    >>> r = m.mask("我的手机是138 1234 5678，邮箱 li.lei@example.com")
    >>> r.text
    '我的手机是[PHONE_1]，邮箱 [EMAIL_1]'
    >>> m.unmask("已记录 [PHONE_1]", r.mapping)
    '已记录 138 1234 5678'
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric

__all__ = [
    "DEFAULT_PATTERNS",
    "Entity",
    "MaskResult",
    "PiiLogFilter",
    "PiiMasker",
    "redact_for_log",
]

DEFAULT_PATTERNS: dict[str, str] = {}
"""Tenant patterns of a masker built without any: none. Identifier formats belong to a
tenant (its ``profile.yaml``), never to the core."""

# Numbers must not be glued to other letters or digits: "AB13812345678" is some kind of
# reference, not a phone number, and a digit run inside a longer run is not a number at all.
_NB = r"(?<![0-9A-Za-z])"
_NA = r"(?![0-9A-Za-z])"

# ASCII boundaries, not \w: in Python \w matches CJK, and "邮箱li@x.com" has no space.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_CN_MOBILE = re.compile(_NB + r"(?:(?:\+|00)86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}" + _NA)
_CN_LANDLINE = re.compile(_NB + r"(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s-]?)\d{7,8}(?:-\d{1,5})?" + _NA)
_RIC = re.compile(_NB + r"\d{17}[\dXx]" + _NA)
_CARD = re.compile(_NB + r"\d{4}(?:[ -]?\d){12,15}" + _NA)

# Address fragments. A prefix character class that excludes the words a sentence usually
# puts before an address ("地址是", "寄到"), so the match does not swallow them.
_ZH_NAME = r"(?:(?![是在的到址寄送往给我你您请和及从为于回至向发邮住:：,，。\s])[\u4e00-\u9fff])"
# Province-level names: where one occurs near the start of a match, the address starts there
# ("寄回上海市..." must not take "回").
_ZH_PROVINCES = re.compile(
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|"
    "海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
_ZH_ADDR = re.compile(
    rf"(?:{_ZH_NAME}{{2,5}}(?:省|自治区))?"
    rf"(?:{_ZH_NAME}{{2,5}}市)?"
    rf"(?:{_ZH_NAME}{{1,5}}(?:区|县|镇))?"
    rf"(?:{_ZH_NAME}|\d){{1,10}}(?:路|街|大道|大街|巷|胡同|弄)"
    r"\d{1,5}(?:-\d{1,5})?号"
    r"(?:[\dA-Za-z一二三四五六七八九十]{1,4}(?:号楼|栋|幢|座))?"
    r"(?:\d{1,3}单元)?"
    r"(?:\d{1,4}(?:室|房|号))?"
)
_EN_STREET = r"(?:St|Street|Rd|Road|Ave|Avenue|Blvd|Boulevard|Dr|Drive|Ln|Lane|Way|Ct|Court|Pl|Place|Terrace|Hwy|Highway)"
_EN_ADDR = re.compile(
    rf"\b\d{{1,6}}\s+(?:[A-Z][A-Za-z'-]*\s+){{1,4}}{_EN_STREET}\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Unit|#)\.?\s*[\w-]+)?"
    r"(?:,\s*[A-Z][A-Za-z]+(?:\s[A-Z][A-Za-z]+){0,2})?"
    r"(?:,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"
)

# Placeholders as a model may give them back: case changed, spaces added, full-width or
# lenticular brackets (common in Chinese output), or with "-"/" " instead of "_".
_PLACEHOLDER_IN = re.compile(r"[\[［【]\s*([A-Za-z]+)[ _\-－＿]?(\d+)\s*[\]］】]")
_PLACEHOLDER_KEY = re.compile(r"^\[([A-Z]+)_(\d+)\]$")


@dataclass(frozen=True)
class Entity:
    """A detected piece of personal data: its kind and its character span in the input.

    The original value is deliberately not stored here, so entities are safe to log.
    """

    kind: str
    start: int
    end: int


@dataclass
class MaskResult:
    """The masked text, the placeholder -> original mapping, and what was found.

    Attributes:
        text: The input with personal data replaced by placeholders.
        mapping: Placeholder (``"[PHONE_1]"``) -> original value. Keep it server-side; never log it.
        entities: What was detected, with spans into the *original* text.
    """

    text: str
    mapping: dict[str, str] = field(default_factory=dict)
    entities: list[Entity] = field(default_factory=list)

    def __repr__(self) -> str:  # the mapping holds originals; keep them out of reprs and tracebacks
        return f"MaskResult(text={self.text!r}, mapping=<{len(self.mapping)} hidden>, entities={self.entities!r})"


def _fold_char(ch: str) -> str:
    """One character as the detectors read it: NFKC (full-width ``１５９`` -> ``159``,
    ``＠`` -> ``@``, ``Ａ`` -> ``A``), then any other decimal digit (Arabic-Indic, Devanagari,
    mathematical...) as its ASCII digit."""
    n = unicodedata.normalize("NFKC", ch)
    if len(n) == 1 and n.isdecimal() and not n.isascii():
        return str(unicodedata.decimal(n))
    return n


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded for detection, and for each folded character the index of the
    original character it came from (None when nothing changed: the common, ASCII case).

    Example:
        >>> fold("电话１５９")[0]
        '电话159'
    """
    if text.isascii():
        return text, None
    out: list[str] = []
    where: list[int] = []
    changed = False
    for i, ch in enumerate(text):
        f = ch if ch < "\u00a0" else _fold_char(ch)
        if f != ch:
            changed = True
        out.append(f)
        where.extend([i] * len(f))
    return ("".join(out), where) if changed else (text, None)


def _digits(s: str) -> str:
    return "".join(_fold_char(ch) for ch in s if ch.isdigit())


def _normalise(kind: str, value: str) -> str:
    """The identity of a value, so "138 1234 5678" and "13812345678" share one placeholder."""
    if kind in {"PHONE", "CARD"}:
        d = _digits(value)
        if kind == "PHONE" and len(d) > 11 and d.startswith(("86", "0086")) and d[-11] == "1":
            d = d[-11:]
        return d
    if kind == "ID":
        return fold(value)[0].upper()
    if kind == "EMAIL":
        return fold(value)[0].lower()
    return re.sub(r"\s+", " ", value.strip())


class PiiMasker:
    """Detects personal data and replaces it with reversible, typed placeholders.

    Args:
        extra_patterns: Tenant patterns as ``{KIND: regex}``; a match becomes ``[KIND_n]``.
            Default: none (:data:`DEFAULT_PATTERNS`); a tenant's come from its profile.
        default_region: Region used to read international numbers written without a
            ``+`` country code (``"US"``: ``(415) 555-2671``).
        detect_addresses: Addresses are best effort; turn them off where false positives hurt.

    Example:
        >>> masker = PiiMasker(extra_patterns={"ORDER": r"NV\\d{12}", "TICKET": r"TK-\\d{6}"})
        >>> turns = masker.mask_many(["电话13812345678", "还是13812345678，订单NV202411220001"])
        >>> [t.text for t in turns]
        ['电话[PHONE_1]', '还是[PHONE_1]，订单[ORDER_1]']
    """

    def __init__(
        self,
        extra_patterns: Mapping[str, str] | None = None,
        *,
        default_region: str = "US",
        detect_addresses: bool = True,
    ) -> None:
        patterns = DEFAULT_PATTERNS if extra_patterns is None else extra_patterns
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for kind, rx in patterns.items():
            # Letters only: placeholders are read back as [LETTERS_n] (unmask).
            if not re.fullmatch(r"[A-Z]+", kind):
                from assist.errors import ConfigError

                raise ConfigError(f"PII pattern kind {kind!r} must be upper-case letters, e.g. 'ORDER'")
            try:
                compiled = re.compile(_NB + "(?:" + rx + ")" + _NA)
            except re.error as e:
                from assist.errors import ConfigError

                raise ConfigError(f"PII pattern {kind}: invalid regular expression {rx!r}: {e}") from e
            self._patterns.append((kind, compiled))
        self.default_region = default_region
        self.detect_addresses = detect_addresses

    # ------------------------------------------------------------------ detection
    def detect(self, text: str) -> list[Entity]:
        """Return the personal data in ``text``, sorted by position, without overlaps.

        Detection reads the text folded (NFKC, other Unicode digits as ASCII: see
        :func:`fold`), so ``１５９２２２２３３３３`` is the phone it looks like; the spans
        returned are into ``text`` itself.
        """
        folded, where = fold(text)
        found = self._detect(folded)
        if where is None:
            return found
        return [Entity(e.kind, where[e.start], where[e.end - 1] + 1) for e in found if e.end > e.start]

    def _detect(self, text: str) -> list[Entity]:
        """Detection on already folded text (see :meth:`detect`).

        Detectors run from the most to the least specific; a later detector never
        claims characters an earlier one took (an e-mail's digits are not a phone).
        """
        taken: list[Entity] = []

        def free(start: int, end: int) -> bool:
            return all(end <= e.start or start >= e.end for e in taken)

        def claim(kind: str, start: int, end: int) -> None:
            if start < end and free(start, end):
                taken.append(Entity(kind, start, end))

        for m in _EMAIL.finditer(text):
            claim("EMAIL", m.start(), m.end())
        for kind, rx in self._patterns:
            for m in rx.finditer(text):
                claim(kind, m.start(), m.end())
        for m in _RIC.finditer(text):
            if ric.is_valid(m.group()):
                claim("ID", m.start(), m.end())
        for m in _CARD.finditer(text):
            digits = _digits(m.group())
            if 16 <= len(digits) <= 19 and luhn.is_valid(digits):
                claim("CARD", m.start(), m.end())
        for m in _CN_MOBILE.finditer(text):
            if self._valid_cn(m.group(), mobile=True):
                claim("PHONE", m.start(), m.end())
        for m in _CN_LANDLINE.finditer(text):
            if self._valid_cn(m.group(), mobile=False):
                claim("PHONE", m.start(), m.end())
        if any(ch.isdigit() for ch in text):
            for pm in phonenumbers.PhoneNumberMatcher(
                text, self.default_region, leniency=phonenumbers.Leniency.VALID
            ):
                if self._plausible_international(pm.raw_string):
                    claim("PHONE", pm.start, pm.end)
        if self.detect_addresses:
            for m in _ZH_ADDR.finditer(text):
                start = m.start()
                p = _ZH_PROVINCES.search(text, start, min(m.end(), start + 6))
                claim("ADDR", p.start() if p else start, m.end())
            for m in _EN_ADDR.finditer(text):
                claim("ADDR", m.start(), m.end())
        return sorted(taken, key=lambda e: e.start)

    @staticmethod
    def _plausible_international(raw: str) -> bool:
        """Accept a matcher hit only if it is written like a phone number.

        A bare digit run is ambiguous in Chinese text: read with region US, the invalid
        Chinese mobile ``12012345678`` is the valid NANP number 1-201-234-5678, and amounts
        or order numbers can look alike. So a ``+``/``00`` prefix or phone formatting
        (spaces, dashes, dots, parentheses) is required; bare runs are left alone.
        """
        raw = raw.strip()
        return raw.startswith(("+", "00")) or any(ch in raw for ch in " -.()")

    @staticmethod
    def _valid_cn(raw: str, *, mobile: bool) -> bool:
        digits = _digits(raw)
        if mobile:
            national = digits[-11:]
            if len(national) != 11:
                return False
            text = "+86" + national
        else:
            # strip an extension ("010-12345678-123") before validating
            text = re.sub(r"-\d{1,5}$", "", raw.strip()) if raw.count("-") >= 2 else raw
        try:
            num = phonenumbers.parse(text, "CN")
        except phonenumbers.NumberParseException:
            return False
        if not phonenumbers.is_valid_number(num):
            return False
        kind = phonenumbers.number_type(num)
        if mobile:
            return kind in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            )
        # 400/800 numbers are company hotlines (TOLL_FREE / SHARED_COST), not personal data
        return kind in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )

    # ------------------------------------------------------------------ masking
    def mask(self, text: str, mapping: dict[str, str] | None = None) -> MaskResult:
        """Replace personal data with placeholders.

        Args:
            text: Any text.
            mapping: An existing placeholder mapping to reuse and extend (a conversation's);
                the same value always gets the same placeholder. It is updated in place.

        Returns:
            A :class:`MaskResult`; its ``mapping`` is ``mapping`` itself when one was given.
        """
        mapping = {} if mapping is None else mapping
        index: dict[tuple[str, str], str] = {}
        counters: dict[str, int] = {}
        for ph, original in mapping.items():
            m = _PLACEHOLDER_KEY.match(ph)
            if m:
                kind, n = m.group(1), int(m.group(2))
                index.setdefault((kind, _normalise(kind, original)), ph)
                counters[kind] = max(counters.get(kind, 0), n)

        entities = self.detect(text)
        out: list[str] = []
        pos = 0
        for e in entities:
            original = text[e.start : e.end]
            key = (e.kind, _normalise(e.kind, original))
            existing = index.get(key)
            if existing is None:
                counters[e.kind] = counters.get(e.kind, 0) + 1
                ph = f"[{e.kind}_{counters[e.kind]}]"
                index[key] = ph
                mapping[ph] = original
            else:
                ph = existing
            out.append(text[pos : e.start])
            out.append(ph)
            pos = e.end
        out.append(text[pos:])
        return MaskResult(text="".join(out), mapping=mapping, entities=entities)

    def mask_many(self, texts: Iterable[str], mapping: dict[str, str] | None = None) -> list[MaskResult]:
        """Mask the turns of one conversation with one shared mapping.

        Every result's ``mapping`` is the same dict, holding the placeholders of all turns.
        """
        shared: dict[str, str] = {} if mapping is None else mapping
        return [self.mask(t, shared) for t in texts]

    @staticmethod
    def unmask(text: str, mapping: Mapping[str, str]) -> str:
        """Put the originals back. Tolerates what a model does to placeholders.

        A placeholder may be repeated, reordered, lower-cased, spaced (``[ PHONE 1 ]``) or
        written with full-width/lenticular brackets (``【PHONE_1】``). Unknown placeholders
        (a model inventing ``[PHONE_9]``) are left as they are, so a reviewer sees them.
        """
        if not mapping:
            return text

        def repl(m: re.Match[str]) -> str:
            key = f"[{m.group(1).upper()}_{int(m.group(2))}]"
            return mapping.get(key, m.group(0))

        return _PLACEHOLDER_IN.sub(repl, text)

    def redact(self, text: str) -> str:
        """Mask ``text`` and drop the mapping: for logs and analytics, never reversible."""
        return self.mask(text).text


_DEFAULT_MASKER: PiiMasker | None = None


def redact_for_log(text: str, masker: PiiMasker | None = None) -> str:
    """Return ``text`` with personal data replaced by placeholders and no mapping kept.

    Example:
        >>> redact_for_log("call 13812345678")
        'call [PHONE_1]'
    """
    global _DEFAULT_MASKER
    if masker is None:
        if _DEFAULT_MASKER is None:
            _DEFAULT_MASKER = PiiMasker()
        masker = _DEFAULT_MASKER
    return masker.redact(text)


class PiiLogFilter(logging.Filter):
    """A logging filter that masks personal data in every record it sees.

    The message is formatted with its args first (a number passed as an arg is masked
    too), then the record's ``msg`` is replaced and ``args`` cleared; exception text is
    masked as well. Install it on **handlers**: a filter on a logger does not see records
    propagated from child loggers.

    Args:
        masker: The masker to use (default: the generic detectors, no tenant patterns).

    Example:
        >>> handler = logging.StreamHandler()
        >>> handler.addFilter(PiiLogFilter())
        >>> logging.getLogger().addHandler(handler)
    """

    def __init__(self, masker: PiiMasker | None = None, name: str = "") -> None:
        super().__init__(name)
        self.masker = masker or PiiMasker()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not leak the raw args either
            message = f"{record.msg} {record.args!r}"
        record.msg = self.masker.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.masker.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.masker.redact(record.stack_info)
        return True


def _kinds(entities: Iterable[Entity]) -> dict[str, int]:
    """Count entities per kind (for metrics that must not carry values)."""
    counts: dict[str, int] = {}
    for e in entities:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    return counts


def summarize(result: MaskResult) -> dict[str, Any]:
    """A log-safe summary of a masking result: counts per kind, no values."""
    return {"entities": _kinds(result.entities), "placeholders": len(result.mapping)}
