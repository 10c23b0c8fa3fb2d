"""``assist kb golden ...``, ``assist kb gate`` and ``assist kb suggest``: the knowledge loop
(:mod:`assist.knowledge_loop`, :mod:`assist.publish_gate`). Mounted on the ``kb`` group by
:mod:`cli.kb`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonOpt, TenantOpt, database, error_exit, fail, print_json, settings, with_runtime

golden_app = typer.Typer(
    help="The tenant's golden set: the questions the publish gate checks.", no_args_is_help=True
)

BLOCKED_EXIT = 3
"""Exit status of a publication the gate blocked."""


@golden_app.command("list")
def golden_list(
    tenant: TenantOpt = None,
    article: Annotated[str | None, typer.Option(help="Only items expecting this article.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the golden items."""
    from assist.db.golden import GoldenRepository

    s = settings()
    rows = GoldenRepository(database(s)).list(tenant or s.default_tenant, article=article)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    for r in rows:
        typer.echo(f"#{r.id:<5} {r.source:15} {r.expected or '-':44} {r.question}")
    typer.echo(f"{len(rows)} items")


@golden_app.command("add")
def golden_add(
    question: Annotated[
        str, typer.Argument(help="The customer's question (no personal data: it is masked).")
    ],
    article: Annotated[str, typer.Option("--article", help="The article that answers it.")],
    reference: Annotated[
        str | None, typer.Option(help="The reference reply (its numbers are checked).")
    ] = None,
    language: Annotated[str | None, typer.Option(help="zh or en (default: detected).")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a golden item expecting ARTICLE's live revision."""
    from assist.db import ArticleRepository
    from assist.db.golden import GoldenRepository
    from assist.tenants import TenantRegistry
    from assist.text import detect_language

    s = settings()
    t = tenant or s.default_tenant
    db = database(s)
    art = ArticleRepository(db).get_article(t, article)
    if art is None:
        error_exit(f"no article {article!r} in tenant {t!r}")
    masker = TenantRegistry(directory=Path(s.tenants_dir)).masker(t)  # the tenant's own patterns too
    try:
        rec = GoldenRepository(db).add(
            t,
            masker.mask(question).text,
            expected_article=article,
            expected_revision=art.live_revision,
            language=language or detect_language(question),
            reference=masker.mask(reference).text if reference else None,
            source="manual",
            created_by="cli",
        )
    except Exception as e:
        fail(e)
    if as_json:
        print_json(rec.model_dump(mode="json"))
    else:
        typer.echo(f"added golden item #{rec.id} expecting {rec.expected}")


@golden_app.command("import")
def golden_import(
    path: Annotated[Path, typer.Argument(help="A golden.jsonl file or a folder holding one.")],
    tenant: TenantOpt = None,
) -> None:
    """Import a golden file (the format of eval/golden/golden.jsonl); twice adds nothing."""
    from assist.knowledge_loop import import_golden

    s = settings()
    try:
        r = import_golden(database(s), path, tenant=tenant or s.default_tenant, actor="cli")
    except Exception as e:
        fail(e)
    typer.echo(
        f"imported {r.added} golden items ({r.skipped} skipped: no expected article, or already there)"
    )


@golden_app.command("delete")
def golden_delete(item_id: int, tenant: TenantOpt = None) -> None:
    """Delete a golden item."""
    from assist.db.golden import GoldenRepository

    s = settings()
    try:
        GoldenRepository(database(s)).delete(tenant or s.default_tenant, item_id)
    except Exception as e:
        fail(e)
    typer.echo(f"deleted golden item #{item_id}")


def gate(
    article_id: str,
    revision: Annotated[int | None, typer.Option(help="Default: the latest.")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the publish gate for a revision without publishing it (exit 3 when it would block)."""
    from assist.errors import NotFoundError
    from assist.publish_gate import PublishGate
    from kb_ingest.indexing import Indexer

    s = settings()
    t = tenant or s.default_tenant

    async def go(rt):
        art = rt.articles.get_article(t, article_id)
        if art is None:
            raise NotFoundError(f"no article {article_id!r} in tenant {t!r}")
        return await PublishGate.of(Indexer.from_runtime(rt)).evaluate(
            t, article_id, revision or art.latest_revision
        )

    report = with_runtime(s, go, need_llm=False, tenant=t)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        typer.echo(
            f"{article_id}@{report.revision}: {report.items} items ({report.simulations} simulated), "
            f"{report.touched} touch it, "
            f"{len(report.regressions)} worse, {len(report.improved)} better "
            f"({report.seconds:.2f}s){' - BLOCKED' if report.blocked else ''}"
        )
        for r in report.regressions:
            typer.echo(f"  #{r.item_id}{r.label()} {r.question}: {r.reason}")
    if report.blocked:
        raise typer.Exit(BLOCKED_EXIT)


def blocked_exit(report, *, as_json: bool) -> None:
    """Print a blocked publication (``{"blocked": true, "regressions": [...]}`` with --json)
    and exit with :data:`BLOCKED_EXIT`."""
    if as_json:
        print_json(
            {
                "blocked": True,
                "article_id": report.article_id,
                "revision": report.revision,
                "tolerance": report.tolerance,
                "seconds": report.seconds,
                "items": report.items,
                "simulations": report.simulations,
                "regressions": [r.model_dump(mode="json") for r in report.regressions],
            }
        )
    else:
        typer.secho(f"blocked: {report.summary()}", fg="red", err=True)
        for r in report.regressions:
            typer.secho(f"  #{r.item_id}{r.label()} [{r.metric}] {r.question}: {r.reason}", err=True)
        typer.secho("fix the article, or publish with --override-reason '...'", err=True)
    raise typer.Exit(BLOCKED_EXIT)


def suggest(
    tenant: TenantOpt = None,
    distance: Annotated[
        float | None,
        typer.Option(
            help="A fixed cosine distance under which questions form one cluster (default: measured per "
            "tenant and language, see --relative)."
        ),
    ] = None,
    relative: Annotated[
        float,
        typer.Option(
            help="Questions cluster below this fraction of the median distance between them and the tenant's "
            "knowledge-base questions (what 'unrelated' measures for this embedder and language).",
            min=0.05,
            max=1.5,
        ),
    ] = 0.7,
    min_size: Annotated[int, typer.Option(help="Questions a cluster needs to become a draft.")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """Turn not-covered questions and rejected or heavily edited drafts into suggested draft articles.

    The questions are embedded and clustered (agglomerative, average linkage, cosine distance
    below a threshold measured on the tenant's own knowledge-base questions); clusters whose
    central question the live knowledge base already answers are skipped; each other cluster
    becomes a draft article (tag "suggested", not published) listing the questions, the
    evidence found, and an answer marked for a knowledge manager to complete. Running it again
    updates those drafts instead of adding new ones.

    Curated FAQ answers that agents corrected at least twice become a draft revision of that
    FAQ entry with the agents' latest reply (the diff is printed); publishing it is gated.
    """
    from dataclasses import asdict

    from assist.knowledge_loop import suggest_articles, suggest_faq_revisions
    from kb_ingest.indexing import Indexer

    s = settings()
    t = tenant or s.default_tenant

    def to_article(meta, body: str):
        from assist.types import ParsedArticle
        from kb_ingest.parsers import content_hash, markdown_to_blocks

        blocks = markdown_to_blocks(body)
        return ParsedArticle(meta=meta, blocks=blocks, content_hash=content_hash(meta, blocks))

    async def go(rt):
        from kb_ingest.parsers import content_hash

        ix = Indexer.from_runtime(rt)
        report = await suggest_articles(
            ix, t, to_article=to_article, distance=distance, relative=relative, min_size=min_size, actor="cli"
        )
        return report, await suggest_faq_revisions(ix, t, content_hash=content_hash, actor="cli")

    report, revisions = with_runtime(s, go, need_llm=False, tenant=t)
    if as_json:
        print_json({**asdict(report), "revisions": [asdict(r) for r in revisions]})
        return
    for r in revisions:
        typer.echo(
            f"  {r.article_id}@{r.revision}: suggested revision of a curated answer "
            f"({r.corrections} agent corrections)\n{r.diff}"
        )
    cut = ", ".join(f"{k} {v:.3f}" for k, v in sorted(report.thresholds.items()))
    typer.echo(
        f"{report.signals} signals, {report.clusters} clusters (distance {cut or '-'}): {report.covered} "
        f"already covered, {len(report.drafts)} suggested drafts ({report.existing} updated)"
    )
    for d in report.drafts:
        typer.echo(f"  {d.article_id}@{d.revision} [{d.language}] {d.title} ({len(d.questions)} questions)")


@golden_app.command("simulate")
def golden_simulate(
    tenant: TenantOpt = None,
    article: Annotated[str | None, typer.Option(help="Only items expecting this article.")] = None,
    per_item: Annotated[int, typer.Option(help="Simulations per item (and length).", min=1, max=10)] = 3,
    turns: Annotated[
        int,
        typer.Option(
            help="Customer messages per simulation: 1 paraphrases the question; 2-4 write a conversation "
            "(an opening naming the product or situation, follow-ups that refer back, the question's "
            "intent last).",
            min=1,
            max=4,
        ),
    ] = 1,
    run: Annotated[
        bool,
        typer.Option(
            "--run/--no-run",
            help="Draft each new simulation with the real pipeline and report "
            "whether the expected article is found and cited.",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Simulated customers: the chat model rewrites golden items (and, with --turns 2-4, the
    article each expects) into customer phrasings or conversations; the expected article stays
    known. Each becomes a 'simulated' golden item, which the publish gate runs whenever that
    article is published. Generations that leak the answer, are empty, in the wrong language or
    not a conversation are rejected. Run it before publishing (or on demand): the gate itself
    never calls the model."""
    from dataclasses import asdict

    from assist.knowledge_loop import simulate_customers

    s = settings()
    t = tenant or s.default_tenant
    r = with_runtime(
        s,
        lambda rt: simulate_customers(
            rt.db,
            rt.llm,
            t,
            article_id=article,
            per_item=per_item,
            turns=turns,
            pipeline=rt.pipeline if run else None,
            actor="cli",
        ),
        need_llm=True,
        tenant=t,
    )
    if as_json:
        print_json({**asdict(r), "found": r.found, "cited": r.cited})
        return
    kind = "paraphrases" if turns == 1 else f"{turns}-message conversations"
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(r.rejected.items())) or "none"
    typer.echo(
        f"{r.items} golden items simulated: {r.added} {kind} added ({r.skipped} already there; "
        f"rejected: {rejected})"
    )
    for x in r.runs:
        where = f"rank {x.rank}" if x.rank else "not found"
        typer.echo(
            f"  #{x.item_id} -> {x.expected}: {x.status}, {where}{', cited' if x.cited else ''}: "
            f"{' / '.join(x.turns)}"
        )
    if r.runs:
        typer.echo(f"pipeline: expected article found for {r.found} of {len(r.runs)}, cited by {r.cited}")
