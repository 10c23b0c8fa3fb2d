"""``assist eval ...``: run evaluations, store them, compare and gate them.

Every run is stored in the database (``EvalRunRepository``) with its config, model ids,
git commit, metrics and per-item results. ``--json`` prints the summary metrics;
``--report DIR`` writes an HTML report with plots and a Markdown summary.

Example:
    $ assist eval golden --dataset eval/golden --json
    $ assist eval gate --baseline eval/golden/baseline.json --tolerance 0.02
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Evaluation harness: retrieval, routing, RAG, dialogue, answers, golden gate.",
                  no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write report.html + summary.md here.")]


def resolve_dataset(path: Path) -> Path:
    """A dataset folder as given, or a bare name under ``ASSIST_DATA_DIR`` (default
    ``../shared/data`` beside the repository): ``--dataset zh_bq_faq``."""
    if path.exists() or path.is_absolute() or len(path.parts) != 1:
        return path
    from assist.config import Settings

    candidate = Settings().resolved_data_dir / path
    return candidate if candidate.exists() else path


DatasetOpt = Annotated[Path, typer.Option("--dataset", callback=resolve_dataset,
                                          help="Dataset folder, or a data set's name under ASSIST_DATA_DIR.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="Only the first N items (file order).")]
SaveOpt = Annotated[Path | None, typer.Option("--save-baseline", help="Also write the metrics to this JSON file.")]


def _settings() -> Any:
    from assist.config import Settings

    return Settings()


def _emit(outcome: Any, ctx: Any, *, as_json: bool, report: Path | None, save: Path | None) -> None:
    from assist.db.evalruns import EvalRunRepository
    from eval.harness import store_outcome

    store_outcome(ctx.db, outcome)
    if report is not None:
        from eval.report import write_report

        history = EvalRunRepository(ctx.db).list(kind=outcome.kind, dataset=outcome.dataset, limit=30)
        paths = write_report(outcome, history, report)
        typer.echo(f"report: {paths['html']}", err=True)
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps({"kind": outcome.kind, "dataset": outcome.dataset, "metrics": outcome.metrics,
                                    "model_ids": outcome.model_ids}, ensure_ascii=False, indent=2) + "\n")
    summary = outcome.summary()
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        for k, v in summary.items():
            typer.echo(f"{k:32} {json.dumps(v, ensure_ascii=False, default=str)}")


def _run(fn: Callable[[Any], Awaitable[Any]], *, as_json: bool, report: Path | None, save: Path | None = None,
         need_llm: bool = False) -> None:
    """Open a context (one runtime: :mod:`assist.runtime`), run ``fn(ctx)``, store and
    print the outcome; map errors to exit 2. ``need_llm``: the configured chat model (the
    runtime starts and stops the embedded server); otherwise a fake that is never asked."""
    from assist.errors import AssistError
    from eval.retrieval import EvalContext

    async def go() -> None:
        ctx = EvalContext.open(_settings(), need_llm=need_llm)
        try:
            outcome = await fn(ctx)
            _emit(outcome, ctx, as_json=as_json, report=report, save=save)
        finally:
            await ctx.close()

    try:
        asyncio.run(go())
    except AssistError as e:
        typer.secho(f"error: {e.message}", fg="red", err=True)
        raise typer.Exit(2) from e


@app.command()
def retrieval(
    dataset: DatasetOpt,
    query_field: Annotated[str, typer.Option("--query-field", help="text | text_with_context")] = "text",
    modes: Annotated[str, typer.Option("--modes", help="Comma-separated: dense,sparse,hybrid")] = "dense,sparse,hybrid",
    limit: LimitOpt = None,
    reindex: Annotated[bool, typer.Option("--reindex", help="Ask the indexer even if the corpus marker matches.")] = False,
    fit_fusion: Annotated[bool, typer.Option("--fit-fusion", help="Fit the tenant's DBSF weights on the first half "
                                             "of the queries, store them, report the second half too.")] = False,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    save_baseline: SaveOpt = None,
) -> None:
    """nDCG@10, Recall@1/5/10/100, MRR@10 on a BEIR folder, per retrieval mode."""
    from eval.retrieval import evaluate_beir

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    bad = [m for m in mode_list if m not in ("dense", "sparse", "hybrid")]
    if bad:
        raise typer.BadParameter(f"unknown modes {bad}: use dense, sparse, hybrid")
    _run(lambda ctx: evaluate_beir(ctx, dataset, query_field=query_field, modes=mode_list,  # type: ignore[arg-type]
                                   limit=limit, reindex=reindex, fit_fusion=fit_fusion),
         as_json=as_json, report=report, save=save_baseline)


@app.command()
def routing(
    dataset: DatasetOpt,
    limit: LimitOpt = None,
    method: Annotated[str, typer.Option("--method", help="logreg | knn")] = "logreg",
    max_in_scope_rejection: Annotated[float | None, typer.Option(
        "--max-in-scope-rejection",
        help="OOS threshold budget: share of in-scope examples rejected in CV (default: routing settings).")] = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    save_baseline: SaveOpt = None,
) -> None:
    """Few-shot intent routing: accuracy, macro-F1, out-of-scope recall/precision."""
    from eval.routing import evaluate_routing

    _run(lambda ctx: evaluate_routing(ctx, dataset, limit=limit, method=method,
                                               max_in_scope_rejection=max_in_scope_rejection), as_json=as_json, report=report,
         save=save_baseline)


@app.command()
def rag(
    dataset: DatasetOpt,
    limit: Annotated[int, typer.Option("--limit", help="First N questions (the model is slow on CPU).")] = 20,
    noise: Annotated[str, typer.Option("--noise", help="Noise ratios, comma-separated.")] = "0,0.2,0.4,0.6,0.8",
    subsets: Annotated[bool, typer.Option("--subsets/--no-subsets", help="Also qa_int and qa_fact.")] = True,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
) -> None:
    """RGB protocol: accuracy per noise ratio, rejection rate, integration, counterfactual."""
    from eval.rag import evaluate_rag

    ratios = [float(x) for x in noise.split(",") if x.strip()]
    _with_llm(lambda ctx, llm: evaluate_rag(ctx, dataset, llm, limit=limit, noise=ratios, subsets=subsets),
              as_json=as_json, report=report)


def _with_llm(fn: Callable[[Any, Any], Awaitable[Any]], *, as_json: bool, report: Path | None) -> None:
    """Run ``fn(ctx, llm)`` with the configured chat model."""
    _run(lambda ctx: fn(ctx, ctx.pipeline.llm), as_json=as_json, report=report, need_llm=True)


@app.command()
def dialogue(
    dataset: DatasetOpt,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
) -> None:
    """DSTC10: knowledge-seeking turn detection P/R/F1 and snippet selection R@1/R@5."""
    from eval.dialogue import evaluate_dialogue

    _run(lambda ctx: evaluate_dialogue(ctx, dataset, limit=limit), as_json=as_json, report=report)


@app.command()
def answers(
    dataset: DatasetOpt = Path("eval/golden"),
    limit: Annotated[int, typer.Option("--limit", help="First N answerable golden items.")] = 5,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
) -> None:
    """ragas faithfulness, response relevancy, context precision/recall on golden drafts."""
    from eval.answers import evaluate_answers

    _with_llm(lambda ctx, llm: evaluate_answers(ctx, dataset, llm, limit=limit), as_json=as_json, report=report)


@app.command()
def golden(
    dataset: DatasetOpt = Path("eval/golden"),
    limit: LimitOpt = None,
    top_k: Annotated[int, typer.Option("--top-k")] = 5,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    save_baseline: SaveOpt = None,
) -> None:
    """The fast CI gate: hit@k, covered accuracy, escalation accuracy (no model needed)."""
    from eval.retrieval import evaluate_golden

    _run(lambda ctx: evaluate_golden(ctx, dataset, top_k=top_k, limit=limit), as_json=as_json, report=report,
         save=save_baseline)


@app.command()
def adapt(
    train: Annotated[Path, typer.Option("--train", callback=resolve_dataset,
                                        help="Paraphrase pairs (JSONL {sentence1, sentence2, label}, or a folder "
                                             "holding pairs.jsonl); never the evaluation set.")],
    dataset: DatasetOpt,
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the positive pairs.")] = 1.0,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop after this many steps.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per step (in-batch negatives).")] = 32,
    learning_rate: Annotated[float, typer.Option("--lr")] = 2e-5,
    max_seq_length: Annotated[int, typer.Option("--max-seq-length")] = 64,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="Stop training after the step that "
                                                      "crosses this time (steps done are reported).")] = None,
    train_layers: Annotated[int | None, typer.Option("--train-layers", help="Train only the top N layers.")] = None,
    hard_negatives: Annotated[bool, typer.Option("--hard-negatives/--no-hard-negatives",
                                                 help="Labelled negative pairs as hard negatives.")] = True,
    retrain: Annotated[bool, typer.Option("--retrain", help="Train again even if this config was trained.")] = False,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
) -> None:
    """Fine-tune the configured embedder on paraphrase pairs; dense nDCG@10 before vs after.

    The adapted model goes to HOME/models/adapted/_eval/ (reused when the same data and
    config were trained before); both models are measured through the product's retrieval
    path (eval retrieval --modes dense). Prints training time, steps and nDCG@10 before/after.
    """
    from assist.embedders.adapt import AdaptConfig
    from eval.adapt import evaluate_adapt

    cfg = AdaptConfig(epochs=epochs, max_steps=max_steps, batch_size=batch_size, learning_rate=learning_rate,
                      max_seq_length=max_seq_length, seed=seed, max_seconds=max_seconds, train_layers=train_layers)

    from assist.errors import AssistError
    from eval.harness import open_db

    async def go() -> None:
        s = _settings()
        outcome = await evaluate_adapt(s, train, dataset, config=cfg, hard_negatives=hard_negatives, limit=limit,
                                       retrain=retrain)
        db = open_db(s)
        try:
            _emit(outcome, _Db(db), as_json=as_json, report=report, save=None)
        finally:
            db.dispose()

    try:
        asyncio.run(go())
    except AssistError as e:
        typer.secho(f"error: {e.message}", fg="red", err=True)
        raise typer.Exit(2) from e


class _Db:
    """What :func:`_emit` needs of a context: its database."""

    def __init__(self, db: Any) -> None:
        self.db = db


@app.command()
def calibrate(
    dataset: DatasetOpt = Path("eval/golden"),
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pick retrieval.min_dense_score maximising balanced covered/not-covered accuracy."""
    from eval.retrieval import calibrate as run_calibration

    _run(lambda ctx: run_calibration(ctx, dataset, limit=limit), as_json=as_json, report=None)


def _repo() -> Any:
    from assist.db.evalruns import EvalRunRepository
    from assist.runtime import open_database

    return EvalRunRepository(open_database(_settings()))


@app.command()
def history(
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Stored runs, newest first."""
    runs = _repo().list(kind=kind, dataset=dataset, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json", exclude={"items"}) for r in runs], ensure_ascii=False,
                              indent=2))
        return
    from eval.gate import flatten

    for r in runs:
        head = {k: v for k, v in list(flatten(r.metrics).items())[:5]}
        typer.echo(f"{r.id:5} {r.created_at:%Y-%m-%d %H:%M} {r.kind:10} {r.dataset:20} {r.git_commit or '-':.12} "
                   f"{json.dumps(head)}")


@app.command("compare")
def compare_cmd(a: str, b: str, as_json: JsonOpt = False) -> None:
    """Metrics of two runs (ids or baseline files) side by side, with b - a."""
    from assist.errors import AssistError
    from eval.gate import compare, load_metrics

    try:
        repo = _repo()
        rows = compare(load_metrics(a, repo), load_metrics(b, repo))
    except AssistError as e:
        typer.secho(f"error: {e.message}", fg="red", err=True)
        raise typer.Exit(2) from e
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['metric']:40} {r['a']!s:>10} {r['b']!s:>10} {r['delta']!s:>10}")


@app.command()
def gate(
    baseline: Annotated[str, typer.Option("--baseline", help="Run id or baseline JSON file.")],
    current: Annotated[str | None, typer.Option("--current", help="Run id or file (default: latest run of the "
                                                                   "baseline's kind and dataset).")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance")] = 0.02,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Gate only these (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Exit 1 when a metric is worse than the baseline by more than the tolerance."""
    from assist.errors import AssistError
    from eval.gate import check_gate, load_metrics

    try:
        repo = _repo()
        base = load_metrics(baseline, repo)
        if current is not None:
            cur = load_metrics(current, repo)
        else:
            kind, ds = _kind_dataset(baseline, repo)
            latest = repo.latest(kind=kind, dataset=ds)
            if latest is None:
                raise typer.BadParameter(f"no stored {kind}/{ds} run to gate: run `assist eval {kind}` first")
            cur = latest.metrics
        result = check_gate(cur, base, tolerance=tolerance, metrics=metric or None)
    except AssistError as e:
        typer.secho(f"error: {e.message}", fg="red", err=True)
        raise typer.Exit(2) from e
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for r in result.rows:
            mark = "FAIL" if r.failed else "ok"
            typer.echo(f"{mark:4} {r.metric:36} baseline {r.baseline:.4f} current "
                       f"{'missing' if r.current is None else f'{r.current:.4f}'}")
    if not result.passed:
        typer.secho(f"gate failed: {len(result.failures)} metric(s) worse than baseline - {tolerance}", fg="red",
                    err=True)
        raise typer.Exit(1)


def _kind_dataset(ref: str, repo: Any) -> tuple[str | None, str | None]:
    if ref.isdigit():
        run = repo.get(int(ref))
        return (run.kind, run.dataset) if run else (None, None)
    data = json.loads(Path(ref).read_text(encoding="utf-8"))
    return data.get("kind"), data.get("dataset")


# The qa command lives with its evaluation (eval/qa.py); registered here like the others.
from eval.qa import qa as _qa_command  # noqa: E402

app.command("qa")(_qa_command)
from eval.curated import curated_command as _curated_command  # noqa: E402

app.command("curated")(_curated_command)
from eval.satisfaction import satisfaction_command as _satisfaction_command  # noqa: E402

app.command("satisfaction")(_satisfaction_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
