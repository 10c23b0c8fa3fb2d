"""Ingestion: idempotent, incremental, atomic switch, crash safety, bad input.

Bookkeeping only: the FakeEmbedder stands in for e5 (``fake_stack``); searches select by
filter, not by meaning."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from assist.db import ArticleRepository
from assist.errors import NotFoundError
from assist.types import SearchFilter
from tests.unit.pipeline.conftest import FAQ_ZH, REFUND_EN, write


@pytest.fixture
def stack(fake_stack):
    return fake_stack


async def _live_texts(stack, query: str, tenant: str = "t") -> list[str]:
    settings, db, store, ix = stack
    qv = await ix.embedder.embed_query(query)
    hits = await store.search(dense=qv, sparse=None, filters=SearchFilter(tenant=tenant), top_k=20)
    return [h.chunk.text for h in hits]


async def test_reingest_unchanged_embeds_nothing(stack, tmp_path: Path) -> None:
    *_, ix = stack
    write(tmp_path / "kb" / "refund.md", REFUND_EN)
    write(tmp_path / "kb" / "faq.csv", FAQ_ZH)
    first = await ix.ingest_paths([tmp_path / "kb"], tenant="t", publish=True)
    assert first.errors == [] and first.files == 2 and first.articles == 3
    assert first.chunks_embedded == first.chunks_total > 0
    second = await ix.ingest_paths([tmp_path / "kb"], tenant="t", publish=True)
    assert second.chunks_embedded == 0
    assert second.chunks_skipped == first.chunks_total
    assert second.chunks_deleted == 0


async def test_changed_article_reembeds_only_changed_chunks_and_drops_stale(stack, tmp_path: Path) -> None:
    settings, db, store, ix = stack
    f = write(tmp_path / "refund.md", REFUND_EN)
    r1 = await ix.ingest_paths([f], tenant="t", publish=True)
    before = await store.ids_for_article("t", "sop-refund-en")
    write(f, REFUND_EN.replace("3-7 business days", "5-10 business days"))
    r2 = await ix.ingest_paths([f], tenant="t", publish=True)
    after = await store.ids_for_article("t", "sop-refund-en")
    assert 1 <= r2.chunks_embedded < r1.chunks_embedded
    assert r2.chunks_deleted == len(before - after) >= 1
    art = ArticleRepository(db).get_article("t", "sop-refund-en")
    assert art.live_revision == 2
    texts = " ".join(await _live_texts(stack, "refund timing business days"))
    assert "5-10 business days" in texts and "3-7 business days" not in texts


async def test_draft_revision_is_staged_not_served_until_published(stack, tmp_path: Path) -> None:
    settings, db, store, ix = stack
    f = write(tmp_path / "refund.md", REFUND_EN)
    await ix.ingest_paths([f], tenant="t", publish=True)
    write(f, REFUND_EN.replace("status: published", "status: draft").replace("3-7 business", "1-2 business"))
    report = await ix.ingest_paths([f], tenant="t")  # a new draft revision: embedded, staged
    assert report.chunks_embedded >= 1
    texts = " ".join(await _live_texts(stack, "refund timing business days"))
    assert "3-7 business days" in texts and "1-2 business days" not in texts
    await ix.publish("t", "sop-refund-en", 2)
    texts = " ".join(await _live_texts(stack, "refund timing business days"))
    assert "1-2 business days" in texts and "3-7 business days" not in texts


async def test_killed_ingest_keeps_previous_revision_serving(stack, tmp_path: Path, monkeypatch) -> None:
    settings, db, store, ix = stack
    f = write(tmp_path / "refund.md", REFUND_EN)
    await ix.ingest_paths([f], tenant="t", publish=True)
    write(f, REFUND_EN.replace("3-7 business days", "8-9 business days"))

    async def boom(*a, **k):
        raise KeyboardInterrupt  # like a kill between embedding and the switch

    monkeypatch.setattr(ix, "publish", boom)
    with pytest.raises(KeyboardInterrupt):
        await ix.ingest_paths([f], tenant="t", publish=True)
    monkeypatch.undo()
    art = ArticleRepository(db).get_article("t", "sop-refund-en")
    assert art.live_revision == 1 and art.latest_revision == 2
    texts = " ".join(await _live_texts(stack, "refund timing business days"))
    assert "3-7 business days" in texts and "8-9 business days" not in texts
    # The next run finishes the job without re-embedding what was already staged.
    again = await ix.ingest_paths([f], tenant="t", publish=True)
    assert again.chunks_embedded == 0
    assert ArticleRepository(db).get_article("t", "sop-refund-en").live_revision == 2
    texts = " ".join(await _live_texts(stack, "refund timing business days"))
    assert "8-9 business days" in texts and "3-7 business days" not in texts


async def test_bad_files_are_reported_and_the_rest_ingested(stack, tmp_path: Path) -> None:
    *_, ix = stack
    kb = tmp_path / "kb"
    write(kb / "good.md", REFUND_EN)
    write(kb / "empty.txt", "")
    (kb / "broken.docx").write_bytes(b"PK\x03\x04 this is not a docx")
    write(kb / "bad-type.md", "---\nid: x1\ntype: recipe\n---\n# Hi\n\ntext")
    write(kb / "bad-date.md", "---\nid: x2\neffective_from: 2026-13-45\n---\n# Hi\n\ntext")
    report = await ix.ingest_paths([kb], tenant="t", publish=True)
    bad = {Path(e.file).name for e in report.errors}
    assert bad == {"empty.txt", "broken.docx", "bad-type.md", "bad-date.md"}
    assert all(e.error for e in report.errors)
    assert report.articles == 1 and report.chunks_embedded > 0


async def test_archive_rollback_and_effective_dates(stack, tmp_path: Path) -> None:
    settings, db, store, ix = stack
    f = write(tmp_path / "refund.md", REFUND_EN)
    await ix.ingest_paths([f], tenant="t", publish=True)
    write(f, REFUND_EN.replace("3-7 business days", "4-6 business days"))
    await ix.ingest_paths([f], tenant="t", publish=True)
    await ix.rollback("t", "sop-refund-en", 1)
    texts = " ".join(await _live_texts(stack, "refund timing business days"))
    assert "3-7 business days" in texts and "4-6 business days" not in texts
    await ix.archive("t", "sop-refund-en")
    assert await _live_texts(stack, "refund timing business days") == []
    # Expired and not-yet-effective articles are never retrieved.
    past = (date.today() - timedelta(days=1)).isoformat()
    future = (date.today() + timedelta(days=30)).isoformat()
    write(tmp_path / "old.md", REFUND_EN.replace("id: sop-refund-en", "id: old-en").replace(
        "effective_from: 2026-01-01", f"effective_from: 2020-01-01\nvalid_until: {past}"))
    write(tmp_path / "new.md", REFUND_EN.replace("id: sop-refund-en", "id: new-en").replace(
        "effective_from: 2026-01-01", f"effective_from: {future}"))
    await ix.ingest_paths([tmp_path / "old.md", tmp_path / "new.md"], tenant="t", publish=True)
    assert await _live_texts(stack, "refund timing business days") == []


async def test_reindex_fills_a_new_collection_from_the_database(stack, tmp_path: Path) -> None:
    """Switching the embedder (another model, int8) or moving to a Qdrant cluster gives an
    empty collection while the database is full: re-ingesting skips unchanged articles,
    ``reindex`` rebuilds from the stored revisions."""
    from assist.stores import make_vector_store
    from kb_ingest.indexing import Indexer

    settings, db, store, ix = stack
    f = write(tmp_path / "kb" / "refund.md", REFUND_EN)
    write(tmp_path / "kb" / "faq.csv", FAQ_ZH)
    first = await ix.ingest_paths([tmp_path / "kb"], tenant="t", publish=True)
    write(f, REFUND_EN.replace("status: published", "status: draft").replace("3-7 business", "1-2 business"))
    await ix.ingest_paths([f], tenant="t")  # a staged draft revision
    # Another collection (as for another embedder), cut into smaller chunks (as another
    # tokenizer would): new chunk ids for the same revisions.
    small = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"chunk_tokens": 48})})
    other = make_vector_store(small, dim=ix.embedder.dim, model_id="other-model")
    ix2 = Indexer(settings=small, db=db, store=other, embedder=ix.embedder, sparse=ix.sparse)
    again = await ix2.ingest_paths([tmp_path / "kb" / "faq.csv"], tenant="t", publish=True)
    assert again.chunks_embedded == 0 and await other.count() == 0  # the gap reindex closes

    report = await ix2.reindex("t")
    assert (report.revisions, report.live) == (4, 3)  # 3 live articles + the staged draft
    assert report.chunks_embedded == report.chunks_total > first.chunks_total  # smaller chunks
    qv = await ix.embedder.embed_query("refund timing business days")
    live = await other.search(dense=qv, sparse=None, filters=SearchFilter(tenant="t"), top_k=20)
    texts = " ".join(h.chunk.text for h in live)
    assert "3-7 business days" in texts and "1-2 business days" not in texts
    assert {h.chunk.revision for h in live if h.chunk.article_id == "sop-refund-en"} == {1}
    staged = await other.search(dense=qv, sparse=None, filters=SearchFilter(tenant="t", include_staged=True), top_k=40)
    assert "1-2 business days" in " ".join(h.chunk.text for h in staged)
    # The database now names the new chunks, so later publishes swap the right ones.
    repo = ArticleRepository(db)
    rev1, rev2 = (repo.get_revision("t", "sop-refund-en", r) for r in (1, 2))
    assert set(rev1.chunk_ids) | set(rev2.chunk_ids) == await other.ids_for_article("t", "sop-refund-en")
    await ix2.publish("t", "sop-refund-en", 2)
    texts = " ".join(h.chunk.text for h in await other.search(
        dense=qv, sparse=None, filters=SearchFilter(tenant="t"), top_k=20))
    assert "1-2 business days" in texts and "3-7 business days" not in texts
    # Idempotent: nothing left to embed.
    assert (await ix2.reindex("t")).chunks_embedded == 0
    with pytest.raises(NotFoundError, match="unknown tenant"):
        await ix2.reindex("nobody")
    await other.close()


async def test_reindex_prune_deletes_what_no_revision_references(stack, tmp_path: Path, monkeypatch) -> None:
    """A publish killed after embedding but before recording its chunks leaves staged
    points nothing refers to; ``reindex(prune=True)`` deletes those, and only those."""
    settings, db, store, ix = stack
    f = write(tmp_path / "refund.md", REFUND_EN)
    await ix.ingest_paths([f], tenant="t", publish=True)
    await ix.ingest_paths([write(tmp_path / "other" / "faq.csv", FAQ_ZH)], tenant="u", publish=True)
    kept = await store.ids_for_tenant("t")
    other_tenant = await store.ids_for_tenant("u")
    assert kept and other_tenant and not kept & other_tenant

    write(f, REFUND_EN.replace("3-7 business days", "8-9 business days"))
    repo = ix._articles
    real = repo.mark_index_state

    def killed(*a, **k):
        if a[3:4] == ("staged",):
            raise KeyboardInterrupt  # between embedding and recording the chunk ids
        return real(*a, **k)

    monkeypatch.setattr(repo, "mark_index_state", killed)
    with pytest.raises(KeyboardInterrupt):
        await ix.ingest_paths([f], tenant="t", publish=True)
    monkeypatch.undo()
    orphans = await store.ids_for_tenant("t") - kept
    assert orphans  # the new revision's chunks, embedded and staged, unrecorded

    plain = await ix.reindex("t")
    assert plain.chunks_pruned == 0 and await store.ids_for_tenant("t") == kept | orphans
    report = await ix.reindex("t", prune=True)
    assert report.chunks_pruned == len(orphans) and report.chunks_embedded == 0
    assert await store.ids_for_tenant("t") == kept
    assert await store.ids_for_tenant("u") == other_tenant
    texts = " ".join(await _live_texts(stack, "refund timing business days"))
    assert "3-7 business days" in texts
    # Publishing again embeds the pruned chunks anew and serves them.
    again = await ix.ingest_paths([f], tenant="t", publish=True)
    assert again.chunks_embedded >= 1
    assert "8-9 business days" in " ".join(await _live_texts(stack, "refund timing business days"))
