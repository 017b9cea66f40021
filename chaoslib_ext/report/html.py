"""``report.html``: one self-contained page (inline CSS and SVG, no script, no CDN) that shows at a
glance what broke, when, how badly, and whether it recovered."""

from __future__ import annotations

import json
import time
from html import escape

from chaoslib_ext.history.store import HistoryRun
from chaoslib_ext.metrics import PHASES
from chaoslib_ext.report.htmlkit import html_table, page
from chaoslib_ext.report.series import CDF_LEVELS, Cdfs, TimeSeries
from chaoslib_ext.report.svg import Chart, Series
from chaoslib_ext.report.tables import (
    ARRIVALS_NOTE,
    ERRORS_NOTE,
    PERCENTILE_NOTE,
    RETRIES_NOTE,
    SERVER_NOTE,
    Rows,
    arrival_rows,
    cluster_line,
    css_class,
    error_rows,
    host_lines,
    length_rows,
    lengths_note,
    overhead_sentence,
    phase_rows,
    recovery_line,
    retry_rows,
    seconds,
    server_rows,
    validity_note,
    validity_rows,
    verdict_rows,
    workers_line,
)
from chaoslib_ext.run.timeline import TimelineEvent
from chaoslib_ext.verdict.summary import SCHEMA, VERSION, RunSummary

__all__ = ["render_html"]

_PHASE_COLORS = {"baseline": "#1f77b4", "fault": "#d62728", "recovery": "#2ca02c", "overall": "#7f7f7f"}


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _header(summary: RunSummary) -> str:
    outcome = summary.outcome
    reasons = "".join(f"<li>{escape(r)}</li>" for r in outcome.reasons)
    return (
        f"<h1>{escape(summary.name)}</h1>"
        f'<p><span class="verdict {css_class(outcome.verdict)}" id="outcome">'
        f"{escape(outcome.verdict.upper())}</span>"
        f" <code>{escape(outcome.cause)}</code> · exit code {outcome.exit_code}"
        f" · run <code>{escape(summary.run_id)}</code>"
        f" · target <code>{escape(str(summary.target))}</code> · started {_when(summary.started_at)}</p>"
        f"{f'<ul>{reasons}</ul>' if reasons else ''}"
    )


def _score(summary: RunSummary) -> str:
    res = summary.resilience
    shown = "n/a" if res.score is None else f"{res.score:.1f}"
    parts = ", ".join(f"{k} = {'n/a' if v is None else f'{v:.3f}'}" for k, v in res.components.items())
    missing = f" (no data for: {', '.join(res.missing)})" if res.missing else ""
    return (
        f'<h2>Resilience score</h2><p><span class="score" id="score">{shown}</span> / 100 — {escape(parts)}'
        f'{escape(missing)}</p><p class="muted" id="formula">{escape(res.formula)}</p>'
    )


def _hypotheses(summary: RunSummary) -> str:
    verdicts = summary.hypotheses
    if not verdicts:
        return "<h2>Hypotheses</h2><p>None declared.</p>"
    header, rows = verdict_rows(summary)
    header, rows = [*header, "message"], [[*r, v.message] for r, v in zip(rows, verdicts, strict=True)]
    classes = [[css_class(v.status)] + [""] * (len(header) - 1) for v in verdicts]
    return f'<h2>Hypotheses</h2><div id="hypotheses">{html_table(header, rows, classes)}</div>'


def _timeline_charts(summary: RunSummary, series: TimeSeries | None, events: list[TimelineEvent]) -> str:
    if series is None or summary.window is None:
        return "<h2>Over time</h2><p>The load never ran: nothing to plot.</p>"
    origin, end = summary.window
    x = [a + series.bucket_s / 2 for a in series.at]
    bands = [(f.injected_at - origin, (f.removed_at or end) - origin, f.id) for f in summary.faults if f.injected_at]
    marks = [(e["at"] - origin, _mark_text(e)) for e in events if _marked(e) and e["at"] >= origin]
    label = f"seconds since measuring began (buckets of {series.bucket_s:.3g} s; faults shaded)"
    ttft = [Series("TTFT p50", x, series.ttft_p50_ms), Series("TTFT p99", x, series.ttft_p99_ms, "#d62728")]
    tps = [Series("output tok/s", x, series.output_tps)]
    errors = [Series("error rate", x, series.error_rate, "#ef6c00")]
    tps_marks = marks + _recovered(summary, "output_throughput_tps", origin)
    charts = [
        Chart("TTFT over time", label, "ms", ttft, bands, marks + _recovered(summary, "ttft_ms.p99", origin)),
        Chart("Output throughput over time", label, "tokens/s", tps, bands, tps_marks),
        Chart("Error rate over time", label, "fraction of requests", errors, bands, marks),
    ]
    return '<h2>Over time</h2><div id="timeline">' + "".join(c.render() for c in charts) + "</div>"


def _recovered(summary: RunSummary, metric: str, origin: float) -> list[tuple[float, str]]:
    """The moment ``metric`` recovered after the last removal, as a mark (none if it never did)."""
    found = summary.recovery.get(metric)
    removed = [f.removed_at for f in summary.faults if f.removed_at]
    if found is None or found.seconds is None or not removed:
        return []
    return [(max(removed) + found.seconds - origin, f"{metric} recovered ({found.seconds:g} s after the removal)")]


#: the moments of the timeline the charts mark: what people wrote, and what stopped the run
_MARKED = ("note", "observation", "aborted", "safeguard_tripped", "interrupted", "cluster")


def _marked(event: TimelineEvent) -> bool:
    return event["kind"] in _MARKED and not (event["kind"] == "cluster" and event["change"] == "watched")


def _mark_text(event: TimelineEvent) -> str:
    """What a marked moment of the timeline says: a note's text, an observation, an abort's or a trip's reason."""
    if event["kind"] == "note":
        return event["text"]
    if event["kind"] == "observation":
        return f"steady state {'OK' if event['ok'] else 'NOT OK'}" + (f": {event['text']}" if event["text"] else "")
    if event["kind"] == "aborted":
        return f"ABORT ({event['via']}): {event['reason']}"
    if event["kind"] == "cluster":
        return " ".join(p for p in (event["pod"], event["change"].replace("_", " "), event["detail"]) if p)
    if event["kind"] in ("safeguard_tripped", "interrupted"):
        return event["reason"]
    return event["kind"]


def _gameday(links: list[str]) -> str:
    """Links to a game day's record and postmortem (beside this page, in ``gameday/``)."""
    if not links:
        return ""
    items = "".join(f'<li><a href="{escape(link)}">{escape(link)}</a></li>' for link in links)
    return '<h2>Game day</h2><div id="gameday"><p>The record, written as it happened:</p><ul>' + items + "</ul></div>"


def _cdf_charts(cdfs: Cdfs) -> str:
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


def _numbers(title: str, anchor: str, table: Rows, note: str) -> str:
    """A table of numbers per phase (right-aligned) with its note; nothing when it has no row."""
    header, rows = table
    if not rows:
        return ""
    classes = [[""] + ["num"] * (len(header) - 1) for _ in rows]
    return (
        f'<h2>{escape(title)}</h2><div id="{anchor}">{html_table(header, rows, classes)}</div>'
        f'<p class="muted">{escape(note)}</p>'
    )


def _paragraph(title: str, text: str | None) -> str:
    return "" if not text else f"<h2>{escape(title)}</h2><p>{escape(text)}</p>"


def _faults(summary: RunSummary) -> str:
    if not summary.faults:
        return "<h2>Faults</h2><p>No fault was injected.</p>"
    origin = summary.window[0] if summary.window else 0.0

    def rel(at: float | None) -> str:
        return seconds(None if at is None else at - origin, signed=True)

    rows = []
    for f in summary.faults:
        took = "-" if f.time_to_inject_s is None else f"{f.time_to_inject_s * 1000:.1f} ms"
        rows.append([f.id, f.family, f.driver, f.target, f.state, rel(f.injected_at), rel(f.removed_at),
                     seconds(f.held_s), took])  # fmt: skip
    header = ["fault", "family", "driver", "target", "state", "injected", "removed", "held", "time to inject"]
    note = '<p class="muted">Times relative to the start of measuring.</p>'
    return f'<h2>Faults</h2><div id="faults">{html_table(header, rows)}</div>{note}'


def _overhead(summary: RunSummary) -> str:
    if summary.client_overhead_ms is None:
        return (
            "<h2>Client overhead</h2><p>Not measured in this run: the server did not report its own TTFT, "
            "so the client's share of TTFT cannot be separated (servers that embed it, such as the load "
            "benchmarks' calibration server, get it measured here).</p>"
        )
    return f"<h2>Client overhead</h2><p>{escape(overhead_sentence(summary.client_overhead_ms))}</p>"


def _workers(summary: RunSummary) -> str:
    line = workers_line(summary)
    return "" if line is None else f'<div id="workers"><p>{escape(line)}</p></div>'


def _host(summary: RunSummary) -> str:
    lines = host_lines(summary)
    if not lines:
        return ""
    return '<h2>Load generator</h2><div id="load-host">' + "".join(f"<p>{escape(x)}</p>" for x in lines) + "</div>"


def _trend(trend: list[HistoryRun]) -> str:
    if len(trend) < 2:
        return "<h2>Trend</h2><p>Fewer than two runs of this experiment in the history yet.</p>"
    x = [float(i) for i in range(1, len(trend) + 1)]
    charts = []
    for key, title in (("fault.ttft_ms.p99", "TTFT p99 in the fault (ms)"),
                       ("fault.output_throughput_tps", "tok/s in the fault"),
                       ("resilience.score", "resilience score")):  # fmt: skip
        line = Series(key, x, [t.metrics.get(key) for t in trend])
        charts.append(Chart(title, "run (oldest → newest)", "", [line], y_min=None))
    rows = [[t.run_id, _when(t.started_at), t.verdict] for t in trend]
    return (
        f'<h2>Trend: last {len(trend)} runs of this experiment</h2><div id="trend">'
        + "".join(c.render() for c in charts)
        + html_table(["run", "started", "verdict"], rows)
        + "</div>"
    )


def _environment(summary: RunSummary) -> str:
    env = summary.environment
    packages = ", ".join(f"{k} {v}" for k, v in env.packages.items() if v)
    load = json.dumps(summary.load, indent=2, sort_keys=True)
    return (
        f'<h2>Environment</h2><div id="environment"><p>Python {escape(env.python)} on '
        f"{escape(env.platform)} ({env.cpus} CPUs) · {escape(packages)}</p>"
        f"<p>Target <code>{escape(str(summary.target))}</code>; load profile:</p><pre>{escape(load)}</pre></div>"
    )


def render_html(
    summary: RunSummary,
    series: TimeSeries | None,
    cdfs: Cdfs,
    events: list[TimelineEvent],
    trend: list[HistoryRun],
    gameday: list[str] | None = None,
) -> str:
    """The page; ``gameday``: the game day's record files, relative to the page."""
    body = "".join(
        [
            _header(summary),
            _gameday(gameday or []),
            _hypotheses(summary),
            _score(summary),
            _timeline_charts(summary, series, events),
            _cdf_charts(cdfs),
            _numbers("Metrics per phase", "phases", phase_rows(summary), PERCENTILE_NOTE),
            _numbers("Arrivals per phase", "arrivals", arrival_rows(summary), ARRIVALS_NOTE),
            _numbers("Token lengths per phase", "lengths", length_rows(summary), lengths_note(summary)),
            _numbers("Errors by class", "errors", error_rows(summary), ERRORS_NOTE),
            _numbers("Retries", "retries", retry_rows(summary), RETRIES_NOTE),
            _numbers("The server's own view", "server", server_rows(summary), SERVER_NOTE),
            _paragraph("Time to recover", recovery_line(summary)),
            _paragraph("The cluster", cluster_line(summary)),
            _faults(summary),
            _numbers("Measurement validity", "validity", validity_rows(summary), validity_note(summary)),
            _workers(summary),
            _overhead(summary),
            _host(summary),
            _trend(trend),
            _environment(summary),
        ]
    )
    title = f"{summary.name} — {summary.outcome.verdict}"
    return page(title, body, f"chaosllm report, summary schema {SCHEMA} v{VERSION}.")
