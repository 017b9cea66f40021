"""``report.html``: one self-contained page (inline CSS and SVG, no script, no CDN) that shows at a
glance what broke, when, how badly, and whether it recovered."""

from __future__ import annotations

import json
import time
from html import escape
from typing import Any

from chaoslib_ext.metrics import PHASES
from chaoslib_ext.report.markdown import host_lines, phase_rows, verdict_rows
from chaoslib_ext.report.series import CDF_LEVELS
from chaoslib_ext.report.svg import Chart, Series

__all__ = ["CSS", "html_table", "render_html"]

_PHASE_COLORS = {"baseline": "#1f77b4", "fault": "#d62728", "recovery": "#2ca02c", "overall": "#7f7f7f"}
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}
.passed,.pass{background:#2e7d32}.failed,.fail{background:#c62828}.error,.no-data{background:#6d4c41}.aborted{background:#ef6c00}
td.pass,td.fail,td.no-data{color:#fff;font-weight:600}
.score{font-size:34px;font-weight:700}.muted{color:#666;font-size:12px}
figure.chart{margin:10px 0}figcaption{font-weight:600;margin-bottom:2px}
svg.chart{background:#fff;border:1px solid #eee;max-width:100%;height:auto}
.axis{stroke:#444}.grid{stroke:#eee}.tick{font-size:10px;fill:#555}.label{font-size:11px;fill:#333}
.series{fill:none;stroke-width:1.6}.fault{fill:#d62728;fill-opacity:.12}
.mark{stroke:#ef6c00;stroke-dasharray:3 3}text.mark{fill:#ef6c00;stroke:none;font-size:10px}
.legend .key{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:12px;height:3px;margin:0 4px 3px 0}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
"""


def html_table(header: list[str], rows: list[list[str]], classes: list[list[str]] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for r, row in enumerate(rows):
        cls = classes[r] if classes else [""] * len(row)
        body.append(
            "<tr>" + "".join(f'<td class="{c}">{escape(v)}</td>' for v, c in zip(row, cls, strict=True)) + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _header(summary: dict[str, Any]) -> str:
    outcome = summary["outcome"]
    reasons = "".join(f"<li>{escape(r)}</li>" for r in outcome.get("reasons") or [])
    return (
        f"<h1>{escape(summary.get('title') or summary['run_id'])}</h1>"
        f'<p><span class="verdict {escape(outcome["verdict"])}" id="outcome">'
        f"{escape(outcome['verdict'].upper())}</span>"
        f" <code>{escape(outcome['cause'])}</code> · exit code {outcome['exit_code']}"
        f" · run <code>{escape(summary['run_id'])}</code>"
        f" · target <code>{escape(str(summary.get('target')))}</code> · started {_when(summary.get('started_at'))}</p>"
        f"{f'<ul>{reasons}</ul>' if reasons else ''}"
    )


def _score(summary: dict[str, Any]) -> str:
    res = summary.get("resilience") or {}
    value = res.get("score")
    shown = "n/a" if value is None else f"{value:.1f}"
    parts = ", ".join(f"{k} = {'n/a' if v is None else f'{v:.3f}'}" for k, v in (res.get("components") or {}).items())
    missing = f" (no data for: {', '.join(res['missing'])})" if res.get("missing") else ""
    return (
        f'<h2>Resilience score</h2><p><span class="score" id="score">{shown}</span> / 100 — {escape(parts)}'
        f'{escape(missing)}</p><p class="muted" id="formula">{escape(res.get("formula", ""))}</p>'
    )


def _hypotheses(summary: dict[str, Any]) -> str:
    verdicts = summary.get("hypotheses") or []
    if not verdicts:
        return "<h2>Hypotheses</h2><p>None declared.</p>"
    header, rows = verdict_rows(summary)
    header, rows = [*header, "message"], [[*r, v.get("message") or ""] for r, v in zip(rows, verdicts, strict=True)]
    classes = [[v["status"]] + [""] * (len(header) - 1) for v in verdicts]
    return f'<h2>Hypotheses</h2><div id="hypotheses">{html_table(header, rows, classes)}</div>'


def _timeline_charts(summary: dict[str, Any], series: dict[str, Any], events: list[dict[str, Any]]) -> str:
    if not series or not summary.get("window"):
        return "<h2>Over time</h2><p>The load never ran: nothing to plot.</p>"
    origin = summary["window"]["start_at"]
    x = [a + series["bucket_s"] / 2 for a in series["at"]]
    bands = [
        (f["injected_at"] - origin, (f.get("removed_at") or summary["window"]["end_at"]) - origin, f["id"])
        for f in summary.get("faults") or []
        if f.get("injected_at")
    ]
    marks = [
        (e["at"] - origin, e.get("text") or e.get("reason") or e["kind"])
        for e in events
        if e["kind"] in ("note", "safeguard_tripped", "interrupted") and e["at"] >= origin
    ]
    label = f"seconds since measuring began (buckets of {series['bucket_s']:.3g} s; faults shaded)"
    ttft = [Series("TTFT p50", x, series["ttft_p50_ms"]), Series("TTFT p99", x, series["ttft_p99_ms"], "#d62728")]
    tps = [Series("output tok/s", x, series["output_tps"])]
    errors = [Series("error rate", x, series["error_rate"], "#ef6c00")]
    charts = [
        Chart("TTFT over time", label, "ms", ttft, bands, marks),
        Chart("Output throughput over time", label, "tokens/s", tps, bands, marks),
        Chart("Error rate over time", label, "fraction of requests", errors, bands, marks),
    ]
    return '<h2>Over time</h2><div id="timeline">' + "".join(c.render() for c in charts) + "</div>"


def _cdf_charts(cdfs: dict[str, Any]) -> str:
    levels = [float(v) / 100 for v in CDF_LEVELS]
    out = []
    for metric, title in (("ttft_ms", "TTFT CDF per phase"), ("itl_ms", "Inter-token latency CDF per phase")):
        chart = Chart(title, "ms (log scale)", "fraction ≤ x", log_x=True)
        for phase in PHASES:
            values = (cdfs.get(phase) or {}).get(metric)
            if values:
                chart.series.append(Series(phase, values, levels, _PHASE_COLORS[phase], dashed=phase == "overall"))
        out.append(chart.render())
    return '<h2>Distributions</h2><div id="cdfs">' + "".join(out) + "</div>"


def _faults(summary: dict[str, Any]) -> str:
    faults = summary.get("faults") or []
    if not faults:
        return "<h2>Faults</h2><p>No fault was injected.</p>"
    origin = (summary.get("window") or {}).get("start_at") or 0.0

    def rel(at: float | None) -> str:
        return "-" if at is None else f"{at - origin:+.2f} s"

    rows = []
    for f in faults:
        held = f"{f['removed_at'] - f['injected_at']:.2f} s" if f.get("removed_at") and f.get("injected_at") else "-"
        took = "-" if f.get("time_to_inject_s") is None else f"{f['time_to_inject_s'] * 1000:.1f} ms"
        rows.append([f["id"], f["family"], f["driver"], f["target"], f["state"], rel(f.get("injected_at")),
                     rel(f.get("removed_at")), held, took])  # fmt: skip
    header = ["fault", "family", "driver", "target", "state", "injected", "removed", "held", "time to inject"]
    note = '<p class="muted">Times relative to the start of measuring.</p>'
    return f'<h2>Faults</h2><div id="faults">{html_table(header, rows)}</div>{note}'


def _phases(summary: dict[str, Any]) -> str:
    header, rows = phase_rows(summary)
    if not rows:
        return ""
    classes = [[""] + ["num"] * (len(header) - 1) for _ in rows]
    return (
        f'<h2>Metrics per phase</h2><div id="phases">{html_table(header, rows, classes)}</div>'
        '<p class="muted">Percentiles are exact (linear interpolation on raw samples); jitter = P99 − P50.</p>'
    )


def _overhead(summary: dict[str, Any]) -> str:
    o = summary.get("client_overhead_ms")
    if not o:
        return (
            "<h2>Client overhead</h2><p>Not measured in this run: the server did not report its own TTFT, "
            "so the client's share of TTFT cannot be separated (servers that embed it, such as the load "
            "benchmarks' calibration server, get it measured here).</p>"
        )
    return (
        f"<h2>Client overhead</h2><p>TTFT measured by the client minus TTFT reported by the server: p50 "
        f"{o['p50']:.2f} ms, p99 {o['p99']:.2f} ms, max {o['max']:.2f} ms over {o['count']} requests.</p>"
    )


def _host(summary: dict[str, Any]) -> str:
    lines = host_lines(summary)
    if not lines:
        return ""
    return '<h2>Load generator</h2><div id="load-host">' + "".join(f"<p>{escape(x)}</p>" for x in lines) + "</div>"


def _trend(trend: list[dict[str, Any]]) -> str:
    if len(trend) < 2:
        return "<h2>Trend</h2><p>Fewer than two runs of this experiment in the history yet.</p>"
    x = list(range(1, len(trend) + 1))
    charts = []
    for key, title in (("fault.ttft_ms.p99", "TTFT p99 in the fault (ms)"),
                       ("fault.output_throughput_tps", "tok/s in the fault"),
                       ("resilience.score", "resilience score")):  # fmt: skip
        charts.append(
            Chart(
                title, "run (oldest → newest)", "", [Series(key, x, [t["metrics"].get(key) for t in trend])], y_min=None
            )
        )
    rows = [[t["run_id"], _when(t["started_at"]), t["verdict"]] for t in trend]
    return (
        f'<h2>Trend: last {len(trend)} runs of this experiment</h2><div id="trend">'
        + "".join(c.render() for c in charts)
        + html_table(["run", "started", "verdict"], rows)
        + "</div>"
    )


def _environment(summary: dict[str, Any]) -> str:
    env = summary.get("environment") or {}
    packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
    load = json.dumps(summary.get("load"), indent=2, sort_keys=True)
    return (
        f'<h2>Environment</h2><div id="environment"><p>Python {escape(str(env.get("python")))} on '
        f"{escape(str(env.get('platform')))} ({env.get('cpus')} CPUs) · {escape(packages)}</p>"
        f"<p>Target <code>{escape(str(summary.get('target')))}</code>; load profile:</p><pre>{escape(load)}</pre></div>"
    )


def render_html(
    summary: dict[str, Any],
    series: dict[str, Any],
    cdfs: dict[str, Any],
    events: list[dict[str, Any]],
    trend: list[dict[str, Any]],
) -> str:
    body = "".join(
        [
            _header(summary),
            _hypotheses(summary),
            _score(summary),
            _timeline_charts(summary, series, events),
            _cdf_charts(cdfs),
            _phases(summary),
            _faults(summary),
            _overhead(summary),
            _host(summary),
            _trend(trend),
            _environment(summary),
        ]
    )
    title = escape(f"{summary.get('title') or summary['run_id']} — {summary['outcome']['verdict']}")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style></head><body>{body}"
        f'<p class="muted">chaosllm report, summary schema {summary["schema"]} v{summary["version"]}.</p>'
        "</body></html>\n"
    )
