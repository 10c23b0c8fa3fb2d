"""The retriever owns the tenant's known entities; the indexer's publish event, not route
code, tells it they changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.llm.fake import FakeChatModel
from tests.unit.pipeline.conftest import make_pipeline, write

pytestmark = pytest.mark.fast

ARTICLE = """---
id: {id}
type: faq
title: {product} battery
language: en
product: {product}
status: published
---
# {product} battery

The {product} battery lasts about ten hours on one charge.
"""


def article(root: Path, product: str) -> Path:
    aid = product.lower().replace(" ", "-")
    return write(root / f"{aid}.md", ARTICLE.format(id=aid, product=product))


async def test_a_publish_refreshes_the_retrievers_entities_at_once(fake_stack, tmp_path: Path) -> None:
    *_, ix = fake_stack
    await ix.ingest_paths([article(tmp_path / "a", "Nova Buds")], tenant="t", publish=True)
    pipe = make_pipeline(fake_stack, FakeChatModel())
    retriever = pipe.retriever
    ix.on_publish.append(retriever.invalidate_entities)  # what Indexer.from_runtime registers
    retriever.entity_ttl_s = 3600.0  # only the event may refresh it here

    before = retriever.entities("t")
    assert before is not None and before.resolve(["my nova buds are broken"]) == "Nova Buds"
    assert retriever.entities("t") is before  # cached

    await ix.ingest_paths([article(tmp_path / "b", "Nova Watch")], tenant="t", publish=True)
    after = retriever.entities("t")
    assert after is not before
    assert after is not None and after.resolve(["my nova watch is broken"]) == "Nova Watch"

    await ix.archive("t", "nova-watch")
    assert retriever.entities("t").resolve(["my nova watch is broken"]) is None  # type: ignore[union-attr]


async def test_a_failing_observer_does_not_fail_the_publish(fake_stack, tmp_path: Path) -> None:
    *_, ix = fake_stack

    def broken(tenant: str) -> None:
        raise RuntimeError("observer bug")

    ix.on_publish.append(broken)
    report = await ix.ingest_paths([article(tmp_path, "Nova Pad")], tenant="t", publish=True)
    assert not report.errors and report.articles == 1
