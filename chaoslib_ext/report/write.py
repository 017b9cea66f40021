"""Write a run's reports from its directory: ``summary.json`` and ``report.md``."""

from __future__ import annotations

from typing import Any

from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.jsonfile import write_json_atomic
from chaoslib_ext.report.markdown import write_markdown
from chaoslib_ext.report.summary import build_summary
from chaoslib_ext.runcontext import RunContext

__all__ = ["write_reports"]


def write_reports(run: RunContext, plan: Plan, title: str, journal: dict[str, Any] | None) -> dict[str, Any]:
    summary = build_summary(run, plan, title, journal)
    write_json_atomic(run.run_dir.summary, summary)
    write_markdown(run.run_dir.report_md, summary)
    return summary
