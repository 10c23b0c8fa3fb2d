"""``assist kb ...``: inspect and manage published articles."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import kb_loop
from cli.common import (
    JsonOpt,
    TenantOpt,
    database,
    error_exit,
    print_json,
    progress_bars,
    settings,
    with_runtime,
)

app = typer.Typer(help="Inspect and manage published articles.", no_args_is_help=True)
SETTLE_S = 300.0
"""How long a command waits, before it exits, for the coverage calibration its change started."""
app.add_typer(kb_loop.golden_app, name="golden")                   # assist kb golden list|add|import|delete
app.command("gate")(kb_loop.gate)                                   # assist kb gate ARTICLE (dry run)
app.command("suggest")(kb_loop.suggest)                             # assist kb suggest: gaps -> draft articles


def _articles():
    from assist.db import ArticleRepository

    s = settings()
    return s, ArticleRepository(database(s))


def _dump(obj: Any) -> Any:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else obj.__dict__


@app.command("list")
def kb_list(tenant: TenantOpt = None, status: str | None = None, as_json: JsonOpt = False) -> None:
    """List articles."""
    s, repo = _articles()
    rows = repo.list_articles(tenant or s.default_tenant, status=status)
    if as_json:
        print_json([_dump(r) for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.id:40} {r.status:10} live={r.live_revision} latest={r.latest_revision}  {r.title}")


@app.command("show")
def kb_show(article_id: str, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Show an article with its revisions and workflow events."""
    s, repo = _articles()
    t = tenant or s.default_tenant
    art = repo.get_article(t, article_id)
    if art is None:
        error_exit(f"no article {article_id!r} in tenant {t!r}")
    print_json({
        "article": _dump(art),
        "revisions": [{k: v for k, v in _dump(r).items() if k not in ("blocks",)}
                      for r in repo.list_revisions(t, article_id)],
        "events": [_dump(e) for e in repo.events(t, article_id)],
    })


@app.command("publish")
def kb_publish(
    article_id: str,
    revision: Annotated[int | None, typer.Option()] = None,
    tenant: TenantOpt = None,
    override_reason: Annotated[str | None, typer.Option(
        "--override-reason", help="Publish although the publish gate blocks it; the reason is recorded "
                                  "in the article's workflow history.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish a revision (default: the latest) of an already-ingested article.

    The publish gate runs first: the tenant's golden set (assist kb golden list) is searched against the live index and against the index with this revision live (it is already indexed, staged). The publication is blocked when more items get worse than the tenant's tolerance (examples/tenants/<t>/knowledge_loop.yaml, publish_gate.max_regressions, default 0).

    An item gets worse when its expected article drops out of the top results, or when the article stops stating a number, duration or amount of the item's reference reply.

    Blocked, the command lists the items and exits with status 3; with --json it prints {"blocked": true, "regressions": [...]}. --override-reason publishes anyway and records the reason in the workflow history. Try the gate without publishing: assist kb gate ARTICLE.
    """
    from assist import publish_gate
    from assist.errors import NotFoundError
    from cli.kb_loop import blocked_exit
    from kb_ingest.indexing import Indexer

    s = settings()
    t = tenant or s.default_tenant

    async def go(rt):
        rev = revision
        if rev is None:
            art = rt.articles.get_article(t, article_id)
            if art is None:
                raise NotFoundError(f"no article {article_id!r} in tenant {t!r}")
            rev = art.latest_revision
        try:
            with publish_gate.override(override_reason):
                ix = Indexer.from_runtime(rt)
                deleted = await ix.publish(t, article_id, rev)
                await ix.settle(SETTLE_S)  # the coverage calibration, before the process exits
                return rev, deleted
        except publish_gate.PublishBlocked as e:
            return rev, e.report

    rev, deleted = with_runtime(s, go, need_llm=False, tenant=tenant or s.default_tenant)
    if not isinstance(deleted, int):
        blocked_exit(deleted, as_json=as_json)
    if as_json:
        print_json({"blocked": False, "article_id": article_id, "revision": rev, "chunks_deleted": deleted})
        return
    typer.echo(f"published {article_id}@{rev} ({deleted} stale chunks removed)")


@app.command("archive")
def kb_archive(article_id: str, tenant: TenantOpt = None) -> None:
    """Take an article out of search (its revisions are kept)."""
    from kb_ingest.indexing import Indexer

    s = settings()

    async def go(rt):
        ix = Indexer.from_runtime(rt)
        n = await ix.archive(tenant or s.default_tenant, article_id)
        await ix.settle(SETTLE_S)
        return n

    n = with_runtime(s, go, need_llm=False, tenant=tenant or s.default_tenant)
    typer.echo(f"archived {article_id} ({n} chunks removed from the index)")


@app.command("rollback")
def kb_rollback(article_id: str, to: Annotated[int, typer.Option("--to")], tenant: TenantOpt = None) -> None:
    """Serve an older revision again."""
    from kb_ingest.indexing import Indexer

    s = settings()

    async def go(rt):
        ix = Indexer.from_runtime(rt)
        await ix.rollback(tenant or s.default_tenant, article_id, to)
        await ix.settle(SETTLE_S)

    with_runtime(s, go, need_llm=False, tenant=tenant or s.default_tenant)
    typer.echo(f"{article_id} now serves revision {to}")


@app.command("reindex")
def kb_reindex(
    tenant: TenantOpt = None,
    all_tenants: Annotated[bool, typer.Option("--all-tenants", help="Every tenant in the database.")] = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Also delete the points no staged or live revision references (interrupted publishes)."
    )] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild the vector index from the article store (idempotent, resumable).

    Run it after switching the embedder (another model, or ASSIST_EMBEDDER__QUANTIZE=int8:
    each has its own, new collection), after moving from the embedded engine to a Qdrant
    server or cluster, or after losing the index. Re-ingesting the source files does not
    do this: unchanged articles are skipped. With --prune it also removes orphaned points;
    on a shared Qdrant server, not while a publish of the same tenant is running.
    """
    from kb_ingest.indexing import Indexer

    s = settings()

    async def go(rt):
        ix = Indexer.from_runtime(rt)
        tenants = rt.articles.tenant_ids() if all_tenants else [tenant or s.default_tenant]
        reports = []
        for t in tenants:
            with progress_bars(quiet=as_json) as progress:
                reports.append(await ix.reindex(t, prune=prune, progress=progress))
        await ix.settle(SETTLE_S)
        return reports, rt.embedder.model_id

    reports, model_id = with_runtime(s, go, need_llm=False,
                                     tenant=None if all_tenants else tenant or s.default_tenant)
    if as_json:
        print_json({"embedder": model_id, "tenants": [r.model_dump() for r in reports]})
        return
    for r in reports:
        typer.echo(
            f"{r.tenant}: {r.revisions} revisions ({r.live} live), {r.chunks_total} chunks "
            f"({r.chunks_embedded} embedded with {model_id}, {r.chunks_skipped} already indexed)"
            + (f", {r.chunks_pruned} orphaned points deleted" if prune else "")
        )


@app.command("stats")
def kb_stats(tenant: TenantOpt = None) -> None:
    """Counts of articles by status and type, and chunks in the index."""
    s, repo = _articles()
    print_json(repo.stats(tenant or s.default_tenant))


@app.command("calibrate")
def kb_calibrate(
    tenant: TenantOpt = None,
    with_model: Annotated[bool, typer.Option(
        "--with-model", help="Use the chat model (the embedded one is started) for cross-lingual probes.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit the tenant's covered thresholds from its live content now (also done after every publish).

    Probe questions are made from each live article (FAQ phrasings, headings, first sentences;
    with a chat model configured, some translated into the other language) and searched
    against the tenant's index with and without their own article, beside neutral off-topic
    reference questions; the thresholds that keep at least coverage.min_recall of the probes
    covered with the best balanced accuracy are stored in the tenant's calibration
    (HOME/calibration/<tenant>.json; GET /v1/kb/calibration shows it). See docs/quality.md.
    """
    from kb_ingest.indexing import Indexer

    s = settings()
    t = tenant or s.default_tenant
    need_llm = with_model and s.coverage.cross_lingual

    async def go(rt):
        ix = Indexer.from_runtime(rt)
        if ix.coverage is None:
            return None
        return await ix.coverage.calibrate(t)

    cal = with_runtime(s, go, need_llm=need_llm, tenant=t)
    if cal is None:
        error_exit(f"tenant {t!r} has no published article to calibrate on")
    fit = cal.coverage_fit
    if as_json:
        print_json(cal.model_dump(mode="json"))
        return
    est = fit.get("estimates", {})
    typer.echo(f"{t}: covered when dense >= {cal.min_dense_score}"
               + (f" or BM25 >= {cal.min_sparse_score}" if cal.min_sparse_score is not None else " (BM25 rule off)"))
    for lang, th in cal.coverage_by_language.items():
        typer.echo(f"  questions in {lang}: dense >= {th.min_dense_score}"
                   + (f" or BM25 >= {th.min_sparse_score}" if th.min_sparse_score is not None else ""))
    typer.echo(f"  {fit['probes']['total']} probes from {fit['articles']} articles, cross-lingual: "
               f"{fit['cross_lingual'].get('status')}; estimated recall {est.get('answerable_recall')}, "
               f"refusal {est.get('refusal')} ({fit['seconds']} s)")
