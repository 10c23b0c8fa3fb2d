"""The monthly service-quality report: KPIs against the tenant's targets, red-line events,
rising topics, the agents and queues with the lowest QA scores and their most frequent
findings, and the knowledge gaps behind not-covered questions.

:func:`build_report` returns plain data (the ``--format json`` output); :func:`render_html`
embeds matplotlib plots as PNG; :func:`render_pdf` writes the plots and tables with
matplotlib's ``PdfPages``. Chinese text in the PDF needs a CJK font on the machine
(e.g. Debian ``fonts-noto-cjk``); the HTML report uses the browser's fonts.
"""

from __future__ import annotations

import base64
import io
import logging
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from assist.errors import NotFoundError
from assist.ops.kpis import kpis

__all__ = ["build_report", "render_html", "render_pdf"]

log = logging.getLogger(__name__)

# Which way is better, for "meets target" and for the plots.
HIGHER_IS_BETTER = {"first_response_sla": True, "fcr": True, "closed_24h": True, "qa_score": True,
                    "satisfaction": True, "complaint_rate": False, "timeout_rate": False, "negative_share": False,
                    "aht_seconds": False}
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "SimHei",
             "Microsoft YaHei", "DejaVu Sans"]


def _prev_month(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


async def build_report(ops: Any, tenant: str, *, month: str | None = None, embedder: Any = None,
                       gaps: Any = None, lowest: int = 5) -> dict[str, Any]:
    """Gather the month's report data.

    Args:
        ops: An :class:`assist.ops.service.OpsService`.
        month: ``YYYY-MM``; default: the latest month with data.
        embedder: For topics (None: topics as stored, unnamed).
        gaps: A :class:`assist.db.GapRepository` (None: no gaps section).
    """
    months = ops.months(tenant)
    if not months:
        raise NotFoundError(f"no conversations for tenant {tenant!r}: run `assist ops import FILE --tenant {tenant}`")
    month = month or months[-1]
    if month not in months:
        raise NotFoundError(f"no conversations for tenant {tenant!r} in {month}; months with data: {', '.join(months)}")
    profile = ops.profile(tenant)
    overall = kpis(ops.db, tenant, month=month)[0]
    prev = _prev_month(month)
    previous = kpis(ops.db, tenant, month=prev)[0] if prev in months else None
    targets = dict(profile.targets)
    vs_target = {}
    for name, target in targets.items():
        value = overall.get(name)
        met = None if value is None else (value >= target if HIGHER_IS_BETTER.get(name, True) else value <= target)
        vs_target[name] = {"value": value, "target": target, "met": met}
    by_day = kpis(ops.db, tenant, by=("day",), month=month)
    by_week = kpis(ops.db, tenant, by=("week",), month=month)
    red_lines = [{"metric": r.metric, "threshold": r.threshold, "direction": "above" if r.above is not None else "below",
                  "window": r.window} for r in profile.red_lines]
    events = ops.alerts(tenant, month=month)
    _recovery_windows(ops, tenant, profile, events)

    agents = _lowest(ops, tenant, month, "agent", lowest)
    queues = _lowest(ops, tenant, month, "queue", lowest)

    topics: dict[str, Any] = {"conversations": 0, "weeks": [], "topics": []}
    if embedder is not None:
        from assist.ops.topics import TopicModel

        topics = await TopicModel(embedder).fit_tenant(ops, tenant, month=month)

    gap_rows: list[dict[str, Any]] = []
    if gaps is not None:
        for g in gaps.grouped(tenant, limit=15):
            gap_rows.append({"question": g.example, "count": g.count, "first_seen": g.first_seen.isoformat(),
                             "last_seen": g.last_seen.isoformat()})

    anomalies = _anomalies(by_day, events, agents, topics, overall)
    return {
        "tenant": tenant, "month": month, "generated_at": datetime.now(UTC).isoformat(),
        "conversations": overall["conversations"],
        "kpis": {"month": overall, "previous_month": previous, "targets": vs_target, "by_day": by_day,
                 "by_week": by_week},
        "red_lines": red_lines,
        "red_line_events": events,
        "topics": topics["topics"],
        "rising_topics": [t for t in topics["topics"] if t["rising"]],
        "agents": agents,
        "queues": queues,
        "gaps": gap_rows,
        "anomalies": anomalies,
    }


def _recovery_windows(ops: Any, tenant: str, profile: Any, events: list[dict[str, Any]]) -> None:
    """Add ``recovered_in``: the first window after the alert's, in the data, back on the right
    side of the line (``resolved_at`` is when the monitor noticed, which for an import of past
    conversations is the import time)."""
    lines = {r.metric: r for r in profile.red_lines}
    for e in events:
        e["recovered_in"] = None
        line = lines.get(e["metric"])
        if line is None or e["state"] != "resolved":
            continue
        kind, _, start = e["window"].partition(":")
        for r in kpis(ops.db, tenant, by=(kind,)):
            if str(r[kind]) > start and r["conversations"] >= line.min_conversations and not line.crossed(
                    r.get(line.metric)):
                e["recovered_in"] = f"{kind}:{r[kind]}"
                break


def _lowest(ops: Any, tenant: str, month: str, dim: str, n: int) -> list[dict[str, Any]]:
    rows = [r for r in kpis(ops.db, tenant, by=(dim,), month=month) if r.get("qa_score") is not None]
    rows.sort(key=lambda r: r["qa_score"])
    findings = ops.findings_summary(tenant, month=month, by=dim, limit=2000)
    out = []
    for r in rows[:n]:
        top = [{"check": f["check"], "count": f["count"]} for f in findings if f[dim] == r[dim]][:4]
        out.append({dim: r[dim], "conversations": r["conversations"], "qa_score": r["qa_score"],
                    "first_response_sla": r["first_response_sla"], "complaint_rate": r["complaint_rate"],
                    "satisfaction": r["satisfaction"], "top_findings": top})
    return out


def _anomalies(by_day: list[dict[str, Any]], events: list[dict[str, Any]], agents: list[dict[str, Any]],
               topics: dict[str, Any], overall: dict[str, Any]) -> list[str]:
    out = []
    for e in events:
        out.append(f"red line {e['metric']} crossed in {e['window']} (worst {e['value']:.3g}, line {e['threshold']:g})"
                   + (f", back under in {e['recovered_in']}" if e.get("recovered_in")
                      else ", recovered" if e["state"] == "resolved" else ", still firing"))
    for t in topics.get("topics", []):
        for w in t["rising_weeks"]:
            out.append(f"topic “{t['name']}” rising in the week of {w['week']}: {'; '.join(w['reasons'])}")
    if agents and overall.get("qa_score") is not None:
        worst = agents[0]
        if worst["qa_score"] < overall["qa_score"] - 3:
            top = worst["top_findings"][0]["check"] if worst["top_findings"] else "-"
            out.append(f"agent {worst['agent']} has the lowest QA score ({worst['qa_score']:.1f} vs "
                       f"{overall['qa_score']:.1f}); most frequent finding: {top}")
    return out


# ------------------------------------------------------------------ plots
def _figures(data: dict[str, Any]) -> list[tuple[str, Any]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    figs: list[tuple[str, Any]] = []
    days: list[Any] = [date.fromisoformat(r["day"]) for r in data["kpis"]["by_day"]]  # matplotlib plots dates
    by_day = data["kpis"]["by_day"]
    lines = {r["metric"]: r for r in data["red_lines"]}
    targets = {k: v["target"] for k, v in data["kpis"]["targets"].items()}

    def series(name: str) -> list[float]:
        return [r.get(name) if r.get(name) is not None else float("nan") for r in by_day]

    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.bar(days, [r["conversations"] for r in by_day], color="#c9d6ea", label="conversations")
    ax.set_ylabel("conversations / day")
    ax2 = ax.twinx()
    ax2.plot(days, series("complaint_rate"), color="#c0392b", marker="o", ms=3, label="complaint rate")
    if "complaint_rate" in lines:
        ax2.axhline(lines["complaint_rate"]["threshold"], color="#c0392b", ls="--", lw=1, label="red line")
    ax2.set_ylabel("complaint rate")
    ax.set_title("Volume and complaint rate per day")
    fig.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    figs.append(("volume_complaints", fig))

    fig, ax = plt.subplots(figsize=(9, 3.4))
    for name, color in (("first_response_sla", "#2e86c1"), ("fcr", "#27ae60"), ("timeout_rate", "#e67e22")):
        ax.plot(days, series(name), label=name, color=color, marker=".", ms=3)
        if name in targets:
            ax.axhline(targets[name], color=color, ls=":", lw=1)
        if name in lines:
            ax.axhline(lines[name]["threshold"], color=color, ls="--", lw=1)
    ax.set_ylim(0, 1.05)
    ax.set_title("Service standards per day (dotted: target, dashed: red line)")
    ax.legend(fontsize=8, loc="lower left")
    fig.autofmt_xdate()
    figs.append(("standards", fig))

    agents = data["agents"]
    if agents:
        fig, ax = plt.subplots(figsize=(9, 3))
        names = [a["agent"] for a in agents]
        ax.barh(names, [a["qa_score"] for a in agents], color="#8e44ad")
        if "qa_score" in targets:
            ax.axvline(targets["qa_score"], color="black", ls=":", lw=1)
        ax.set_xlim(0, 100)
        ax.set_title("Lowest QA scores by agent (dotted: target)")
        figs.append(("agents", fig))

    if data["topics"]:
        fig, ax = plt.subplots(figsize=(9, 3.4))
        for i, t in enumerate(data["topics"][:8]):
            weeks = [w["week"][5:] for w in t["weeks"]]
            style = "-" if t["rising"] else ":"
            ax.plot(weeks, [w["conversations"] for w in t["weeks"]], style, marker="o", ms=3,
                    label=f"T{t['id']}" + (" (rising)" if t["rising"] else ""))
            _ = i
        ax.set_title("Conversations per topic and week")
        ax.legend(fontsize=7, ncol=4)
        figs.append(("topics", fig))
    return figs


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing CJK glyphs on machines without the fonts
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Service quality report {{ d.tenant }} {{ d.month }}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:1000px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left}
.bad{color:#c0392b;font-weight:600}.ok{color:#1e8449}.tag{background:#fdecea;color:#c0392b;border-radius:4px;padding:0 .4rem}
img{max-width:100%}
</style></head><body>
<h1>Service quality report · 服务质量月报 — {{ d.tenant }} · {{ d.month }}</h1>
<p>{{ d.conversations }} conversations · generated {{ d.generated_at[:16] }}</p>
<h2>Anomalies · 异常</h2>
<ul id="anomalies">{% for a in d.anomalies %}<li>{{ a }}</li>{% else %}<li>none</li>{% endfor %}</ul>
<h2>KPIs against the standards · 指标与标准</h2>
<table id="kpis"><tr><th>KPI</th><th>{{ d.month }}</th><th>target</th><th>previous month</th></tr>
{% for name, v in d.kpis.month.items() if name not in ("conversations", "rated") %}
<tr><td>{{ name }}</td>
<td class="{% if d.kpis.targets.get(name) and d.kpis.targets[name].met is sameas false %}bad{% elif d.kpis.targets.get(name) %}ok{% endif %}">{{ fmt(v) }}</td>
<td>{{ fmt(d.kpis.targets[name].target) if d.kpis.targets.get(name) else "" }}</td>
<td>{{ fmt(d.kpis.previous_month[name]) if d.kpis.previous_month else "–" }}</td></tr>{% endfor %}
</table>
{% for name, img in images %}{% if name in ("volume_complaints", "standards") %}<p><img alt="{{ name }}" src="data:image/png;base64,{{ img }}"></p>{% endif %}{% endfor %}
<h2>Red-line events · 红线事件</h2>
<table id="red-lines"><tr><th>metric</th><th>window</th><th>state</th><th>worst value</th><th>line</th><th>recovered in</th><th>notified at</th></tr>
{% for e in d.red_line_events %}<tr><td><span class="tag">{{ e.metric }}</span></td><td>{{ e.window }}</td><td>{{ e.state }}</td>
<td>{{ fmt(e.value) }}</td><td>{{ fmt(e.threshold) }}</td><td>{{ e.recovered_in or "–" }}</td><td>{{ (e.resolved_at or e.raised_at or "")[:16] }}</td></tr>
{% else %}<tr><td colspan="7">none</td></tr>{% endfor %}</table>
<h2>Topics · 话题</h2>
<table id="topics"><tr><th>#</th><th>topic</th><th>conversations</th><th>complaint share</th><th>trend</th></tr>
{% for t in d.topics %}<tr><td>T{{ t.id }}</td><td>{{ t.name }}</td><td>{{ t.size }}</td><td>{{ pct(t.complaint_share) }}</td>
<td>{% for w in t.rising_weeks %}<span class="tag">rising {{ w.week }}: {{ w.reasons|join("; ") }}</span> {% endfor %}</td></tr>
{% else %}<tr><td colspan="5">topics not computed (run with the embedder)</td></tr>{% endfor %}</table>
{% for name, img in images %}{% if name == "topics" %}<p><img alt="topics" src="data:image/png;base64,{{ img }}"></p>{% endif %}{% endfor %}
<h2>Agents with the lowest QA scores · 质检得分最低的坐席</h2>
<table id="agents"><tr><th>agent</th><th>conversations</th><th>QA score</th><th>first response SLA</th><th>complaints</th><th>most frequent findings</th></tr>
{% for a in d.agents %}<tr><td>{{ a.agent }}</td><td>{{ a.conversations }}</td><td>{{ fmt(a.qa_score) }}</td><td>{{ pct(a.first_response_sla) }}</td>
<td>{{ pct(a.complaint_rate) }}</td><td>{% for f in a.top_findings %}{{ f.check }} ×{{ f.count }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>{% endfor %}</table>
{% for name, img in images %}{% if name == "agents" %}<p><img alt="agents" src="data:image/png;base64,{{ img }}"></p>{% endif %}{% endfor %}
<h2>Queues · 队列</h2>
<table id="queues"><tr><th>queue</th><th>conversations</th><th>QA score</th><th>first response SLA</th><th>complaints</th><th>most frequent findings</th></tr>
{% for a in d.queues %}<tr><td>{{ a.queue }}</td><td>{{ a.conversations }}</td><td>{{ fmt(a.qa_score) }}</td><td>{{ pct(a.first_response_sla) }}</td>
<td>{{ pct(a.complaint_rate) }}</td><td>{% for f in a.top_findings %}{{ f.check }} ×{{ f.count }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>{% endfor %}</table>
<h2>Knowledge gaps · 知识缺口</h2>
<table id="gaps"><tr><th>question (masked)</th><th>times</th><th>last seen</th></tr>
{% for g in d.gaps %}<tr><td>{{ g.question }}</td><td>{{ g.count }}</td><td>{{ g.last_seen[:10] }}</td></tr>
{% else %}<tr><td colspan="3">none logged</td></tr>{% endfor %}</table>
</body></html>
"""


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{v:.0%}"


def render_html(data: dict[str, Any]) -> str:
    """A self-contained HTML page (plots embedded as PNG)."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    images = [(name, _png(fig)) for name, fig in _figures(data)]
    return env.from_string(_TEMPLATE).render(d=data, images=images, fmt=_fmt, pct=_pct)


def render_pdf(data: dict[str, Any], path: Path) -> Path:
    """The plots and the main tables as a PDF (matplotlib ``PdfPages``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    plt.rcParams["font.sans-serif"] = CJK_FONTS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PdfPages(path) as pdf:
            fig = plt.figure(figsize=(8.27, 11.69))
            lines = [f"Service quality report - {data['tenant']} - {data['month']}",
                     f"{data['conversations']} conversations", "", "KPIs (month / target):"]
            for name, v in data["kpis"]["month"].items():
                t = data["kpis"]["targets"].get(name)
                lines.append(f"  {name}: {_fmt(v)}" + (f"  (target {_fmt(t['target'])}{'' if t['met'] else ' MISSED'})"
                                                       if t and t["met"] is not None else ""))
            lines += ["", "Anomalies:"] + [f"  - {a}" for a in data["anomalies"]]
            lines += ["", "Red-line events:"] + [f"  - {e['metric']} {e['window']} {e['state']} worst {_fmt(e['value'])}"
                                                 for e in data["red_line_events"]]
            lines += ["", "Lowest QA agents:"] + [
                f"  - {a['agent']}: {_fmt(a['qa_score'])} "
                + ", ".join(f"{f['check']} x{f['count']}" for f in a["top_findings"]) for a in data["agents"]]
            lines += ["", "Knowledge gaps:"] + [f"  - ({g['count']}x) {g['question'][:70]}" for g in data["gaps"]]
            fig.text(0.06, 0.97, "\n".join(lines), va="top", family="sans-serif", fontsize=8.5)
            pdf.savefig(fig)
            plt.close(fig)
            for _, f in _figures(data):
                pdf.savefig(f, bbox_inches="tight")
                plt.close(f)
    return path
