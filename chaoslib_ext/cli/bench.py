"""``chaosllm bench EXPERIMENT``: the experiment against side A and side B in alternating blocks
(A B A B ...), then ``compare`` of all A blocks against all B blocks.

Sides are configuration values: ``--a model=sandbox-v1 --b model=sandbox-v2``, or the experiment's
``compare`` block. Exit codes: those of ``compare`` (0 no regression, 1 a regression), 2 when the
experiment or a block could not run as written, 3 when a block was aborted."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from chaoslib_ext.cli.compare import add_options, parse_settings, run_comparison
from chaoslib_ext.cli.run import add_control_options, control_argv
from chaoslib_ext.exceptions import UsageError
from chaoslib_ext.verdict.outcome import EXIT_INVALID

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("bench", help="run an experiment against two targets in alternating blocks, compare")
    parser.add_argument("experiment", type=Path)
    parser.add_argument("--a", action="append", metavar="KEY=VALUE", help="a configuration value of side A")
    parser.add_argument("--b", action="append", metavar="KEY=VALUE", help="a configuration value of side B")
    parser.add_argument("--blocks", type=int, help="blocks in all, alternating A B A B (default 4)")
    parser.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="a value for both sides")
    parser.add_argument("--out", type=Path, help="bench directory (default: a new one under reports/)")
    add_options(parser)
    add_control_options(parser)
    parser.set_defaults(handler=_bench)


def _pairs(values: dict[str, Any]) -> list[str]:
    return [f"{k}={v}" for k, v in values.items()]


def _sides(args: argparse.Namespace, compare: Any) -> dict[str, list[str]]:
    """Each side's KEY=VALUE list: the command line's, else the experiment's compare block."""
    a = args.a or (_pairs(compare.a) if compare else None)
    b = args.b or (_pairs(compare.b) if compare else None)
    if not a or not b:
        raise UsageError("no sides: give --a KEY=VALUE and --b KEY=VALUE, or a compare block in the experiment")
    return {"A": list(a), "B": list(b)}


def _plan_of(args: argparse.Namespace) -> tuple[Any, Any]:
    """The BenchPlan and comparison settings; raises ValueError (printed, exit 2)."""
    from chaoslib_ext.cli.validate import checked_source, parse_vars
    from chaoslib_ext.compare.bench import BenchPlan
    from chaoslib_ext.compare.spec import DEFAULT_BLOCKS
    from chaoslib_ext.experiment.plan import Plan
    from chaoslib_ext.experiment.variables import configuration_values
    from chaoslib_ext.run.rundir import DEFAULT_ROOT, RunDir

    common = parse_vars(args.var)
    source = checked_source(args.experiment, common)
    if source is None:
        raise UsageError(f"{args.experiment}: not a valid experiment (see above)")
    compare = Plan.from_experiment(source.data, configuration_values(source.data, common)).compare
    sides = _sides(args, compare)
    for side, pairs in sides.items():
        if checked_source(args.experiment, parse_vars([*args.var, *pairs])) is None:
            raise UsageError(f"{args.experiment}: not valid with side {side}'s values {' '.join(pairs)}")
    blocks = args.blocks or (compare.blocks if compare else DEFAULT_BLOCKS)
    if blocks < 2:
        raise UsageError(f"--blocks {blocks}: at least 2 (A B)")
    settings = parse_settings(args)
    if compare:  # the command line's thresholds win over the experiment's
        settings = replace(settings, thresholds={**compare.thresholds, **settings.thresholds})
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    out = args.out or RunDir.create(DEFAULT_ROOT, f"bench {source.data.get('title', args.experiment.stem)}").path
    return BenchPlan(args.experiment, sides, blocks, list(args.var), out, control_argv(args)), settings


def _bench(args: argparse.Namespace) -> int:
    from chaoslib_ext.compare.bench import run_blocks

    try:
        plan, settings = _plan_of(args)
    except ValueError as exc:
        print(f"chaosllm bench: {exc}", file=sys.stderr)
        return EXIT_INVALID
    from chaoslib_ext.cli.lock import refused

    locked = refused(None, "bench")  # this machine's lock; every block's run checks its cluster's too
    if locked is not None:
        return locked
    blocks, stopped = run_blocks(plan)
    failed = [b for b in blocks if b.exit_code == 1]
    if failed:
        print(f"bench: blocks {', '.join(str(b.number) for b in failed)} failed a hypothesis (see their reports)")
    if stopped is not None:
        print(f"chaosllm bench: stopped after block {len(blocks)} with exit code {stopped}", file=sys.stderr)
        return stopped
    return run_comparison(plan.out / "A", plan.out / "B", settings, plan.out)
