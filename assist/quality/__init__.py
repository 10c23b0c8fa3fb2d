"""A per-tenant quality rubric for agent replies (drafted or human), Chinese and English.

    rubric.py    the schema, load_rubric (FILE:LINE errors), the default rubric (a resource file)
    checks.py    one pure function per check
    checker.py   QualityChecker: runs the rubric's checks on a reply and scores the findings

The rubric is a YAML file (``examples/tenants/<tenant>/rubric.yaml``) loaded into
:class:`Rubric`; what a listed check leaves out comes from the default rubric
(``assist/resources/tenant_defaults/rubric.yaml``), which is also the rubric of a tenant
without one. :class:`QualityChecker` applies it to one reply and returns a
:class:`assist.types.QAReport` with itemised findings, each with a character span into
the reply where there is something to point at. The tenant's profile
(:mod:`assist.profile`) adds its phrasebook (accepted as greeting, closing and apology, and
suggested in the findings) and its forbidden words.

Checks (each optional in the file; a missing check is not run):

``greeting``
    A greeting pattern is present. ``when: first_reply`` (default) checks only the
    first agent reply of a conversation (no earlier agent/bot turn); with no
    conversation given it is skipped, because we cannot tell. ``when: always``.
``closing``
    A closing pattern is present. ``when: ending`` (default) checks only when the
    customer's last turn signals the end (``ending_cues``: 谢谢/没有了/that's all...), so
    mid-conversation replies are not asked to say goodbye; ``when: always``.
``empathy``
    When the customer is upset (the lowest :class:`SentimentAnalyzer` score over the last
    ``lookback_turns`` customer turns is at most ``negative_at``), the reply apologises
    or soothes.
``forbidden_words``
    Each forbidden phrase (zh + en, case-insensitive, English on word boundaries) is a
    finding at its span.
``pii_exposure``
    Full phone, ID, card, e-mail (and, best effort, address, or a tenant kind) found by
    the tenant's :class:`PiiMasker` in the reply is a finding (critical by default); masked
    forms such as ``138****1234`` are not numbers and do not match, and data quoted
    verbatim from the cited knowledge (the repair centre's address) is the company's.
``promises``
    Money amounts and durations are extracted with :mod:`assist.text` (``赔偿您500元``,
    ``3天内到账``, ``refund you $500``, ``within 2 days``). An amount in a compensation
    sentence above ``max_compensation``, or a refund above ``max_refund``, is an over-limit
    finding (needs approval, even when cited). Other compensation amounts must be in
    ``allowed_amounts`` or in the cited text. A promised duration (``内``/``within`` or a
    promise word in its sentence) must match ``allowed_durations`` or have its numbers
    in the cited text.
``grounding``
    Only when ``cited_texts`` is given. For each sentence with citation markers ``[n]``,
    the share of its content tokens (English words without stop words; Chinese
    character bigrams) found in the cited chunks must reach ``min_overlap``; a marker
    with no cited text is a finding. Every number in the reply must appear in some
    cited text or in the conversation (numbers the customer gave are known), unless
    another check already flagged it.

Scoring: each finding deducts its check's ``weight`` (``info`` findings deduct nothing),
at most ``max_deduction`` per check (default: the weight, so a check fails once);
``score = max(0, 100 - deductions)``; ``passed`` = no critical finding and
``score >= pass_score``.

Example:
    >>> rubric = load_rubric("examples/tenants/nova/rubric.yaml")  # doctest: +SKIP
    >>> qa = QualityChecker(rubric)                                 # doctest: +SKIP
    >>> qa.check("这是规定，我也没办法。").passed                     # doctest: +SKIP
    False
"""

from __future__ import annotations

from assist.quality.checker import QualityChecker
from assist.quality.rubric import Rubric, default_rubric, load_rubric, with_defaults
from assist.text import Amount, Duration, extract_amounts, extract_durations, sentence_spans, support_overlap

__all__ = [
    "Amount",
    "Duration",
    "QualityChecker",
    "Rubric",
    "default_rubric",
    "extract_amounts",
    "extract_durations",
    "load_rubric",
    "sentence_spans",
    "support_overlap",
    "with_defaults",
]
