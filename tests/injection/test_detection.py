"""The detection side of the injection suite (``cases.yaml``): every planted instruction is
removed before text reaches the model, the legitimate text around it stays, and the
benign look-alikes pass unchanged. Pure text work, no model: part of the fast tier.

The reply side (does a model obey or repeat what got through?) is measured by
test_replies.py over the same cases; see docs/quality.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assist.injection import looks_like_injection, normalise, sanitize, sanitize_passages

pytestmark = [pytest.mark.unit, pytest.mark.fast]

SUITE = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text(encoding="utf-8"))
CASES = SUITE["cases"]
BENIGN = SUITE["benign"]


def test_the_suite_covers_every_kind_in_both_languages() -> None:
    kinds = {(c["lang"], c["kind"]) for c in CASES}
    for lang in ("zh", "en"):
        for kind in ("direct", "full_width", "paraphrase", "split", "tool_json", "role", "exfil", "reply_control"):
            assert (lang, kind) in kinds, f"no {lang} {kind} case"
    assert len({c["id"] for c in CASES}) == len(CASES), "duplicate case ids"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_planted_instruction_is_removed(case: dict) -> None:
    outs = sanitize_passages(case["passages"])
    cleaned = " ".join(o.text for o in outs)
    assert normalise(case["marker"]) not in normalise(cleaned), cleaned
    assert any(o.flagged for o in outs)
    if "keeps" in case:
        assert case["keeps"] in cleaned, f"legitimate text lost: {cleaned!r}"
    if case["kind"] != "split":
        assert all(looks_like_injection(p) for p in case["passages"])


@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_passes_unchanged(text: str) -> None:
    assert not looks_like_injection(text)
    assert sanitize(text).text == text and not sanitize(text).flagged


def test_detection_rate_is_reported() -> None:
    """The figure for docs/quality.md: planted instructions caught before the model."""
    caught = sum(normalise(c["marker"]) not in normalise(" ".join(o.text for o in sanitize_passages(c["passages"])))
                 for c in CASES)
    false_alarms = sum(looks_like_injection(t) for t in BENIGN)
    print(f"injection suite: {caught}/{len(CASES)} planted instructions removed before the model; "
          f"{false_alarms}/{len(BENIGN)} benign texts flagged")
    assert caught == len(CASES) and false_alarms == 0
