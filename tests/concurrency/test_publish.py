"""Publishing under concurrency: one live revision, searchable alone, the newest winning.

Property-style: many parallel writers (coroutines on one indexer, as the API runs them;
several indexers on one database, as several processes would; threads on the repository),
with failures and cancellations injected between the steps of a publish. After the dust
settles (and ``Indexer.recover`` ran, as the service does at start), the database has
exactly one live revision and search returns that revision's chunks and nothing else.
"""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from assist.db import ArticleRepository
from assist.errors import AssistError
from tests.concurrency.conftest import TENANT, Stack, article, assert_one_live_revision_served, served_chunks

AID = "refund-sop"


class Injected(Exception):
    """A simulated crash between two steps of a publish."""


def _inject(monkeypatch: pytest.MonkeyPatch, stack: Stack, rng: random.Random, p: float) -> None:
    """Make the store's and the repository's publish steps fail at random (probability p)."""
    store = stack.store
    for name in ("activate", "set_payload", "delete"):
        orig = getattr(store, name)

        async def flaky(*a, _orig=orig, _name=name, **kw):
            await asyncio.sleep(rng.random() * 0.003)
            if rng.random() < p:
                raise Injected(_name)
            return await _orig(*a, **kw)

        monkeypatch.setattr(store, name, flaky)
    for name in ("begin_publish", "transition", "set_live", "mark_index_state"):
        orig = getattr(ArticleRepository, name)

        def flaky_sync(self, *a, _orig=orig, _name=name, **kw):
            if rng.random() < p:
                raise Injected(_name)
            return _orig(self, *a, **kw)

        monkeypatch.setattr(ArticleRepository, name, flaky_sync)


async def test_parallel_updates_newest_wins_and_search_serves_only_it(stack: Stack) -> None:
    await stack.indexer.ingest_articles([article(AID, 0)], tenant=TENANT, publish=True)
    for trial in range(3):
        base = trial * 10 + 1
        await asyncio.gather(*(stack.indexer.ingest_articles([article(AID, base + i)], tenant=TENANT, publish=True)
                               for i in range(6)))
        live = await assert_one_live_revision_served(stack, AID)
        assert live == ArticleRepository(stack.db).get_article(TENANT, AID).latest_revision, "an older one won"


async def test_parallel_uploads_of_a_new_id_newest_wins(stack: Stack) -> None:
    for trial in range(3):
        aid = f"new-{trial}"
        await asyncio.gather(*(stack.indexer.ingest_articles([article(aid, i)], tenant=TENANT, publish=True)
                               for i in range(4)))
        live = await assert_one_live_revision_served(stack, aid)
        assert live == 4


async def test_an_older_revision_never_replaces_a_newer_live_one(stack: Stack) -> None:
    ix = stack.indexer
    await ix.ingest_articles([article(AID, 1)], tenant=TENANT, publish=True)
    await ix.ingest_articles([article(AID, 2)], tenant=TENANT, publish=False)
    await ix.ingest_articles([article(AID, 3)], tenant=TENANT, publish=True)
    await ix.publish(TENANT, AID, 2)  # late: 3 is live already
    assert await assert_one_live_revision_served(stack, AID) == 3
    repo = ArticleRepository(stack.db)
    assert repo.get_revision(TENANT, AID, 2).state == "superseded"
    # A rollback is the one way to serve an older revision, and it is explicit.
    await ix.rollback(TENANT, AID, 1)
    assert await assert_one_live_revision_served(stack, AID) == 1


async def test_several_processes_publishing_one_article(stack: Stack) -> None:
    """Indexers that share only the database (on SQLite the embedded store admits one
    process, so this runs where the database lock is what serialises: PostgreSQL)."""
    if stack.db.dialect != "postgresql":
        pytest.skip("one process per embedded store on SQLite: the in-process lock covers it")
    ixs = [stack.indexer, stack.another_indexer(), stack.another_indexer()]
    await stack.indexer.ingest_articles([article(AID, 0)], tenant=TENANT, publish=True)
    for trial in range(3):
        await asyncio.gather(*(ixs[i % 3].ingest_articles([article(AID, 100 * trial + i + 1)], tenant=TENANT,
                                                           publish=True) for i in range(6)))
        live = await assert_one_live_revision_served(stack, AID)
        assert live == ArticleRepository(stack.db).get_article(TENANT, AID).latest_revision


@pytest.mark.parametrize("seed", range(6))
async def test_random_failures_and_kills_leave_one_live_revision(stack: Stack, monkeypatch, seed: int) -> None:
    rng = random.Random(seed)
    ix = stack.indexer
    await ix.ingest_articles([article(AID, 0)], tenant=TENANT, publish=True)
    _inject(monkeypatch, stack, rng, p=0.15)
    tasks = [asyncio.create_task(ix.ingest_articles([article(AID, i + 1)], tenant=TENANT, publish=True))
             for i in range(8)]
    for t in rng.sample(tasks, 2):  # kills: a cancelled request at a random point
        asyncio.get_running_loop().call_later(rng.random() * 0.05, t.cancel)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, (Injected, AssistError, asyncio.CancelledError)) or not isinstance(r, BaseException)
               for r in results), results
    monkeypatch.undo()
    # The service recovers at start; here, after the storm.
    await ix.recover(TENANT)
    live = await assert_one_live_revision_served(stack, AID)
    repo = ArticleRepository(stack.db)
    ok = [r for r in results if not isinstance(r, BaseException)]
    done = [rev.revision for rev in repo.list_revisions(TENANT, AID)
            if any(e.action == "publish" and e.revision == rev.revision for e in repo.events(TENANT, AID))]
    assert ok == [] or live >= max(done), (live, done)


async def test_recover_repairs_a_publish_killed_after_the_index_switched(stack: Stack, monkeypatch) -> None:
    ix = stack.indexer
    await ix.ingest_articles([article(AID, 1)], tenant=TENANT, publish=True)

    def die(self, *a, **kw):
        raise Injected("killed before the pointer moved")

    monkeypatch.setattr(ArticleRepository, "transition", die)
    with pytest.raises(Injected):
        await ix.ingest_articles([article(AID, 2)], tenant=TENANT, publish=True)
    monkeypatch.undo()
    # Both revisions' chunks are active now: exactly the state recovery exists for.
    assert {c.revision for c in await served_chunks(stack, AID)} == {1, 2}
    assert ArticleRepository(stack.db).unfinished_publishes(TENANT) == [(TENANT, AID)]
    assert await ix.recover() == 1
    assert await assert_one_live_revision_served(stack, AID) == 1


def test_threads_moving_the_pointer_never_go_backwards(stack: Stack) -> None:
    """The database rule alone (row lock + compare): many threads publishing revisions in
    random order end with the highest one live and exactly one published."""
    repo = ArticleRepository(stack.db)
    for i in range(12):
        a = article(AID, i)
        repo.create_revision(TENANT, a.meta, a.blocks, a.content_hash)
    order = list(range(1, 13))
    random.Random(7).shuffle(order)
    errors: list[BaseException] = []

    def worker(revs: list[int]) -> None:
        for r in revs:
            try:
                repo.transition(TENANT, AID, r, "publish", actor="t")
            except BaseException as e:  # noqa: BLE001 - collected and asserted on below
                errors.append(e)

    threads = [threading.Thread(target=worker, args=(order[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert repo.get_article(TENANT, AID).live_revision == 12
    assert [r.revision for r in repo.list_revisions(TENANT, AID) if r.state == "published"] == [12]


def test_threads_creating_one_new_article_number_revisions_in_turn(stack: Stack) -> None:
    """The first revisions of one new article written at once: no duplicate-key error, each
    gets its own number (the article row is inserted once and then locked)."""
    repo = ArticleRepository(stack.db)
    got: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker(i: int) -> None:
        a = article("brand-new", i)
        barrier.wait()
        try:
            got.append(repo.create_revision(TENANT, a.meta, a.blocks, a.content_hash))
        except BaseException as e:  # noqa: BLE001 - asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(got) == [1, 2, 3, 4, 5, 6]
    assert [e.action for e in repo.events(TENANT, "brand-new")].count("create") == 1
