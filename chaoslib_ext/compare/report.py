"""The comparison's files: ``compare.json`` (schema chaosllm/compare v1), ``compare.md`` and a
self-contained ``compare.html`` with A and B side by side and their TTFT and ITL CDFs overlaid."""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

import numpy as np

from chaoslib_ext._jsonfile import JsonObject, write_json_atomic
from chaoslib_ext.compare.arms import Side
from chaoslib_ext.compare.verdict import IMPROVED, REGRESSED, Comparison, Row
from chaoslib_ext.report.htmlkit import html_table, page
from chaoslib_ext.report.series import CDF_LEVELS
from chaoslib_ext.report.svg import Chart, Series
from chaoslib_ext.report.tables import text_table

__all__ = ["SCHEMA", "SCHEMA_PATH", "VERSION", "exit_code", "to_json", "write_comparison"]

SCHEMA, VERSION = "chaosllm/compare", 1
SCHEMA_PATH = Path(__file__).with_name("schemas") / "compare.schema.json"
_HEADER = ["phase", "metric", "A", "B", "delta", "95 % CI", "threshold", "verdict"]
_CLASS = {REGRESSED: "fail", IMPROVED: "pass"}  # the reports' one style vocabulary (report.tables.css_class)


def exit_code(comparison: Comparison) -> int:
    """1 when any metric regressed, else 0."""
    return 1 if comparison.regressions else 0


def _side_json(side: Side) -> JsonObject:
    return {
        "label": side.label,
        "title": side.title,
        "runs": [str(r) for r in side.runs],
        "phases": {
            p: {
                "requests": d.requests,
                "duration_s": d.duration_s,
                "excluded_s": d.excluded_s,
                "excluded_requests": d.excluded_requests,
            }
            for p, d in side.phases.items()
        },
    }


def to_json(comparison: Comparison) -> JsonObject:
    s = comparison.settings
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "created_at": time.time(),
        "a": _side_json(comparison.a),
        "b": _side_json(comparison.b),
        "settings": {
            "confidence": s.confidence,
            "resamples": s.resamples,
            "seed": s.seed,
            "group_s": s.group_s,
            "max_steal": s.max_steal,
            "paired": comparison.paired,
            "method": "Poisson bootstrap over requests (one weight per group_s slot); percentile interval",
            "thresholds": {m.key: s.threshold(m) for m in s.metrics},
        },
        "rows": [r.to_json() for r in comparison.rows],
        "outcome": {"regressions": len(comparison.regressions), "exit_code": exit_code(comparison)},
    }


def _value(row: Row, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.2%}" if row.metric.kind == "error_rate" else f"{v:.1f}" if abs(v) >= 10 else f"{v:.3g}"


def _change(row: Row, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:+.1%}" if row.metric.relative else f"{v * 100:+.2f} pt"


def _cells(row: Row) -> list[str]:
    d = row.delta
    ci = "-" if d.low is None else f"{_change(row, d.low)} .. {_change(row, d.high)}"
    threshold = f"{row.threshold:.0%}" if row.metric.relative else f"{row.threshold * 100:g} pt"
    return [row.phase, row.metric.key, _value(row, row.a), _value(row, row.b), _change(row, d.estimate), ci,
            threshold, row.verdict]  # fmt: skip


def _headline(comparison: Comparison) -> str:
    bad = comparison.regressions
    if not bad:
        return f"No regression of {comparison.b.label} against {comparison.a.label}."
    parts = [f"{r.metric.key} in {r.phase} {_change(r, r.delta.estimate)} ({_change(r, r.delta.low)} .. "
             f"{_change(r, r.delta.high)})" for r in bad]  # fmt: skip
    return f"{comparison.b.label} regressed against {comparison.a.label}: " + "; ".join(parts) + "."


def _method(comparison: Comparison) -> str:
    s = comparison.settings
    return (
        f"Delta = B / A - 1 (error_rate: B - A in points); {s.confidence:.0%} percentile interval from "
        f"{s.resamples} Poisson-bootstrap resamples of requests (seed {s.seed}). Regressed / improved: the interval "
        "excludes 0 and the change reaches the threshold. Exit code 1 on any regression. " + _excluded(comparison)
    )


def _excluded(comparison: Comparison) -> str:
    """What the starved seconds of the load generator took out of each side."""
    steal = comparison.settings.max_steal
    if steal is None:
        return "Every second kept (--max-steal off)."
    parts = []
    for side in (comparison.a, comparison.b):
        seconds = sum(p.excluded_s for name, p in side.phases.items() if name != "overall")
        requests = sum(p.excluded_requests for name, p in side.phases.items() if name != "overall")
        parts.append(f"{side.label} {seconds:.0f} s, {requests} requests")
    return (
        f"Left out: seconds with the hypervisor stealing {steal:.0%} or more of the load generator's CPU, "
        f"and the requests in flight then ({'; '.join(parts)})."
    )


def render_markdown(comparison: Comparison) -> str:
    a, b = comparison.a, comparison.b
    lines = [
        f"# Compare: {b.label} against {a.label}",
        "",
        f"**{_headline(comparison)}** (exit code {exit_code(comparison)})",
        "",
        f"- A `{a.label}`: {a.title}; {len(a.runs)} run(s): " + ", ".join(f"`{r.name}`" for r in a.runs),
        f"- B `{b.label}`: {b.title}; {len(b.runs)} run(s): " + ", ".join(f"`{r.name}`" for r in b.runs),
        "",
        *text_table(_HEADER, [_cells(r) for r in comparison.rows]),
        "",
        _method(comparison),
        "",
    ]
    return "\n".join(lines)


def _cdf_charts(comparison: Comparison) -> str:
    levels = [float(v) / 100 for v in CDF_LEVELS]
    phases = dict.fromkeys(r.phase for r in comparison.rows)
    out = []
    for phase in phases:
        for dist, title in (("ttft_ms", "TTFT"), ("itl_ms", "Inter-token latency")):
            chart = Chart(f"{title} CDF, {phase}: A vs B", "ms (log scale)", "fraction ≤ x", log_x=True)
            for side, color in ((comparison.a, "#1f77b4"), (comparison.b, "#d62728")):
                data = side.phases.get(phase)
                values = data.dists[dist].values if data else np.zeros(0)
                if values.size:
                    x = np.percentile(values, CDF_LEVELS)
                    chart.series.append(Series(f"{side.label} ({phase})", list(map(float, x)), levels, color))
            out.append(chart.render())
    return '<h2>Distributions</h2><div id="cdfs">' + "".join(out) + "</div>"


def _sides(comparison: Comparison) -> str:
    rows = []
    for name, side in (("A", comparison.a), ("B", comparison.b)):
        counts = ", ".join(f"{p} {d.requests} req / {d.duration_s:.0f} s" for p, d in side.phases.items())
        rows.append([name, side.label, side.title, str(len(side.runs)), counts])
    return html_table(["side", "label", "experiment", "runs", "requests per phase"], rows)


def render_html(comparison: Comparison) -> str:
    rows = [_cells(r) for r in comparison.rows]
    classes = [[""] * (len(_HEADER) - 1) + [_CLASS.get(r.verdict, "")] for r in comparison.rows]
    verdict = "regressed" if comparison.regressions else "passed"
    body = (
        f"<h1>Compare: {escape(comparison.b.label)} against {escape(comparison.a.label)}</h1>"
        f'<p><span class="verdict {"fail" if comparison.regressions else "pass"}" id="outcome">'
        f"{verdict.upper()}</span> exit code {exit_code(comparison)} · {escape(_headline(comparison))}</p>"
        f'<div id="sides">{_sides(comparison)}</div>'
        f'<h2>Metrics</h2><div id="deltas">{html_table(_HEADER, rows, classes)}</div>'
        f'<p class="muted" id="method">{escape(_method(comparison))}</p>'
        f"{_cdf_charts(comparison)}"
    )
    title = f"compare {comparison.b.label} vs {comparison.a.label} — {verdict}"
    return page(title, body, f"chaosllm compare, schema {SCHEMA} v{VERSION}.")


def write_comparison(comparison: Comparison, out: Path) -> dict[str, Path]:
    """Write compare.json, compare.md and compare.html into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "compare.json", "md": out / "compare.md", "html": out / "compare.html"}
    write_json_atomic(paths["json"], to_json(comparison))
    paths["md"].write_text(render_markdown(comparison), encoding="utf-8")
    paths["html"].write_text(render_html(comparison), encoding="utf-8")
    return paths
