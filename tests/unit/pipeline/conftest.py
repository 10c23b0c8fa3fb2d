"""A small real stack: e5-small (or the FakeEmbedder: ``fake_stack``), the embedded Qdrant
engine, SQLite, a fake chat model."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.config import Settings
from assist.db import Database
from assist.embedders import make_embedder
from assist.llm.fake import FakeChatModel
from assist.pipeline import AssistPipeline
from assist.sparse import SparseEncoder
from assist.stores import make_vector_store
from kb_ingest.indexing import Indexer


@pytest.fixture(scope="session")
def e5(e5_dir):
    from tests.conftest import MODELS_DIR

    emb = make_embedder(Settings(_env_file=None, models_path=MODELS_DIR))
    emb.warm_up()
    return emb


@pytest.fixture
def stack(settings: Settings, e5):
    """(settings, db, store, indexer) on a fresh home, sharing the session's e5 model."""
    db = Database(settings.resolved_database_url)
    db.migrate()
    store = make_vector_store(settings, dim=e5.dim, model_id=e5.model_id)
    indexer = Indexer(settings=settings, db=db, store=store, embedder=e5, sparse=SparseEncoder(settings.sparse))
    return settings, db, store, indexer


@pytest.fixture
def fake_stack(settings: Settings):
    """``stack`` with the FakeEmbedder: for ingestion and publishing logic, where the
    vectors' meaning plays no part (no prepared model; the fast tier)."""
    from assist.embedders.fake import FakeEmbedder

    emb = FakeEmbedder(dim=384)
    db = Database(settings.resolved_database_url)
    db.migrate()
    store = make_vector_store(settings, dim=emb.dim, model_id=emb.model_id)
    indexer = Indexer(settings=settings, db=db, store=store, embedder=emb, sparse=SparseEncoder(settings.sparse))
    return settings, db, store, indexer


def make_pipeline(stack, llm: FakeChatModel) -> AssistPipeline:
    settings, db, store, indexer = stack
    return AssistPipeline.from_settings(settings, llm=llm, db=db, embedder=indexer.embedder, store=store)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


REFUND_EN = """---
id: sop-refund-en
type: sop
title: Refund procedure
language: en
status: published
effective_from: 2026-01-01
---
# Refund procedure

## Timing

Approved refunds reach the original payment method within 3-7 business days.

## Steps

1. Check the order number and the payment method.
2. Confirm the item was returned or cancelled.
3. Submit the refund in the order system and tell the customer the timing.

## Exceptions

Refunds above 2000 CNY need supervisor approval before they are submitted.
"""

FAQ_ZH = """question,alternatives,answer,product,category,tags
退款多久到账？,退款什么时候到|钱多久能退回来,审核通过后退款会在3-7个工作日内原路退回。,,refund_return,refund
耳机无法充电怎么办？,耳机充不进电,请清洁充电触点并使用原装线重新充电30分钟；仍无法充电请申请保修。,earbuds,repair_warranty,charging
"""
