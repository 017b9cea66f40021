"""Write a run's reports from its directory: ``summary.json``, ``report.md``, ``report.html`` and
``junit.xml``, and record the run in the history (which the HTML's trend reads back)."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.history import History, history_path
from chaoslib_ext.jsonfile import write_json_atomic
from chaoslib_ext.report.html import render_html
from chaoslib_ext.report.junit import write_junit
from chaoslib_ext.report.markdown import write_markdown
from chaoslib_ext.report.series import cdfs, timeseries
from chaoslib_ext.report.summary import build_summary, measure
from chaoslib_ext.runcontext import RunContext
from chaoslib_ext.secrets import scrub, scrub_data

__all__ = ["TREND_RUNS", "write_reports"]

logger = logging.getLogger("chaoslib_ext")
TREND_RUNS = 20


def write_reports(run: RunContext, plan: Plan, title: str, journal: dict[str, Any] | None) -> dict[str, Any]:
    measured = measure(run, plan)
    summary = build_summary(run, plan, title, journal, measured)
    write_json_atomic(run.run_dir.summary, summary)
    write_markdown(run.run_dir.report_md, summary)
    write_junit(run.run_dir.junit, summary)
    trend = _record(run, summary)
    table, index = measured.table, measured.index
    series = timeseries(table, index, *measured.window) if measured.window else {}
    page = render_html(summary, series, cdfs(table, index, measured.windows), run.timeline.events(), trend)
    run.run_dir.report_html.write_text(scrub(page), encoding="utf-8")
    return summary


def _record(run: RunContext, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Add the run to the history; the last runs of its experiment, or nothing if the store fails."""
    history = History(history_path(run.run_dir.path.parent))
    try:
        history.record(scrub_data(summary))
        return history.runs(summary["experiment"], TREND_RUNS)
    except sqlite3.Error as exc:  # a report must not be lost to a locked or broken history file
        logger.warning("history %s not updated: %s", history.path, exc)
        return []
