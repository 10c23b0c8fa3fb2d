"""Topics: c-TF-IDF names, week-over-week rising flags, clustering with a (fake) embedder."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import numpy as np
import pytest

from assist.embedders.fake import FakeEmbedder
from assist.ops.service import OpsService
from assist.ops.topics import TopicModel, ctfidf_names, tokenize

from .conftest import conv

pytestmark = pytest.mark.fast


def test_tokenize_and_names() -> None:
    assert "[PHONE_1]" not in " ".join(tokenize("我的手机[PHONE_1]电池掉电很快 battery drains"))
    names = ctfidf_names([["手表电池掉电很快", "升级以后电池掉电"], ["发票抬头怎么填", "公司发票怎么开"],
                          ["My parcel was never delivered", "parcel delivered to the wrong address"]])
    assert "电池" in names[0] and "发票" in names[1] and "parcel" in names[2]


def test_rising_topic_flagged() -> None:
    convs, labels = [], []
    start = date(2026, 11, 2)
    for week, (n0, n1, c1) in enumerate([(20, 10, 0), (20, 40, 20)]):
        for i in range(n0 + n1):
            d = start + timedelta(days=7 * week + i % 7)
            topic = 0 if i < n0 else 1
            convs.append({"week": start + timedelta(days=7 * week), "day": d,
                          "complaint": int(topic == 1 and i - n0 < c1)})
            labels.append(topic)
    out = TopicModel(FakeEmbedder(dim=8)).describe(convs, ["x"] * len(convs), np.array(labels))
    by_id = {t["id"]: t for t in out["topics"]}
    assert not by_id[0]["rising"] and by_id[1]["rising"]
    assert any("complaint share" in r for r in by_id[1]["rising_weeks"][0]["reasons"])


def test_fit_tenant_stores_topics(ops: OpsService) -> None:
    ops.import_records("nova", [(i, conv(f"t{i}", complaint=i % 3 == 0), None) for i in range(12)])
    out = asyncio.run(TopicModel(FakeEmbedder(dim=16)).fit_tenant(ops, "nova", k=3))
    assert out["conversations"] == 12 and sum(t["size"] for t in out["topics"]) == 12
    assert ops.conversation("nova", "t1")["topic"] is not None
