"""ArticleRepository: revisions, the publishing workflow, atomic go-live, tenant isolation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from assist.db import ArticleRepository, Database
from assist.errors import ConflictError, InputError, NotFoundError
from assist.types import ArticleStatus, ArticleType

from .factories import make_blocks, make_meta

T = "acme"


def _new(articles: ArticleRepository, article_id: str = "refund-sop", tenant: str = T, **kw: Any) -> int:
    return articles.create_revision(
        tenant, make_meta(article_id, **kw), make_blocks(), "sha256:a", actor="kb-cli"
    )


def _states(articles: ArticleRepository, article_id: str = "refund-sop") -> dict[int, str]:
    return {r.revision: r.state for r in articles.list_revisions(T, article_id)}


def test_create_revision_creates_article_tenant_and_numbers_revisions(articles: ArticleRepository) -> None:
    assert articles.get_article(T, "refund-sop") is None
    assert _new(articles) == 1
    art = articles.get_article(T, "refund-sop")
    assert art is not None
    assert (art.tenant, art.title, art.type, art.status) == (
        T,
        "退款流程",
        ArticleType.SOP,
        ArticleStatus.DRAFT,
    )
    assert (art.live_revision, art.latest_revision) == (None, 1)
    assert art.created_at.tzinfo is not None

    rev2 = articles.create_revision(
        T, make_meta(title="退款流程 v2"), make_blocks("新步骤"), "sha256:b", "alice"
    )
    assert rev2 == 2
    rec = articles.get_revision(T, "refund-sop", 2)
    assert rec is not None
    assert (rec.state, rec.index_state, rec.created_by, rec.content_hash) == (
        "draft",
        "pending",
        "alice",
        "sha256:b",
    )
    assert rec.blocks == make_blocks("新步骤")  # Block models round-trip through JSON intact
    assert rec.meta.title == "退款流程 v2" and rec.meta.tenant == T
    assert [e.action for e in articles.events(T, "refund-sop")] == ["create", "update"]


def test_explicit_tenant_wins_over_meta_tenant(articles: ArticleRepository) -> None:
    articles.create_revision(T, make_meta(tenant="someone-else"), make_blocks(), "h", "x")
    assert articles.get_article("someone-else", "refund-sop") is None
    rec = articles.get_revision(T, "refund-sop", 1)
    assert rec is not None and rec.meta.tenant == T


def test_latest_revision_by_hash_detects_unchanged_content(articles: ArticleRepository) -> None:
    assert articles.latest_revision_by_hash(T, "refund-sop") is None
    articles.create_revision(T, make_meta(), make_blocks(), "h1", "x")
    articles.create_revision(T, make_meta(), make_blocks(), "h2", "x")
    latest = articles.latest_revision_by_hash(T, "refund-sop")
    assert latest is not None and (latest.revision, latest.content_hash) == (2, "h2")
    by_hash = articles.latest_revision_by_hash(T, "refund-sop", "h1")
    assert by_hash is not None and by_hash.revision == 1
    assert articles.latest_revision_by_hash(T, "refund-sop", "h3") is None


def test_review_workflow_to_published(articles: ArticleRepository) -> None:
    _new(articles)
    assert articles.transition(T, "refund-sop", 1, "submit", "author").state == "in_review"
    assert articles.get_article(T, "refund-sop").status == ArticleStatus.IN_REVIEW  # type: ignore[union-attr]
    assert articles.transition(T, "refund-sop", 1, "approve", "reviewer").state == "approved"
    assert articles.transition(T, "refund-sop", 1, "publish", "km", note="go").state == "published"
    art = articles.get_article(T, "refund-sop")
    assert art is not None and art.live_revision == 1 and art.status == ArticleStatus.PUBLISHED
    events = articles.events(T, "refund-sop")
    assert [(e.action, e.actor, e.revision) for e in events] == [
        ("create", "kb-cli", 1),
        ("submit", "author", 1),
        ("approve", "reviewer", 1),
        ("publish", "km", 1),
    ]
    assert events[-1].note == "go" and events[-1].at.tzinfo is not None


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ([], "approve"),  # draft cannot be approved without review
        (["submit"], "submit"),
        (["submit"], "publish"),  # in_review must be approved first
        (["submit", "approve"], "approve"),
        (["publish"], "publish"),
        (["publish"], "submit"),
        (["archive"], "archive"),
        (["archive"], "publish"),
        ([], "rollback"),  # a draft was never published
    ],
)
def test_illegal_transitions_raise_conflict_and_change_nothing(
    articles: ArticleRepository, setup: list[str], action: Any
) -> None:
    _new(articles)
    for step in setup:
        articles.transition(T, "refund-sop", 1, step, "x")  # type: ignore[arg-type]
    before = (articles.get_revision(T, "refund-sop", 1), articles.get_article(T, "refund-sop"))
    n_events = len(articles.events(T, "refund-sop"))
    with pytest.raises(ConflictError, match=f"cannot {action}"):
        articles.transition(T, "refund-sop", 1, action, "x")
    assert (articles.get_revision(T, "refund-sop", 1), articles.get_article(T, "refund-sop")) == before
    assert len(articles.events(T, "refund-sop")) == n_events


def test_unknown_action_and_missing_rows(articles: ArticleRepository) -> None:
    _new(articles)
    with pytest.raises(InputError, match="create_revision"):
        articles.transition(T, "refund-sop", 1, "create", "x")
    with pytest.raises(NotFoundError):
        articles.transition(T, "refund-sop", 9, "submit", "x")
    with pytest.raises(NotFoundError):
        articles.transition(T, "nope", 1, "submit", "x")


def test_publishing_a_new_revision_supersedes_the_old_one(articles: ArticleRepository) -> None:
    _new(articles)
    articles.transition(T, "refund-sop", 1, "publish", "km")
    articles.create_revision(T, make_meta(title="v2"), make_blocks(), "h2", "x")
    # While rev 2 is a draft the article keeps describing (and serving) rev 1.
    art = articles.get_article(T, "refund-sop")
    assert art is not None and (art.live_revision, art.latest_revision, art.title) == (1, 2, "退款流程")
    assert art.status == ArticleStatus.PUBLISHED
    articles.transition(T, "refund-sop", 2, "publish", "km")
    assert _states(articles) == {1: "superseded", 2: "published"}
    art = articles.get_article(T, "refund-sop")
    assert art is not None and (art.live_revision, art.title) == (2, "v2")


def test_rollback_republishes_an_older_revision(articles: ArticleRepository) -> None:
    _new(articles)
    articles.transition(T, "refund-sop", 1, "publish", "km")
    _new(articles)
    articles.transition(T, "refund-sop", 2, "publish", "km")
    with pytest.raises(ConflictError):
        articles.transition(T, "refund-sop", 2, "rollback", "km")  # already live
    articles.transition(T, "refund-sop", 1, "rollback", "km", note="v2 had a wrong fee")
    assert _states(articles) == {1: "published", 2: "superseded"}
    assert articles.get_article(T, "refund-sop").live_revision == 1  # type: ignore[union-attr]
    assert articles.events(T, "refund-sop")[-1].action == "rollback"


def test_rollback_refuses_a_never_published_archived_draft(articles: ArticleRepository) -> None:
    _new(articles)
    articles.transition(T, "refund-sop", 1, "archive", "km")
    with pytest.raises(ConflictError, match="never published"):
        articles.transition(T, "refund-sop", 1, "rollback", "km")


def test_archive_live_revision_takes_article_offline(articles: ArticleRepository) -> None:
    _new(articles)
    articles.transition(T, "refund-sop", 1, "publish", "km")
    articles.transition(T, "refund-sop", 1, "archive", "km")
    art = articles.get_article(T, "refund-sop")
    assert art is not None and (art.live_revision, art.status) == (None, ArticleStatus.ARCHIVED)
    # an archived, once-published revision can be brought back
    articles.transition(T, "refund-sop", 1, "rollback", "km")
    assert articles.get_article(T, "refund-sop").live_revision == 1  # type: ignore[union-attr]


def test_set_live_supersedes_previous_and_moves_index_state(articles: ArticleRepository) -> None:
    _new(articles)
    articles.mark_index_state(T, "refund-sop", 1, "staged", ["c1"])
    articles.set_live(T, "refund-sop", 1, actor="indexer")  # ingest --publish: straight from draft
    _new(articles)
    articles.transition(T, "refund-sop", 2, "submit", "a")
    with pytest.raises(ConflictError, match="approve it first"):
        articles.set_live(T, "refund-sop", 2)
    articles.transition(T, "refund-sop", 2, "approve", "b")
    articles.mark_index_state(T, "refund-sop", 2, "staged", ["c2"])
    articles.set_live(T, "refund-sop", 2, actor="indexer")
    revs = articles.list_revisions(T, "refund-sop")
    assert [(r.state, r.index_state) for r in revs] == [("superseded", "pending"), ("published", "live")]
    assert articles.get_article(T, "refund-sop").live_revision == 2  # type: ignore[union-attr]
    articles.set_live(T, "refund-sop", 2)  # idempotent
    assert articles.latest_revision(T, "refund-sop").revision == 2  # type: ignore[union-attr]


def test_archive_whole_article_and_helpers(articles: ArticleRepository) -> None:
    assert not articles.tenant_exists(T)
    _new(articles, product="信用卡")
    articles.transition(T, "refund-sop", 1, "publish", "km")
    _new(articles, "other", product="借记卡")
    assert articles.tenant_exists(T)
    assert articles.live_products(T) == ["信用卡"]
    _new(articles)  # a pending draft, rev 2
    articles.transition(T, "refund-sop", None, "archive", "km")
    art = articles.get_article(T, "refund-sop")
    assert art is not None and (art.live_revision, art.status) == (None, ArticleStatus.ARCHIVED)
    assert _states(articles) == {1: "archived", 2: "archived"}
    assert articles.live_products(T) == []
    with pytest.raises(ConflictError, match="already archived"):
        articles.transition(T, "refund-sop", None, "archive", "km")
    articles.record_event(T, "refund-sop", 1, "rollback", actor="indexer", note="manual")
    assert articles.events(T, "refund-sop")[-1].note == "manual"
    with pytest.raises(NotFoundError):
        articles.record_event("elsewhere", "refund-sop", 1, "rollback")


def test_create_revision_accepts_block_dicts(articles: ArticleRepository) -> None:
    blocks = [b.model_dump(mode="json") for b in make_blocks()]
    articles.create_revision(T, make_meta(), blocks, "h", "x")
    assert articles.get_revision(T, "refund-sop", 1).blocks == make_blocks()  # type: ignore[union-attr]


@contextmanager
def _fail_on(db: Database, sql_prefix: str) -> Iterator[None]:
    """Make the first statement starting with ``sql_prefix`` fail, as a crash mid-transaction would."""

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(sql_prefix.upper()):
            raise RuntimeError(f"injected failure at: {statement[:60]}")

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


@pytest.mark.parametrize(
    "fail_at",
    [
        "UPDATE articles",  # after both revision rows were updated
        "INSERT INTO workflow_events",  # after everything but the audit event
    ],
)
def test_set_live_is_atomic(database: Database, articles: ArticleRepository, fail_at: str) -> None:
    _new(articles)
    articles.transition(T, "refund-sop", 1, "publish", "km")
    _new(articles)
    articles.transition(T, "refund-sop", 2, "submit", "a")
    articles.transition(T, "refund-sop", 2, "approve", "b")
    n_events = len(articles.events(T, "refund-sop"))

    with _fail_on(database, fail_at), pytest.raises(Exception, match="injected failure"):
        articles.set_live(T, "refund-sop", 2)

    assert _states(articles) == {1: "published", 2: "approved"}
    art = articles.get_article(T, "refund-sop")
    assert art is not None and art.live_revision == 1 and art.status == ArticleStatus.PUBLISHED
    assert len(articles.events(T, "refund-sop")) == n_events
    # and the same call succeeds once the fault is gone
    articles.set_live(T, "refund-sop", 2)
    assert _states(articles) == {1: "superseded", 2: "published"}


def test_publish_transition_is_atomic_too(database: Database, articles: ArticleRepository) -> None:
    _new(articles)
    articles.transition(T, "refund-sop", 1, "publish", "km")
    _new(articles)
    with _fail_on(database, "UPDATE articles"), pytest.raises(Exception, match="injected failure"):
        articles.transition(T, "refund-sop", 2, "publish", "km")
    assert _states(articles) == {1: "published", 2: "draft"}
    assert articles.get_article(T, "refund-sop").live_revision == 1  # type: ignore[union-attr]


def test_mark_index_state(articles: ArticleRepository) -> None:
    _new(articles)
    articles.mark_index_state(T, "refund-sop", 1, "staged", ["c1", "c2"])
    rec = articles.get_revision(T, "refund-sop", 1)
    assert rec is not None and (rec.index_state, rec.chunk_ids) == ("staged", ["c1", "c2"])
    articles.mark_index_state(T, "refund-sop", 1, "live")
    rec = articles.get_revision(T, "refund-sop", 1)
    assert rec is not None and (rec.index_state, rec.chunk_ids) == ("live", ["c1", "c2"])
    articles.mark_index_state(T, "refund-sop", 1, "failed", note="qdrant down")
    assert articles.events(T, "refund-sop")[-1].action == "index_failed"
    assert articles.events(T, "refund-sop")[-1].note == "qdrant down"
    with pytest.raises(InputError):
        articles.mark_index_state(T, "refund-sop", 1, "bogus")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        articles.mark_index_state(T, "refund-sop", 7, "live")


def test_list_articles_filters(articles: ArticleRepository) -> None:
    _new(articles, "a-sop", valid_until=date(2026, 1, 31), review_by=date(2026, 6, 1))
    _new(articles, "b-faq", type=ArticleType.FAQ, valid_until=date(2026, 12, 31))
    _new(articles, "c-policy", type=ArticleType.POLICY, review_by=date(2026, 1, 1))
    articles.transition(T, "b-faq", 1, "publish", "km")

    assert [a.id for a in articles.list_articles(T)] == ["a-sop", "b-faq", "c-policy"]
    assert [a.id for a in articles.list_articles(T, status="published")] == ["b-faq"]
    assert [a.id for a in articles.list_articles(T, type=ArticleType.POLICY)] == ["c-policy"]
    assert [a.id for a in articles.list_articles(T, expiring_before=date(2026, 1, 31))] == ["a-sop"]
    assert [a.id for a in articles.list_articles(T, review_before=date(2026, 3, 1))] == ["c-policy"]


def test_stats(articles: ArticleRepository) -> None:
    _new(articles, "a", valid_until=date(2020, 1, 1))
    _new(articles, "b", review_by=date(2020, 1, 1))
    articles.transition(T, "a", 1, "publish", "km")
    _new(articles, "a")
    articles.mark_index_state(T, "a", 1, "live")
    stats = articles.stats(T, today=date(2026, 1, 1))
    assert stats.articles == 2 and stats.live == 1
    assert stats.by_status == {"published": 1, "draft": 1}
    assert stats.revisions_by_state == {"published": 1, "draft": 2}
    assert stats.revisions_by_index_state == {"live": 1, "pending": 2}
    assert (stats.expired, stats.review_due) == (1, 1)
    assert articles.stats("empty-tenant").articles == 0


def test_tenant_isolation(articles: ArticleRepository) -> None:
    _new(articles, "shared-id", tenant="tenant-a", title="A's secret")
    _new(articles, "shared-id", tenant="tenant-b", title="B's doc")
    _new(articles, "only-a", tenant="tenant-a")
    articles.transition("tenant-a", "shared-id", 1, "publish", "km")

    b = articles.get_article("tenant-b", "shared-id")
    assert b is not None and b.title == "B's doc" and b.live_revision is None
    assert [a.id for a in articles.list_articles("tenant-b")] == ["shared-id"]
    assert articles.get_article("tenant-b", "only-a") is None
    assert articles.get_revision("tenant-b", "only-a", 1) is None
    assert articles.list_revisions("tenant-b", "only-a") == []
    assert articles.events("tenant-b", "only-a") == []
    assert articles.latest_revision_by_hash("tenant-b", "only-a") is None
    for call in (
        lambda: articles.transition("tenant-b", "only-a", 1, "publish", "x"),
        lambda: articles.set_live("tenant-b", "only-a", 1),
        lambda: articles.mark_index_state("tenant-b", "only-a", 1, "live"),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert articles.stats("tenant-b").articles == 1
    assert [r.meta.title for r in articles.list_revisions("tenant-b", "shared-id")] == ["B's doc"]


def test_bad_tenant_ids_are_refused(articles: ArticleRepository) -> None:
    with pytest.raises(InputError, match="tenant"):
        articles.create_revision("bad tenant/../x", make_meta(), make_blocks(), "h", "x")


def test_concurrent_revisions_get_distinct_numbers(articles: ArticleRepository) -> None:
    # Writers on one article serialise (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE),
    # so no revision number is handed out twice and no writer fails with "database is locked".
    from concurrent.futures import ThreadPoolExecutor

    _new(articles)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda i: _new(articles), range(12)))
    assert sorted(got) == list(range(2, 14))
    assert [r.revision for r in articles.list_revisions(T, "refund-sop")] == list(range(1, 14))
