"""``assist keys ...``: API keys (stored hashed; the plaintext is printed once)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOpt, TenantOpt, database, fail, print_json, settings

app = typer.Typer(help="API keys.", no_args_is_help=True)


def _keys():
    from assist.db import KeyRepository

    s = settings()
    return s, KeyRepository(database(s))


@app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")],
    role: Annotated[str, typer.Option("--role", help="agent | bot | knowledge_manager | evaluator | supervisor | admin")],
    tenant: TenantOpt = None,
    expires_in: Annotated[str | None, typer.Option("--expires-in", help="Lifetime, e.g. 12h, 30d, 8w.")] = None,
    expires_at: Annotated[str | None, typer.Option("--expires-at",
                                                   help="Expiry, ISO date or time (UTC unless a zone is given).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key. The key is printed once; only its hash is stored."""
    from assist.db.keys import parse_expiry

    s, keys = _keys()
    try:
        plaintext, rec = keys.create(name, role, tenant or s.default_tenant,  # type: ignore[arg-type]
                                     expires_at=parse_expiry(expires_in, expires_at))
    except Exception as e:
        fail(e)
    if as_json:
        print_json({"key": plaintext, **rec.model_dump(mode="json")})
    else:
        typer.echo(plaintext)
        until = f" expires={rec.expires_at.isoformat()}" if rec.expires_at else ""
        typer.secho(f"id={rec.id} role={rec.role} tenant={rec.tenant}{until}: store the key now, it is not shown "
                    "again", fg="yellow", err=True)


@app.command("list")
def keys_list(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List keys (prefix, role, tenant; never the key)."""
    _, keys = _keys()
    rows = keys.list(tenant)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    for r in rows:
        state = "revoked" if r.revoked_at else "expired" if r.expired else "active"
        typer.echo(f"{r.id:4} {r.prefix}…  {r.role:18} {r.tenant:12} {state:8} {r.name}")


@app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key by id."""
    _, keys = _keys()
    try:
        rec = keys.revoke(key_id)
    except Exception as e:
        fail(e)
    typer.echo(f"revoked key {rec.id} ({rec.name})")
