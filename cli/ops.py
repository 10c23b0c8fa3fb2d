"""``assist ops``: the supervisors' side (import, inspect, KPIs, alerts, topics, report, purge)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import JsonOpt, TenantOpt, error_exit, fail, print_json, settings

if TYPE_CHECKING:
    from assist.ops.service import OpsService

app = typer.Typer(help="Supervisors and quality inspectors: conversations, QA, KPIs, red lines, reports.",
                  no_args_is_help=True)


def _service(*, webhook: bool = True) -> tuple[OpsService, str]:
    from assist.db import Database
    from assist.ops.alerts import WebhookNotifier
    from assist.ops.service import OpsService
    from assist.tenants import TenantRegistry

    s = settings()
    db = Database.from_settings(s)
    db.migrate()
    notifier = None
    if webhook and s.ops.webhook_url:
        notifier = WebhookNotifier(s.ops.webhook_url, timeout_s=s.ops.webhook_timeout_s,
                                   attempts=s.ops.webhook_attempts)
    return OpsService(db, TenantRegistry(s.tenants_dir), notifier=notifier,
                      retention_days=s.ops.retention_days), s.default_tenant


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .jsonl (one conversation per line) or .csv (one turn per row).")],
    tenant: TenantOpt = None,
    inspect: Annotated[bool, typer.Option("--inspect/--no-inspect", help="Inspect what was stored.")] = True,
    json_out: JsonOpt = False,
) -> None:
    """Import finished conversations; bad rows are reported with line and reason, the rest stored."""
    try:
        ops, default = _service()
        t = tenant or default
        rep = ops.import_file(file, t, inspect=inspect)
        alerts = [a for a in ops.alerts(t) if a["state"] == "firing"]
    except Exception as e:
        fail(e)
    out = rep.model_dump()
    out["alerts_firing"] = [{k: a[k] for k in ("metric", "window", "value", "threshold")} for a in alerts]
    if json_out:
        print_json(out)
    else:
        typer.echo(f"{t}: {rep.received} received, {rep.stored} stored, {rep.updated} updated, "
                   f"{rep.unchanged} unchanged, {rep.rejected} rejected; {rep.messages} messages; "
                   + ", ".join(f"{k} {v:.2f}s" for k, v in rep.seconds.items()))
        for e in rep.errors[:50]:
            typer.secho(f"  line {e.line}{' (' + e.id + ')' if e.id else ''}: {e.reason}", fg="yellow", err=True)
        for a in out["alerts_firing"]:
            typer.secho(f"  RED LINE {a['metric']} {a['window']}: {a['value']:.3f} (line {a['threshold']})", fg="red")
    if rep.received and rep.rejected == rep.received:
        raise typer.Exit(1)


@app.command()
def inspect(
    tenant: TenantOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Re-inspect every stored conversation (after a rubric change).")]
    = False,
    json_out: JsonOpt = False,
) -> None:
    """Inspect the conversations not inspected yet (``--all``: every one)."""
    try:
        ops, default = _service()
        t = tenant or default
        days = ops.inspect(t, ops.store.ids(t) if all_ else None)
        notices = ops.monitor.evaluate(t, ops.profile(t), days)
    except Exception as e:
        fail(e)
    out = {"tenant": t, "days": len(days), "notices": notices}
    print_json(out) if json_out else typer.echo(f"{t}: inspected conversations of {len(days)} day(s); "
                                                f"{len(notices)} alert notice(s)")


@app.command()
def kpis(
    tenant: TenantOpt = None,
    by: Annotated[list[str] | None, typer.Option("--by", help="day|week|month|agent|queue|channel|topic")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM")] = None,
    agent: Annotated[str | None, typer.Option("--agent")] = None,
    queue: Annotated[str | None, typer.Option("--queue")] = None,
    json_out: JsonOpt = False,
) -> None:
    """KPIs grouped by dimensions."""
    try:
        ops, default = _service(webhook=False)
        rows = ops.kpis(tenant or default, by=tuple(by or ()), month=month, agent=agent, queue=queue)
    except Exception as e:
        fail(e)
    if json_out:
        print_json(rows)
        return
    for r in rows:
        typer.echo("  ".join(f"{k}={v}" for k, v in r.items()))


@app.command()
def alerts(
    tenant: TenantOpt = None,
    evaluate: Annotated[bool, typer.Option("--evaluate", help="Evaluate the red lines over all data first.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Red-line alerts (firing and resolved)."""
    try:
        ops, default = _service()
        t = tenant or default
        if evaluate:
            ops.evaluate_alerts(t)
        rows = ops.alerts(t)
    except Exception as e:
        fail(e)
    if json_out:
        print_json(rows)
        return
    for a in rows:
        typer.echo(f"{a['state']:8} {a['metric']:18} {a['window']:18} value={a['value']:.3f} line={a['threshold']}")


@app.command()
def topics(
    tenant: TenantOpt = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: all data)")] = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of topics (default: chosen by silhouette).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Group conversations into topics with the embedder; name them; flag rising ones."""
    from cli.common import run

    try:
        ops, default = _service(webhook=False)
        from assist.embedders import make_embedder

        embedder = make_embedder(settings())
        from assist.ops.topics import TopicModel

        result = run(TopicModel(embedder).fit_tenant(ops, tenant or default, month=month, k=k))
    except Exception as e:
        fail(e)
    if json_out:
        print_json(result)
        return
    for t in result["topics"]:
        flag = "  RISING" if t["rising"] else ""
        typer.echo(f"[{t['id']}] {t['name']}  n={t['size']} complaints={t['complaint_share']:.2f}{flag}")


@app.command()
def report(
    tenant: TenantOpt = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: the latest month with data)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html | pdf | json")] = "html",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: ops-report-T-M.EXT)")] = None,
    topics_: Annotated[bool, typer.Option("--topics/--no-topics", help="Cluster topics with the embedder.")] = True,
) -> None:
    """The monthly service-quality report."""
    if fmt not in ("html", "pdf", "json"):
        error_exit(f"--format {fmt!r}: use html, pdf or json")
    try:
        ops, default = _service(webhook=False)
        t = tenant or default
        from assist.ops.report import build_report, render_html, render_pdf

        embedder = None
        if topics_:
            from assist.embedders import make_embedder

            embedder = make_embedder(settings())
        from assist.db import GapRepository
        from cli.common import run

        data = run(build_report(ops, t, month=month, embedder=embedder, gaps=GapRepository(ops.db)))
    except Exception as e:
        fail(e)
    if fmt == "json":
        if out:
            import json

            out.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
            typer.echo(str(out))
        else:
            print_json(data)
        return
    path = out or Path(f"ops-report-{t}-{data['month']}.{fmt}")
    if fmt == "html":
        path.write_text(render_html(data), encoding="utf-8")
    else:
        render_pdf(data, path)
    typer.echo(str(path))


@app.command()
def purge(tenant: TenantOpt = None, json_out: JsonOpt = False) -> None:
    """Delete conversations older than the retention (ops.yaml or ASSIST_OPS__RETENTION_DAYS)."""
    try:
        ops, default = _service(webhook=False)
        n = ops.purge(tenant or default)
    except Exception as e:
        fail(e)
    print_json({"deleted": n}) if json_out else typer.echo(f"deleted {n} conversation(s)")
