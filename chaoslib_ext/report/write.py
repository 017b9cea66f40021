"""Write a run's reports from its directory: ``summary.json``, ``report.md``, ``report.html`` and
``junit.xml``, and record the run in the history (which the HTML's trend reads back). The verdict
stage decides; this module only renders what it decided."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Protocol

from chaoslib_ext._jsonfile import JsonObject, read_json, write_json_atomic
from chaoslib_ext.ctk import Journal
from chaoslib_ext.history import History, history_path
from chaoslib_ext.history.store import HistoryRun
from chaoslib_ext.load.prompts import WORKLOAD_FILE
from chaoslib_ext.load.remote import WORKERS_FILE
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.metrics.validity import ValidityPolicy
from chaoslib_ext.report.html import render_html
from chaoslib_ext.report.junit import write_junit
from chaoslib_ext.report.markdown import write_markdown
from chaoslib_ext.report.series import cdfs, timeseries
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.secrets import scrub
from chaoslib_ext.verdict.judge import judge_run, measure
from chaoslib_ext.verdict.spec import Hypothesis
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["TREND_RUNS", "write_reports", "write_text_reports"]

logger = logging.getLogger("chaoslib_ext")
TREND_RUNS = 20


class Judged(Protocol):
    """What the reports need of an experiment's plan (``experiment.plan.Plan`` is one)."""

    @property
    def hypotheses(self) -> Sequence[Hypothesis]: ...

    @property
    def load(self) -> LoadSpec | None: ...


def write_reports(run: RunContext, plan: Judged, title: str, journal: Journal | None) -> RunSummary:
    """Judge the run and write every report of it; the summary they were written from."""
    samples = measure(run, plan.hypotheses)
    goodput = plan.load.goodput if plan.load else None
    load = _load_json(run, plan.load) if plan.load else None
    policy = ValidityPolicy(plan.load.max_client_lag_ms) if plan.load else ValidityPolicy()
    summary = judge_run(
        run, samples, plan.hypotheses, title=title, journal=journal, goodput=goodput, load=load, policy=policy
    )
    write_text_reports(run, summary)
    trend = _record(run, summary)
    table, index = samples.table, samples.index
    series = timeseries(table, index, *samples.window) if samples.window else None
    folder = run.run_dir.gameday  # a game day's record (the postmortem comes right after this page)
    records = [f"{folder.name}/{n}" for n in ("record.md", "record.json", "postmortem.md")] if folder.is_dir() else []
    page = render_html(summary, series, cdfs(table, index, samples.windows), run.timeline.events(), trend, records)
    run.run_dir.report_html.write_text(scrub(page), encoding="utf-8")
    return summary


def _load_json(run: RunContext, spec: LoadSpec) -> JsonObject:
    """The load as run: its spec, and how a workload's lengths were made (``load/workload.json``)."""
    out: JsonObject = dict(spec.to_json())
    made = run.run_dir.load / WORKLOAD_FILE
    if spec.workload is not None and made.is_file():
        raw = read_json(made)
        keys = ("tokenizer", "output_control", "template_tokens")
        served = {f"served_{k}": v for k, v in (raw.get("served_check") or {}).items()}
        made_keys = {k: raw.get(k) for k in keys}
        out["workload_made"] = {**made_keys, **(raw.get("made") or {}), **served, "words": len(raw["words"])}
    workers = run.run_dir.load / WORKERS_FILE
    if spec.workers and workers.is_file():  # the remote workers as the master last saw them
        out["workers_seen"] = read_json(workers)["workers"]
    return out


def write_text_reports(run: RunContext, summary: RunSummary) -> None:
    """``summary.json``, ``report.md`` and ``junit.xml`` (again, for an outcome decided later)."""
    write_json_atomic(run.run_dir.summary, summary.to_json())
    write_markdown(run.run_dir.report_md, summary)
    write_junit(run.run_dir.junit, summary)


def _record(run: RunContext, summary: RunSummary) -> list[HistoryRun]:
    """Add the run to the history; the last runs of its experiment, or nothing if the store fails."""
    history = History(history_path(run.run_dir.path.parent))
    try:
        history.record(summary)
        return history.runs(summary.experiment, TREND_RUNS)
    except sqlite3.Error as exc:  # a report must not be lost to a locked or broken history file
        logger.warning("history %s not updated: %s", history.path, exc)
        return []
