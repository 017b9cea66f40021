"""The end of a run on the terminal: verdicts, per-phase metrics, the outcome and where to look."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaoslib_ext.report.markdown import phase_table, verdict_table
from chaoslib_ext.secrets import scrub_data

__all__ = ["print_summary"]


def print_summary(summary: dict[str, Any], run_dir: Path) -> None:
    summary = scrub_data(summary)
    if summary.get("phases"):
        print("\nMetrics per phase (exact percentiles; jitter = P99 - P50):")
        print("\n".join(phase_table(summary)))
    if summary.get("hypotheses"):
        print("\nHypotheses:")
        print("\n".join(verdict_table(summary)))
    outcome = summary["outcome"]
    print(f"\nOutcome: {outcome['verdict'].upper()}, {outcome['cause']} (exit code {outcome['exit_code']})")
    for reason in outcome.get("reasons") or []:
        print(f"  - {reason}")
    print(f"Run directory: {run_dir}  (summary.json, report.md, timeline.json, journal.json, samples/)")
