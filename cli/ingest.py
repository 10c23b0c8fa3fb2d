"""``assist ingest``: parse, chunk, embed and index files and folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonOpt, TenantOpt, error_exit, print_json, progress_bars, settings, with_runtime

app = typer.Typer()


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    tenant: TenantOpt = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish every ingested revision.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Parse, chunk, embed and index articles (idempotent, incremental)."""
    from kb_ingest.indexing import Indexer

    s = settings()
    tenant = tenant or s.default_tenant
    for p in paths:
        if not p.exists():
            error_exit(f"{p} does not exist")

    async def go(rt):
        ix = Indexer.from_runtime(rt)
        with progress_bars(quiet=as_json) as progress:
            report = await ix.ingest_paths(paths, tenant=tenant, publish=publish, progress=progress)
        await ix.settle(300.0)  # the coverage calibration a publish started, before the process exits
        return report

    report = with_runtime(s, go, need_llm=False, tenant=tenant)
    if as_json:
        print_json(report.model_dump())
    else:
        typer.echo(
            f"{report.files} files, {report.articles} articles, {report.chunks_total} chunks "
            f"({report.chunks_embedded} embedded, {report.chunks_skipped} unchanged, {report.chunks_deleted} deleted)"
        )
        for err in report.errors:
            typer.secho(f"  {err.file}: {err.error}", fg="yellow", err=True)
    if report.errors:
        raise typer.Exit(1)
