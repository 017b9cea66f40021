"""The postmortem skeleton of a game day (``<run>/gameday/postmortem.md``), written when the run ended:
what is known is filled in (the outcome, the timeline from the record, the verdicts, the worst minute,
the time to recover), what only people can say is left as headings to write under.

The worst minute: of the 60-s windows stepping 5 s over the measured time, the one whose TTFT p99 (of
the requests that started in it) is highest, ties broken by TTFT p50 and then the error rate; a run
shorter than a minute has one window, all of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaoslib_ext.gameday.record import POSTMORTEM, Record, clock
from chaoslib_ext.report.tables import recovery_line, text_table, verdict_rows
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.secrets import scrub
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["WINDOW_S", "WorstMinute", "worst_minute", "write_postmortem"]

WINDOW_S, STEP_S = 60.0, 5.0


@dataclass(frozen=True)
class WorstMinute:
    start: float
    end: float
    requests: int
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    error_rate: float | None
    output_tps: float


def worst_minute(table: SampleTable, window: tuple[float, float]) -> WorstMinute | None:
    """The window with the highest TTFT p99 (see the module); None when no request was measured."""
    starts, ttft, ok, tokens = table.start_at, table.ttft_ms, table.ok, table.tokens
    begin, end = window
    found: WorstMinute | None = None
    steps = int(max(0.0, end - WINDOW_S - begin) // STEP_S) + 1  # a run under a minute: one window, all of it
    for a in (begin + k * STEP_S for k in range(steps)):
        b = min(a + WINDOW_S, end) if end - begin > WINDOW_S else end
        inside = (starts >= a) & (starts < b)
        if not inside.any():
            continue
        seen = ttft[inside & ~np.isnan(ttft)]
        p50, p99 = (float(np.percentile(seen, q)) for q in (50, 99)) if seen.size else (None, None)
        minute = WorstMinute(float(a), float(b), int(inside.sum()), p50, p99, float(1.0 - ok[inside].mean()),
                             float(tokens[inside].sum() / max(b - a, 1e-9)))  # fmt: skip
        if found is None or _rank(minute) > _rank(found):
            found = minute
    return found


def _rank(m: WorstMinute) -> tuple[float, float, float]:
    return (m.ttft_p99_ms or -1.0, m.ttft_p50_ms or -1.0, m.error_rate or 0.0)


def write_postmortem(folder: Path, record: Record, summary: RunSummary, table: SampleTable) -> Path:
    path = folder / POSTMORTEM
    path.write_text(scrub(_markdown(record, summary, table)), encoding="utf-8")
    return path


def _markdown(record: Record, summary: RunSummary, table: SampleTable) -> str:
    o, roles = summary.outcome, record.roles
    day = time.strftime("%Y-%m-%d", time.gmtime(record.started_at))
    lines = [f"# Postmortem: {record.title} (game day {day})", "",
             f"Outcome: **{o.verdict.upper()}**, {o.cause} (exit code {o.exit_code}). Run `{summary.run_id}`. "
             f"Facilitator: {roles.facilitator or '-'}; scribe: {roles.scribe or '-'}; observers: "
             f"{', '.join(roles.observers) or '-'}.", *[f"- {r}" for r in o.reasons], "",
             "## Summary", "", "_What happened, in two sentences._", "", "## Timeline", ""]  # fmt: skip
    lines += text_table(["time (UTC)", "action", "observed", "steady state OK?"], [
        [clock(r["at"]), r["action"], r["observed"], {True: "yes", False: "no", None: ""}[r["steady_state_ok"]]]
        for r in record.log
    ])  # fmt: skip
    header, rows = verdict_rows(summary)
    lines += ["", "## Verdicts", "", *text_table(header, rows), "", "## The worst minute", "", _worst(summary, table)]
    lines += ["", "## Time to recover", "", recovery_line(summary) or "Not measured (no load after a removal)."]
    for heading in ("Impact", "What went well", "What went wrong", "Where we got lucky", "Action items"):
        lines += ["", f"## {heading}", "", "- "]
    return "\n".join(lines) + "\n"


def _worst(summary: RunSummary, table: SampleTable) -> str:
    found = worst_minute(table, summary.window) if summary.window is not None and len(table.start_at) else None
    if found is None or summary.window is None:
        return "No request was measured."
    faults = [
        f.id
        for f in summary.faults
        if f.injected_at is not None and f.injected_at < found.end and (f.removed_at or np.inf) > found.start
    ]
    ms = "n/a" if found.ttft_p99_ms is None else f"{found.ttft_p50_ms:.1f} / {found.ttft_p99_ms:.1f} ms"
    return (f"{clock(found.start)} to {clock(found.end)} UTC (+{found.start - summary.window[0]:.0f} s into the "
            f"measured time): TTFT p50 / p99 {ms}, error rate {found.error_rate:.1%}, {found.output_tps:.1f} output "
            f"tok/s, {found.requests} requests; faults in force: {', '.join(faults) or 'none'}. (Of the 60-s windows "
            "stepping 5 s, the one with the highest TTFT p99; ties: p50, then the error rate.)")  # fmt: skip
