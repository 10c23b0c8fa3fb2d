"""``assist search|draft|escalate|qa|summarize``: the agent-assist functions from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import ConvOpt, JsonOpt, TenantOpt, conversation_file, print_json, settings, with_runtime

app = typer.Typer()


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
    s = settings()
    res = with_runtime(s, lambda rt: rt.pipeline.search(
        query, tenant=tenant or s.default_tenant, top_k=top_k, languages=[language] if language else None,
        products=[product] if product else None, mode=mode), need_llm=False, tenant=tenant or s.default_tenant)
    if as_json:
        print_json({
            "query": res.query, "covered": res.covered, "top_dense": res.top_dense, "entity": res.entity,
            "results": [{"article_id": r.chunk.article_id, "revision": r.chunk.revision, "title": r.chunk.title,
                         "section": r.chunk.section, "score": r.score, "text": r.chunk.text} for r in res.chunks],
        })
        return
    typer.echo(f"covered={res.covered} top_dense={res.top_dense}")
    for i, r in enumerate(res.chunks, 1):
        typer.echo(f"[{i}] {r.score:.4f} {r.chunk.article_id}@{r.chunk.revision} {r.chunk.title} > {r.chunk.section}")
        typer.echo("    " + r.chunk.text[:160].replace("\n", " "))


@app.command()
def draft(
    message: Annotated[str | None, typer.Option("--message", "-m", help="The customer's message.")] = None,
    history: Annotated[Path | None, typer.Option("--history", help="Conversation JSON file.")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Draft a cited reply to the customer's last message."""
    from assist.types import Conversation, Turn

    s = settings()
    if history is not None:
        conv = conversation_file(history, tenant)
    else:
        conv = Conversation(tenant=tenant or s.default_tenant, turns=[])
    if message:
        conv.turns.append(Turn(role="customer", text=message))

    async def go(rt):
        d = await rt.pipeline.draft(conv)
        return d, rt.pipeline.restore(d)

    d, restored = with_runtime(s, go, need_llm=True, tenant=conv.tenant)
    if as_json:
        out = d.model_dump(mode="json", exclude={"sources"})
        out["sources"] = [{"article_id": r.chunk.article_id, "revision": r.chunk.revision, "title": r.chunk.title,
                           "section": r.chunk.section, "score": r.score} for r in d.sources]
        print_json(out)
        return
    typer.echo(f"[{d.status}] {restored}")
    for c in d.citations:
        typer.echo(f"  [{c.number}] {c.article_id}@{c.revision} {c.title} > {c.section}")
    for f in d.flags:
        typer.secho(f"  flag: {f}", fg="yellow")


@app.command()
def escalate(conversation: ConvOpt, tenant: TenantOpt = None,
             category: Annotated[str | None, typer.Option(help="Known category (skips routing).")] = None,
             no_llm: Annotated[bool, typer.Option("--no-llm", help="Rules and router only, no model hints.")] = False,
             as_json: JsonOpt = False) -> None:
    """Suggest whether, to whom and by when to escalate a conversation."""
    s = settings()
    if no_llm:
        s.escalation_use_llm = False
    conv = conversation_file(conversation, tenant)

    async def go(rt):
        return (await rt.pipeline.escalate(conv, category=category))[0]

    d = with_runtime(s, go, need_llm=s.escalation_use_llm, tenant=conv.tenant)
    if as_json:
        print_json(d.model_dump(mode="json"))
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
    s = settings()
    conv = conversation_file(conversation, tenant) if conversation else None
    t = tenant or (conv.tenant if conv else s.default_tenant)

    async def go(rt):
        return (await rt.pipeline.qa(reply, tenant=t, conversation=conv))[0]

    report = with_runtime(s, go, need_llm=False, tenant=t)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    typer.echo(f"score {report.score:.0f} {'PASS' if report.passed else 'FAIL'}")
    for f in report.findings:
        span = f" @{f.span[0]}-{f.span[1]}" if f.span else ""
        typer.echo(f"  [{f.severity}] {f.check}{span}: {f.message}")


@app.command()
def summarize(conversation: ConvOpt, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Handover summary of a conversation (issue, steps, promises, next action, deadline)."""
    s = settings()
    conv = conversation_file(conversation, tenant)

    async def go(rt):
        return (await rt.pipeline.summarize(conv))[0]

    out = with_runtime(s, go, need_llm=True, tenant=conv.tenant)
    if as_json:
        print_json(out)
        return
    typer.echo(f"Issue: {out['issue']}")
    for step in out["steps_taken"]:
        typer.echo(f"  - {step}")
    for p in out["promises"]:
        typer.echo(f"  promise: {p}")
    typer.echo(f"Next: {out['next_action']}  Deadline: {out['deadline']}")
