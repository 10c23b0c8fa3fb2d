"""CheckedStream: a streamed draft is released sentence by sentence, already checked."""

from __future__ import annotations

import pytest

from assist.drafting import Passage
from assist.streaming import CheckedStream

pytestmark = pytest.mark.fast

PASSAGES = [
    Passage(1, "Refunds", "Timing", "Approved refunds reach the original payment method within 3-7 business days.",
            None),  # type: ignore[arg-type]
    Passage(2, "退款", "时效", "审核通过后退款会在3-7个工作日内原路退回。", None),  # type: ignore[arg-type]
]


def run(raw: str, size: int) -> tuple[list[str], CheckedStream]:
    s = CheckedStream(PASSAGES)
    out = [s.feed(raw[i:i + size]) for i in range(0, len(raw), size)]
    out.append(s.close())
    return [o for o in out if o], s


@pytest.mark.parametrize("raw", [
    "  Refunds take 3-7 business days [1][7]. Please keep the receipt [9].  \n",
    "退款会在3-7个工作日内原路退回[2][5]。请保留凭证！！谢谢。",
    "The fee is 3.5 dollars [1]. Approved refunds reach the original payment method within 3-7 business days.",
    "First line [1]\n\nSecond line [4]\n",
])
@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_deltas_join_to_the_final_text_whatever_the_chunking(raw: str, size: int) -> None:
    deltas, s = run(raw, size)
    _, whole = run(raw, len(raw))
    assert "".join(deltas) == s.text == whole.text
    assert s.invalid == whole.invalid and s.used() == whole.used()
    assert s.text == s.text.strip()
    for n in s.invalid:  # a dropped citation never reaches the client, not even for a moment
        assert all(f"[{n}]" not in d for d in deltas)


def test_invalid_citations_dropped_and_uncited_sentences_attributed() -> None:
    deltas, s = run("Refunds take a while [7]. Approved refunds reach the original payment method within "
                    "3-7 business days.", 5)
    assert s.invalid == [7] and "[7]" not in s.text
    assert s.text.endswith("within 3-7 business days [1].")
    assert s.used() == [1] and "citations_attributed" in s.flags()


def test_an_unfinished_sentence_is_held_back() -> None:
    s = CheckedStream(PASSAGES)
    assert s.feed("It costs 3.") == ""       # "3." may be "3.5"
    assert s.feed("5 dollars [1]. And") == "It costs 3.5 dollars [1]."
    assert s.feed(" more") == ""
    assert s.close() == " And more"


def test_placeholders_stay_whole_in_a_delta() -> None:
    deltas, s = run("We will call you at [PHONE_1] today [1]. Bye.", 2)
    assert any("[PHONE_1]" in d for d in deltas)
