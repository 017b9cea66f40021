"""``report.md``: the run for a pull request or a chat message."""

from __future__ import annotations

from pathlib import Path

from chaoslib_ext.report.tables import (
    ARRIVALS_NOTE,
    ERRORS_NOTE,
    PERCENTILE_NOTE,
    RETRIES_NOTE,
    SERVER_NOTE,
    arrival_rows,
    cluster_line,
    error_rows,
    fault_line,
    host_lines,
    length_rows,
    lengths_note,
    overhead_sentence,
    phase_rows,
    recovery_line,
    retry_rows,
    server_rows,
    text_table,
    validity_note,
    validity_rows,
    verdict_rows,
    workers_line,
)
from chaoslib_ext.secrets import scrub
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["render_markdown", "write_markdown"]


def render_markdown(summary: RunSummary) -> str:
    outcome = summary.outcome
    lines = [
        f"# {summary.name}",
        "",
        f"**Outcome: {outcome.verdict.upper()}**, `{outcome.cause}` (exit code {outcome.exit_code})"
        f" — run `{summary.run_id}`,"
        f" target `{summary.target}`",
        "",
    ]
    lines += [f"- {reason}" for reason in outcome.reasons]
    score = summary.resilience.score
    if score is not None:
        lines += ["", f"Resilience score: **{score:.1f}** / 100 (formula in report.html)."]
    if summary.hypotheses:
        lines += ["", "## Hypotheses", "", *text_table(*verdict_rows(summary))]
    if summary.phases:
        lines += ["", "## Metrics per phase", "", *text_table(*phase_rows(summary)), "", PERCENTILE_NOTE]
    header, arrivals = arrival_rows(summary)
    if arrivals:
        lines += ["", "## Arrivals per phase", "", *text_table(header, arrivals), "", ARRIVALS_NOTE]
    header, lengths = length_rows(summary)
    if lengths:
        lines += ["", "## Token lengths per phase", "", *text_table(header, lengths), "", lengths_note(summary)]
    header, errors = error_rows(summary)
    if errors:
        lines += ["", "## Errors by class", "", *text_table(header, errors), "", ERRORS_NOTE]
    header, retries = retry_rows(summary)
    if retries:
        lines += ["", "## Retries", "", *text_table(header, retries), "", RETRIES_NOTE]
    header, server = server_rows(summary)
    if server:
        lines += ["", "## The server's own view", "", *text_table(header, server), "", SERVER_NOTE]
    if summary.faults:
        lines += ["", "## Faults", "", *(f"- {fault_line(f)}" for f in summary.faults)]
    recovery = recovery_line(summary)
    if recovery:
        lines += ["", recovery]
    cluster = cluster_line(summary)
    if cluster:
        lines += ["", cluster]
    if summary.client_overhead_ms is not None:
        lines += ["", overhead_sentence(summary.client_overhead_ms)]
    header, validity = validity_rows(summary)
    if validity:
        lines += ["", "## Measurement validity", "", *text_table(header, validity), "", validity_note(summary)]
    workers = workers_line(summary)
    if workers:
        lines += ["", workers]
    host = host_lines(summary)
    if host:
        lines += ["", *host]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, summary: RunSummary) -> None:
    path.write_text(scrub(render_markdown(summary)), encoding="utf-8")
