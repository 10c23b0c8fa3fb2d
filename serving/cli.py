"""The ``assist`` command line: the composition root of the product.

Every command builds its objects from one ``Settings()`` (environment, ``.env``) and
imports heavy modules (torch, the vector store) only when it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(name="assist", help="Agent-assist and knowledge service.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
kb_app = typer.Typer(help="Inspect and manage published articles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(keys_app, name="keys")


def _mount_optional(module: str, name: str, help_text: str) -> None:
    """Sub-apps owned by other packages (models, eval)."""
    try:
        mod = __import__(module, fromlist=["app"])
    except ImportError as e:  # pragma: no cover - only while a package is being built
        logging.getLogger(__name__).debug("sub-command %s unavailable: %s", name, e)
        return
    app.add_typer(mod.app, name=name, help=help_text)


_mount_optional("assist.provision.cli", "models", "Prepare offline models.")
_mount_optional("eval.cli", "eval", "Evaluation harness.")


def _settings():
    from assist.config import Settings

    return Settings()


def _run(coro):
    return asyncio.run(coro)


def _fail(e: Exception) -> NoReturn:
    from assist.errors import AssistError

    if isinstance(e, AssistError):
        typer.secho(f"error: {e.message}", fg="red", err=True)
        raise typer.Exit(2) from e
    raise e


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant id (default: ASSIST_DEFAULT_TENANT).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@contextlib.contextmanager
def _progress_bars(*, quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """One transient bar per stage the indexer reports (``progress(stage, done, total)``);
    none when ``quiet`` or stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True, disable=quiet or not sys.stderr.isatty()) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


# ---------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    tenant: TenantOpt = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish every ingested revision.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Parse, chunk, embed and index articles (idempotent, incremental)."""
    from kb_ingest.indexing import Indexer

    s = _settings()
    tenant = tenant or s.default_tenant
    for p in paths:
        if not p.exists():
            typer.secho(f"error: {p} does not exist", fg="red", err=True)
            raise typer.Exit(2)

    async def go():
        indexer = Indexer.from_settings(s)
        try:
            with _progress_bars(quiet=as_json) as progress:
                return await indexer.ingest_paths(paths, tenant=tenant, publish=publish, progress=progress)
        finally:
            await indexer.close()

    try:
        report = _run(go())
    except Exception as e:
        _fail(e)
    if as_json:
        _print_json(report.model_dump())
    else:
        typer.echo(
            f"{report.files} files, {report.articles} articles, {report.chunks_total} chunks "
            f"({report.chunks_embedded} embedded, {report.chunks_skipped} unchanged, {report.chunks_deleted} deleted)"
        )
        for err in report.errors:
            typer.secho(f"  {err.file}: {err.error}", fg="yellow", err=True)
    if report.errors:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- kb
def _repo(s):
    from assist.db import ArticleRepository, Database

    db = Database(s.resolved_database_url)
    db.migrate()
    return ArticleRepository(db)


@kb_app.command("list")
def kb_list(tenant: TenantOpt = None, status: str | None = None, as_json: JsonOpt = False) -> None:
    """List articles."""
    s = _settings()
    rows = _repo(s).list_articles(tenant or s.default_tenant, status=status)
    if as_json:
        _print_json([r.model_dump(mode="json") if hasattr(r, "model_dump") else r.__dict__ for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.article_id:40} {r.status:10} live={r.live_revision} latest={r.latest_revision}  {r.title}")


@kb_app.command("show")
def kb_show(article_id: str, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Show an article with its revisions and workflow events."""
    s = _settings()
    repo = _repo(s)
    t = tenant or s.default_tenant
    art = repo.get_article(t, article_id)
    if art is None:
        typer.secho(f"error: no article {article_id!r} in tenant {t!r}", fg="red", err=True)
        raise typer.Exit(2)
    out = {
        "article": art.model_dump(mode="json") if hasattr(art, "model_dump") else art.__dict__,
        "revisions": [
            {k: v for k, v in (r.model_dump(mode="json") if hasattr(r, "model_dump") else r.__dict__).items()
             if k not in ("blocks",)}
            for r in repo.list_revisions(t, article_id)
        ],
        "events": [e.model_dump(mode="json") if hasattr(e, "model_dump") else e.__dict__
                   for e in repo.events(t, article_id)],
    }
    _print_json(out)


@kb_app.command("publish")
def kb_publish(article_id: str, revision: Annotated[int | None, typer.Option()] = None, tenant: TenantOpt = None) -> None:
    """Publish a revision (default: the latest) of an already-ingested article."""
    from kb_ingest.indexing import Indexer

    s = _settings()
    t = tenant or s.default_tenant

    async def go():
        ix = Indexer.from_settings(s)
        try:
            rev = revision or ix._articles.get_article(t, article_id).latest_revision
            return rev, await ix.publish(t, article_id, rev)
        finally:
            await ix.close()

    try:
        rev, deleted = _run(go())
    except Exception as e:
        _fail(e)
    typer.echo(f"published {article_id}@{rev} ({deleted} stale chunks removed)")


@kb_app.command("archive")
def kb_archive(article_id: str, tenant: TenantOpt = None) -> None:
    """Take an article out of search (its revisions are kept)."""
    from kb_ingest.indexing import Indexer

    s = _settings()

    async def go():
        ix = Indexer.from_settings(s)
        try:
            return await ix.archive(tenant or s.default_tenant, article_id)
        finally:
            await ix.close()

    try:
        n = _run(go())
    except Exception as e:
        _fail(e)
    typer.echo(f"archived {article_id} ({n} chunks removed from the index)")


@kb_app.command("rollback")
def kb_rollback(article_id: str, to: Annotated[int, typer.Option("--to")], tenant: TenantOpt = None) -> None:
    """Serve an older revision again."""
    from kb_ingest.indexing import Indexer

    s = _settings()

    async def go():
        ix = Indexer.from_settings(s)
        try:
            return await ix.rollback(tenant or s.default_tenant, article_id, to)
        finally:
            await ix.close()

    try:
        _run(go())
    except Exception as e:
        _fail(e)
    typer.echo(f"{article_id} now serves revision {to}")


@kb_app.command("reindex")
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
    from assist.db import ArticleRepository
    from kb_ingest.indexing import Indexer

    s = _settings()

    async def go():
        ix = Indexer.from_settings(s)
        try:
            tenants = ArticleRepository(ix.db).tenant_ids() if all_tenants else [tenant or s.default_tenant]
            reports = []
            for t in tenants:
                with _progress_bars(quiet=as_json) as progress:
                    reports.append(await ix.reindex(t, prune=prune, progress=progress))
            return reports, ix.embedder.model_id
        finally:
            await ix.close()

    try:
        reports, model_id = _run(go())
    except Exception as e:
        _fail(e)
    if as_json:
        _print_json({"embedder": model_id, "tenants": [r.model_dump() for r in reports]})
        return
    for r in reports:
        typer.echo(
            f"{r.tenant}: {r.revisions} revisions ({r.live} live), {r.chunks_total} chunks "
            f"({r.chunks_embedded} embedded with {model_id}, {r.chunks_skipped} already indexed)"
            + (f", {r.chunks_pruned} orphaned points deleted" if prune else "")
        )


@kb_app.command("stats")
def kb_stats(tenant: TenantOpt = None) -> None:
    """Counts of articles by status and type, and chunks in the index."""
    s = _settings()
    _print_json(_repo(s).stats(tenant or s.default_tenant))


# ---------------------------------------------------------------------------- keys
def _keys(s):
    from assist.db import Database, KeyRepository

    db = Database(s.resolved_database_url)
    db.migrate()
    return KeyRepository(db)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")],
    role: Annotated[str, typer.Option("--role", help="agent | bot | knowledge_manager | evaluator | admin")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key. The key is printed once; only its hash is stored."""
    s = _settings()
    try:
        plaintext, rec = _keys(s).create(name, role, tenant or s.default_tenant)  # type: ignore[arg-type]
    except Exception as e:
        _fail(e)
    if as_json:
        _print_json({"key": plaintext, **rec.model_dump(mode="json")})
    else:
        typer.echo(plaintext)
        typer.secho(f"id={rec.id} role={rec.role} tenant={rec.tenant}: store the key now, it is not shown again",
                    fg="yellow", err=True)


@keys_app.command("list")
def keys_list(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List keys (prefix, role, tenant; never the key)."""
    s = _settings()
    rows = _keys(s).list(tenant)
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    for r in rows:
        state = "revoked" if r.revoked_at else "active"
        typer.echo(f"{r.id:4} {r.prefix}…  {r.role:18} {r.tenant:12} {state:8} {r.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key by id."""
    s = _settings()
    try:
        rec = _keys(s).revoke(key_id)
    except Exception as e:
        _fail(e)
    typer.echo(f"revoked key {rec.id} ({rec.name})")


# ---------------------------------------------------------------------------- assist
def _pipeline(s, *, need_llm: bool):
    """Build the pipeline; with the embedded LLM provider, start the local model server."""
    from assist.pipeline import AssistPipeline

    server = None
    llm = None
    if need_llm and s.llm.provider == "embedded":
        from assist.llm import make_chat_model
        from assist.llm.local_server import LocalModelServer

        server = LocalModelServer(s)
        server.start()
        llm = make_chat_model(s, server=server)
    elif not need_llm:
        from assist.llm.fake import FakeChatModel

        llm = FakeChatModel(replies=[])
    return AssistPipeline.from_settings(s, llm=llm), server


def _with_pipeline(s, fn, *, need_llm: bool):
    """``await fn(pipe)`` on a fresh pipeline, closing it (and stopping the embedded model
    server that ``need_llm`` started) afterwards; assist errors exit 2 with their message."""

    async def go():
        pipe, server = _pipeline(s, need_llm=need_llm)
        try:
            return await fn(pipe)
        finally:
            await pipe.close()
            if server:
                server.stop()

    try:
        return _run(go())
    except Exception as e:
        _fail(e)


@app.command()
def search(
    query: str,
    tenant: TenantOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 5,
    language: Annotated[str | None, typer.Option("--language")] = None,
    product: Annotated[str | None, typer.Option("--product")] = None,
    mode: Annotated[str, typer.Option(help="hybrid | dense | sparse")] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """Search the knowledge base (hybrid dense + sparse)."""
    s = _settings()
    res = _with_pipeline(s, lambda pipe: pipe.search(
        query, tenant=tenant or s.default_tenant, top_k=top_k, languages=[language] if language else None,
        products=[product] if product else None, mode=mode), need_llm=False)
    if as_json:
        _print_json({
            "query": res.query, "covered": res.covered, "top_dense": res.top_dense, "entity": res.entity,
            "results": [{"article_id": r.chunk.article_id, "revision": r.chunk.revision, "title": r.chunk.title,
                         "section": r.chunk.section, "score": r.score, "text": r.chunk.text} for r in res.chunks],
        })
        return
    typer.echo(f"covered={res.covered} top_dense={res.top_dense}")
    for i, r in enumerate(res.chunks, 1):
        typer.echo(f"[{i}] {r.score:.4f} {r.chunk.article_id}@{r.chunk.revision} {r.chunk.title} > {r.chunk.section}")
        typer.echo("    " + r.chunk.text[:160].replace("\n", " "))


def _load_conversation(path: Path | None, message: str | None, tenant: str | None, s):
    from assist.types import Conversation, Turn

    if path is not None:
        conv = _conversation_file(path, tenant, s)
    else:
        conv = Conversation(tenant=tenant or s.default_tenant, turns=[])
    if message:
        conv.turns.append(Turn(role="customer", text=message))
    return conv


@app.command()
def draft(
    message: Annotated[str | None, typer.Option("--message", "-m", help="The customer's message.")] = None,
    history: Annotated[Path | None, typer.Option("--history", help="Conversation JSON file.")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Draft a cited reply to the customer's last message."""
    s = _settings()
    conv = _load_conversation(history, message, tenant, s)

    async def go(pipe):
        d = await pipe.draft(conv)
        return d, pipe.restore(d)

    d, restored = _with_pipeline(s, go, need_llm=True)
    if as_json:
        out = d.model_dump(mode="json", exclude={"sources"})
        out["sources"] = [{"article_id": r.chunk.article_id, "revision": r.chunk.revision, "title": r.chunk.title,
                           "section": r.chunk.section, "score": r.score} for r in d.sources]
        _print_json(out)
        return
    typer.echo(f"[{d.status}] {restored}")
    for c in d.citations:
        typer.echo(f"  [{c.number}] {c.article_id}@{c.revision} {c.title} > {c.section}")
    for f in d.flags:
        typer.secho(f"  flag: {f}", fg="yellow")


ConvOpt = Annotated[Path, typer.Option("--conversation", "-c", help="Conversation JSON file.")]


def _conversation_file(path: Path, tenant: str | None, s):
    from assist.types import Conversation

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        conv = Conversation.model_validate(data)
    except (OSError, ValueError) as e:
        typer.secho(f"error: {path}: not a conversation JSON file ({e})", fg="red", err=True)
        raise typer.Exit(2) from e
    if tenant:
        conv.tenant = tenant
    return conv


@app.command()
def escalate(conversation: ConvOpt, tenant: TenantOpt = None,
             category: Annotated[str | None, typer.Option(help="Known category (skips routing).")] = None,
             no_llm: Annotated[bool, typer.Option("--no-llm", help="Rules and router only, no model hints.")] = False,
             as_json: JsonOpt = False) -> None:
    """Suggest whether, to whom and by when to escalate a conversation."""
    s = _settings()
    if no_llm:
        s.escalation_use_llm = False
    conv = _conversation_file(conversation, tenant, s)

    async def go(pipe):
        return (await pipe.escalate(conv, category=category))[0]

    d = _with_pipeline(s, go, need_llm=s.escalation_use_llm)
    if as_json:
        _print_json(d.model_dump(mode="json"))
        return
    if not d.escalate:
        typer.echo(f"no escalation (category {d.category}, sentiment {d.sentiment})")
        return
    typer.secho(f"ESCALATE to {d.target} by {d.deadline} ({d.urgency}); SOP {d.sop_citation}", fg="red")
    for r in d.reasons:
        typer.echo(f"  - {r}")


@app.command()
def qa(reply: Annotated[str, typer.Option("--reply", "-r", help="The reply to check.")],
       conversation: Annotated[Path | None, typer.Option("--conversation", "-c")] = None,
       tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Check a reply against the tenant's quality rubric."""
    s = _settings()
    conv = _conversation_file(conversation, tenant, s) if conversation else None
    t = tenant or (conv.tenant if conv else s.default_tenant)

    async def go(pipe):
        return (await pipe.qa(reply, tenant=t, conversation=conv))[0]

    report = _with_pipeline(s, go, need_llm=False)
    if as_json:
        _print_json(report.model_dump(mode="json"))
        return
    typer.echo(f"score {report.score:.0f} {'PASS' if report.passed else 'FAIL'}")
    for f in report.findings:
        span = f" @{f.span[0]}-{f.span[1]}" if f.span else ""
        typer.echo(f"  [{f.severity}] {f.check}{span}: {f.message}")


@app.command()
def summarize(conversation: ConvOpt, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Handover summary of a conversation (issue, steps, promises, next action, deadline)."""
    s = _settings()
    conv = _conversation_file(conversation, tenant, s)

    async def go(pipe):
        return (await pipe.summarize(conv))[0]

    out = _with_pipeline(s, go, need_llm=True)
    if as_json:
        _print_json(out)
        return
    typer.echo(f"Issue: {out['issue']}")
    for step in out["steps_taken"]:
        typer.echo(f"  - {step}")
    for p in out["promises"]:
        typer.echo(f"  promise: {p}")
    typer.echo(f"Next: {out['next_action']}  Deadline: {out['deadline']}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the API (and, on embedded defaults, the local model server)."""
    import uvicorn

    from serving.app import create_app

    s = _settings()
    uvicorn.run(create_app(s), host=host or s.server.host, port=port or s.server.port,
                log_level=s.log_level.lower())


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
