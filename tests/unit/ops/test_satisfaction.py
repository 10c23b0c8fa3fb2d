"""Satisfaction: the transparent score and its reasons; the STC-3 evaluation's metric and a
smoke run (the full figures are in docs/quality.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assist.ops.satisfaction import Facts, count_repeats, predict
from eval.satisfaction import evaluate, nmd

pytestmark = pytest.mark.fast
STC3 = Path(__file__).resolve().parents[4] / "shared" / "data" / "zh_stc3_dialogues"


def test_transparent_score_and_reasons() -> None:
    good = predict(Facts(last_sentiment=0.6, resolved=True, first_response_ok=True))
    bad = predict(Facts(last_sentiment=-0.7, trend="worsening", resolved=False, complaint=True, upset=True,
                        first_response_ok=False, repeats=2))
    assert 1 <= bad.score < 3 < 4 < good.score <= 5
    assert bad.reasons[0]["effect"] < 0 and {r["reason"] for r in bad.reasons} >= {"complaint", "unresolved",
                                                                                   "no_apology_when_upset"}
    assert count_repeats(["订单还没到！", "订单还没到!", "谢谢"]) == 1


def test_nmd() -> None:
    p = np.array([0, 0, 1.0, 0, 0])
    assert nmd(p, p) == 0
    assert nmd(np.array([1.0, 0, 0, 0, 0]), np.array([0, 0, 0, 0, 1.0])) == 1.0


@pytest.mark.skipif(not STC3.exists(), reason="../shared/data/zh_stc3_dialogues is not on this machine")
def test_stc3_smoke() -> None:
    out = evaluate(STC3, folds=3, limit=600)
    assert {"dataset", "dialogues", "spearman", "mae", "nmd"} <= set(out) and out["dialogues"] == 600
    assert out["spearman"] > out["baselines"]["lexicon"]["spearman"] > out["baselines"]["trivial"]["spearman"]
    assert out["nmd"] < out["baselines"]["trivial"]["nmd"]
