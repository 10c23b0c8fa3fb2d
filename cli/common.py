"""What every command group shares: settings, options, output and error handling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from assist.config import Settings
    from assist.db import Database
    from assist.runtime import Runtime
    from assist.types import Conversation

T = TypeVar("T")

TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant id (default: ASSIST_DEFAULT_TENANT).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ConvOpt = Annotated[Path, typer.Option("--conversation", "-c", help="Conversation JSON file.")]


def settings() -> Settings:
    """The one ``Settings`` of a command (environment, ``.env``)."""
    from assist.config import Settings

    return Settings()


def fail(e: BaseException) -> NoReturn:
    """An assist error becomes one red line and exit code 2; anything else propagates."""
    from assist.errors import AssistError

    if isinstance(e, AssistError):
        typer.secho(f"error: {e.message}", fg="red", err=True)
        raise typer.Exit(2) from e
    raise e


def run(coro: Awaitable[T]) -> T:
    """``asyncio.run`` with assist errors mapped by :func:`fail`."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except Exception as e:
        fail(e)


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def error_exit(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def progress_bars(*, quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
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


def conversation_file(path: Path, tenant: str | None) -> Conversation:
    """A conversation JSON file; a bad file exits 2 with its reason."""
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


def with_runtime(
    s: Settings, fn: Callable[[Runtime], Awaitable[T]], *, need_llm: bool, tenant: str | None = None
) -> T:
    """``await fn(rt)`` on a runtime built from ``s`` (:func:`assist.runtime.open_runtime`),
    closed afterwards (the embedded model server that ``need_llm`` started is stopped);
    assist errors exit 2 with their message. ``tenant``: the tenant the command acts on
    (its ``--tenant`` or the default one): after ``assist models adapt`` switched it, the
    runtime has its adapted embedder and that model's collection; None (``--all-tenants``,
    commands without a tenant): the configured embedder."""
    from assist.runtime import open_runtime

    async def go() -> T:
        async with open_runtime(s, need_llm=need_llm, tenant=tenant) as rt:
            return await fn(rt)

    return run(go())


def database(s: Settings) -> Database:
    """The migrated database alone, for commands that need no model."""
    from assist.runtime import open_database

    return open_database(s)
