"""``chaosllm report RUN_DIR``: recompute summary.json and report.md from a run's raw samples."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.report.terminal import print_summary
from chaoslib_ext.report.write import write_reports
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from chaoslib_ext.run.rundir import RunDir
from chaoslib_ext.verdict.outcome import EXIT_INVALID

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("report", help="rebuild a run's summary and report from its raw data")
    parser.add_argument("run_dir", type=Path)
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    if not run_dir.experiment.exists() and not run_dir.timeline.exists():
        print(
            f"chaosllm report: {args.run_dir} is not a run directory (no experiment.json or timeline.json)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    experiment: dict[str, Any] = {}
    configuration: dict[str, Any] = {}
    if run_dir.experiment.exists():
        saved = read_json(run_dir.experiment)
        experiment, configuration = saved.get("experiment", {}), saved.get("configuration", {})
    try:
        plan = Plan.from_experiment(experiment, configuration)
    except SpecError as exc:
        print(f"chaosllm report: {run_dir.experiment}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if plan.load is None and (run_dir.load / "spec.json").exists():
        from chaoslib_ext.load.spec import LoadSpec

        plan = Plan(LoadSpec.from_json(read_json(run_dir.load / "spec.json")), ())
    run = RunContext.from_configuration({RUN_DIR_KEY: str(run_dir.path), TARGET_KEY: configuration.get(TARGET_KEY, "")})
    journal = read_json(run_dir.journal) if run_dir.journal.exists() else None
    summary = write_reports(run, plan, str(experiment.get("title", run_dir.run_id)), journal)
    print_summary(summary, run_dir.path)
    code = summary.outcome.exit_code
    return code
