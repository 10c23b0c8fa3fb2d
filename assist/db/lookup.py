"""Cheap read-only lookups used on hot paths (one query each)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from .articles import RevisionRecord, _revision_record
from .engine import Database
from .models import Article, ArticleRevision, Tenant


def tenant_exists(db: Database, tenant: str) -> bool:
    with db.session(readonly=True) as s:
        return s.execute(select(Tenant.id).where(Tenant.id == tenant)).first() is not None


def live_products(db: Database, tenant: str) -> list[str]:
    """Distinct ``product`` values of the tenant's live articles (entity carry-over)."""
    q = (
        select(Article.product)
        .where(Article.tenant == tenant, Article.live_revision.is_not(None), Article.product.is_not(None))
        .distinct()
    )
    with db.session(readonly=True) as s:
        return [p for (p,) in s.execute(q) if p]


def latest_revisions(db: Database, tenant: str, article_ids: Sequence[str]) -> dict[str, RevisionRecord]:
    """The newest revision of each article, in a few queries instead of one per article."""
    out: dict[str, RevisionRecord] = {}
    ids = list(dict.fromkeys(article_ids))
    with db.session(readonly=True) as s:
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            latest = dict(
                s.execute(
                    select(Article.article_id, Article.latest_revision).where(
                        Article.tenant == tenant, Article.article_id.in_(batch)
                    )
                ).all()
            )
            if not latest:
                continue
            rows = s.scalars(
                select(ArticleRevision).where(
                    ArticleRevision.tenant == tenant, ArticleRevision.article_id.in_(list(latest))
                )
            )
            for r in rows:
                if latest.get(r.article_id) == r.revision:
                    out[r.article_id] = _revision_record(r)
    return out


def live_pointers(db: Database, tenant: str, article_ids: Sequence[str]) -> dict[str, int | None]:
    """``article_id -> live_revision`` (None: nothing live) for the articles that exist."""
    out: dict[str, int | None] = {}
    ids = list(dict.fromkeys(article_ids))
    with db.session(readonly=True) as s:
        for start in range(0, len(ids), 500):
            q = select(Article.article_id, Article.live_revision).where(
                Article.tenant == tenant, Article.article_id.in_(ids[start : start + 500])
            )
            out.update(dict(s.execute(q).all()))  # type: ignore[arg-type]
    return out
