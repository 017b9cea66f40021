"""``chaosllm sweep --url URL --slo ttft_ms.p99<=500`` (or ``--experiment FILE``: its load, target and
``sweep`` block): step an open loop's rate and find the knee, the highest rate whose bootstrap bound
meets every SLO (chaoslib_ext.sweep). Writes ``sweep.json``,
``sweep.md``, ``sweep.html`` and one run directory per step; records the knee in the history.

Exit codes: 0 a knee was found, 1 none (no step met the SLOs), 2 bad input, 3 interrupted or a step's
load could not run.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext.cli.load import endpoint_arguments, load_spec
from chaoslib_ext.exceptions import ChaosLLMError, SpecError
from chaoslib_ext.experiment.loader import load_source
from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.experiment.variables import anchored_target, configuration_values
from chaoslib_ext.history import History, history_path
from chaoslib_ext.load.arrivals import Arrivals
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.registry import register_run
from chaoslib_ext.run.context import TARGET_KEY
from chaoslib_ext.run.rundir import DEFAULT_ROOT, RunDir
from chaoslib_ext.sweep.report import knee_sentence, write_sweep_reports
from chaoslib_ext.sweep.run import run_sweep
from chaoslib_ext.sweep.spec import DEFAULTS, SweepPlan
from chaoslib_ext.target import SANDBOX, load_target
from chaoslib_ext.verdict.outcome import EXIT_ABORTED, EXIT_FAILED, EXIT_INVALID, EXIT_OK

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("sweep", help="step an open loop's rate and find the knee against SLOs")
    parser.add_argument(
        "--slo", action="append", metavar="METRIC<=BOUND", help="e.g. ttft_ms.p99<=500 (repeatable; else the file's)"
    )
    d = DEFAULTS
    parser.add_argument("--start", help=f"first rate, req/s (default {d['start']:g})")
    parser.add_argument("--factor", help=f"rate multiplied by this while steps pass (default {d['factor']:g})")
    parser.add_argument("--resolution", help=f"bisect until within this share (default {d['resolution']:.0%})")
    parser.add_argument("--step", help=f"measured time of a step (default {d['step_s']:g}s)")
    parser.add_argument("--step-warmup", dest="step_warmup", help=f"left out per step (default {d['warmup_s']:g}s)")
    parser.add_argument("--max-steps", type=int, help=f"steps at most (default {d['max_steps']:g})")
    parser.add_argument("--time-limit", help=f"the whole sweep at most (default {d['time_limit_s']:g}s)")
    parser.add_argument("--confidence", help=f"one-sided bound checked (default {d['confidence']:.0%})")
    endpoint_arguments(parser, experiment=True)
    parser.set_defaults(handler=_sweep)


def _plan(args: argparse.Namespace, block: SweepPlan | None) -> SweepPlan:
    """The experiment's sweep block (if any) with the options given on top."""
    raw: dict[str, Any] = block.to_json() if block else {}
    if args.slo:
        raw["slo"] = args.slo
    options = {
        "start": args.start,
        "factor": args.factor,
        "resolution": args.resolution,
        "step": args.step,
        "warmup": args.step_warmup,
        "max_steps": args.max_steps,
        "time_limit": args.time_limit,
        "confidence": args.confidence,
        "max_concurrency": args.max_concurrency,
    }
    for name, value in options.items():
        if value is not None:
            raw[name] = float(value) if name in ("start", "factor") else value
    return SweepPlan.parse(raw, "sweep")


def _sweep(args: argparse.Namespace) -> int:
    args.rate = 1.0  # an open loop: each step sets its own rate
    try:
        if args.experiment:
            spec, block, target = _from_experiment(Path(args.experiment))
        else:
            spec, block, target = load_spec(args), None, args.target or args.url
        plan = _plan(args, block)
        if target and not target.startswith(("http://", "https://")):
            spec = spec.with_target(load_target(target).service("gateway"))
        if spec.arrivals is None:
            spec = replace(spec, arrivals=Arrivals(rate_rps=1.0))  # a closed loop's users become a stepped rate
    except (ChaosLLMError, SpecError, ValueError) as exc:
        print(f"chaosllm sweep: {exc}", file=sys.stderr)
        return EXIT_INVALID
    out = RunDir(args.out).path if args.out else RunDir.create(DEFAULT_ROOT, "sweep").path
    out.mkdir(parents=True, exist_ok=True)
    register_run(out)
    if args.url:
        secrets.register_url(args.url)
    history = History(history_path(out.parent))
    result = run_sweep(spec, plan, out, target, history)
    write_sweep_reports(result, out)
    print(knee_sentence(result))
    print(f"sweep: {out / 'sweep.html'}")
    if result.stopped in ("interrupted", "load_failed"):
        return EXIT_ABORTED
    return EXIT_OK if result.knee_rps is not None else EXIT_FAILED


def _from_experiment(path: Path) -> tuple[LoadSpec, SweepPlan | None, str]:
    """An experiment's load, its sweep block and its target; raises SpecError."""
    source = load_source(path)
    variables = configuration_values(source.data, anchored_target(source.file, source.data, {}))
    plan = Plan.from_experiment(source.data, variables)
    if plan.load is None:
        raise SpecError("extensions", f"{path}: no chaosllm load block to sweep")
    return plan.load, plan.sweep, str(variables.get(TARGET_KEY) or SANDBOX)
