"""The end of a run on the terminal: verdicts, per-phase metrics, the outcome and where to look."""

from __future__ import annotations

from pathlib import Path

from chaoslib_ext.report.tables import (
    ARRIVALS_NOTE,
    PERCENTILE_NOTE,
    arrival_rows,
    length_rows,
    lengths_note,
    outcome_line,
    phase_rows,
    server_rows,
    text_table,
    validity_note,
    validity_rows,
    verdict_rows,
    workers_line,
)
from chaoslib_ext.secrets import scrub
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["print_summary"]


def print_summary(summary: RunSummary, run_dir: Path) -> None:
    lines = []
    if summary.phases:
        lines += ["", "Metrics per phase:", *text_table(*phase_rows(summary)), PERCENTILE_NOTE]
    header, arrivals = arrival_rows(summary)
    if arrivals:
        lines += ["", "Arrivals per phase:", *text_table(header, arrivals), ARRIVALS_NOTE]
    header, lengths = length_rows(summary)
    if lengths:
        lines += ["", "Token lengths per phase:", *text_table(header, lengths), lengths_note(summary)]
    header, server = server_rows(summary)
    if server:
        lines += ["", "The server's own view (its metrics) beside the client's:", *text_table(header, server)]
    header, validity = validity_rows(summary)
    if validity and summary.validity and summary.validity.not_measurable():  # the table when it matters
        lines += ["", "Measurement validity:", *text_table(header, validity), validity_note(summary)]
    workers = workers_line(summary)
    if workers:
        lines += ["", workers]
    if summary.hypotheses:
        lines += ["", "Hypotheses:", *text_table(*verdict_rows(summary))]
    lines += ["", f"Outcome: {outcome_line(summary)}", *(f"  - {reason}" for reason in summary.outcome.reasons)]
    lines.append(f"Run directory: {run_dir}  (summary.json, report.md, timeline.json, journal.json, samples/)")
    print(scrub("\n".join(lines)))
