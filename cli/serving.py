"""``assist serve``: the API (and, on embedded defaults, the local model server)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import settings

app = typer.Typer()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the API (and, on embedded defaults, the local model server)."""
    import uvicorn

    from serving.app import create_app

    s = settings()
    uvicorn.run(create_app(s), host=host or s.server.host, port=port or s.server.port,
                log_level=s.log_level.lower())
