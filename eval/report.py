"""HTML and Markdown reports of an evaluation run.

The HTML is one self-contained file (matplotlib PNGs embedded as data URIs): the main
metrics over the previous runs of the same kind and dataset, a per-category breakdown
and the worst items. ``summary.md`` holds the same numbers for a pull request.

Example:
    >>> paths = write_report(outcome, history, Path("reports/golden"))   # doctest: +SKIP
    >>> paths["html"].name
    'report.html'
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from assist.db.evalruns import EvalRunRecord
from eval.gate import flatten
from eval.harness import EvalOutcome


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _main_metrics(outcome: EvalOutcome, limit: int = 6) -> list[str]:
    flat = flatten({k: v for k, v in outcome.metrics.items() if not isinstance(v, dict)})
    skip = {"queries", "items", "answerable", "unanswerable", "turns", "questions", "n", "knowledge_seeking"}
    return [k for k in flat if k not in skip][:limit]


def _plots(outcome: EvalOutcome, history: list[EvalRunRecord]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    names = _main_metrics(outcome)
    # 1. Metrics over runs (oldest first, the current run last).
    runs = sorted(history, key=lambda r: r.id)
    xs = [str(r.id) for r in runs]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for name in names:
        ys = [flatten(r.metrics).get(name) for r in runs]
        ax.plot(xs, [y if y is not None else float("nan") for y in ys], marker="o", label=name)
    ax.set_xlabel("run id")
    ax.set_title(f"{outcome.kind} / {outcome.dataset}: metrics over runs")
    if names:
        ax.legend(fontsize=7, loc="best")
    out.append(("Metrics over runs", _png(fig)))
    # 2. Per-category mean item score.
    cats: dict[str, list[float]] = defaultdict(list)
    for it in outcome.items:
        score = it.metrics.get("score", next(iter(it.metrics.values()), None))
        if isinstance(score, (int, float)):
            cats[str(it.detail.get("category", "all"))].append(float(score))
    if cats:
        top = sorted(cats.items(), key=lambda kv: -len(kv[1]))[:20]
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1.2))
        ax.barh([k for k, _ in top], [sum(v) / len(v) for _, v in top])
        ax.set_xlim(0, 1)
        ax.set_title("Mean item score per category")
        out.append(("Per-category breakdown", _png(fig)))
    # 3. Worst items.
    worst = _worst(outcome)
    if worst:
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(worst) + 1.2))
        ax.barh([w[0][:30] for w in worst][::-1], [w[1] for w in worst][::-1], color="tab:red")
        ax.set_xlim(0, 1)
        ax.set_title("Worst items (score)")
        out.append(("Worst items", _png(fig)))
    return out


def _worst(outcome: EvalOutcome, n: int = 15) -> list[tuple[str, float, dict[str, Any]]]:
    scored = []
    for it in outcome.items:
        s = it.metrics.get("score", next(iter(it.metrics.values()), None))
        if isinstance(s, (int, float)):
            scored.append((it.item_id, float(s), it.detail))
    return sorted(scored, key=lambda x: x[1])[:n]


def write_report(outcome: EvalOutcome, history: list[EvalRunRecord], out_dir: Path) -> dict[str, Path]:
    """Write ``report.html`` (with embedded PNG plots) and ``summary.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = _plots(outcome, history)
    flat = flatten(outcome.metrics)
    worst = _worst(outcome)
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>" for k, v in flat.items())
    worst_rows = "".join(
        f"<tr><td>{html.escape(i)}</td><td>{s:.3f}</td><td><code>{html.escape(json.dumps(d, ensure_ascii=False)[:400])}"
        "</code></td></tr>" for i, s, d in worst)
    imgs = "".join(f"<h2>{html.escape(t)}</h2><img alt=\"{html.escape(t)}\" src=\"data:image/png;base64,{b}\">"
                   for t, b in plots)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>eval {html.escape(outcome.kind)}</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:auto}}td,th{{border:1px solid #ccc;padding:2px 6px}}
table{{border-collapse:collapse}}code{{font-size:11px}}</style></head><body>
<h1>{html.escape(outcome.kind)} — {html.escape(outcome.dataset)} (run {outcome.run_id})</h1>
<p>models: <code>{html.escape(json.dumps(outcome.model_ids, ensure_ascii=False))}</code></p>
<table><tr><th>metric</th><th>value</th></tr>{rows}</table>{imgs}
<h2>Worst items</h2><table><tr><th>item</th><th>score</th><th>detail</th></tr>{worst_rows}</table>
</body></html>"""
    html_path = out_dir / "report.html"
    html_path.write_text(page, encoding="utf-8")
    md = [f"# {outcome.kind} — {outcome.dataset} (run {outcome.run_id})", "",
          f"Models: `{json.dumps(outcome.model_ids, ensure_ascii=False)}`", "", "| metric | value |", "|---|---|"]
    md += [f"| {k} | {v:.4f} |" for k, v in flat.items()]
    md += ["", "## Worst items", "", "| item | score |", "|---|---|"]
    md += [f"| {i} | {s:.3f} |" for i, s, _ in worst]
    md_path = out_dir / "summary.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return {"html": html_path, "markdown": md_path}
