"""``chaosllm compare RUN_A RUN_B``: per metric and phase, B's change against A with a bootstrap
confidence interval and a verdict; exit 1 when anything regressed, 2 on bad input.

RUN_A and RUN_B are run directories, or directories of runs (the blocks of ``chaosllm bench``).
``chaosllm compare RUN`` alone compares side A's requests with side B's in runs whose load
alternated two sides (``load.alternate``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from chaoslib_ext.exceptions import SideError, UsageError
from chaoslib_ext.verdict.outcome import EXIT_INVALID

__all__ = ["parse_settings", "register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("compare", help="compare two runs (or two sets of runs): release A vs release B")
    parser.add_argument("run_a", type=Path, help="side A: a run directory or a directory of runs")
    parser.add_argument(
        "run_b", type=Path, nargs="?", help="side B (omitted: A and B are the sides of RUN_A's alternating load)"
    )
    add_options(parser)
    parser.add_argument("--out", type=Path, help="where compare.json/.md/.html go (default: a new reports/ dir)")
    parser.set_defaults(handler=_compare)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The comparison options, shared with ``chaosllm bench``."""
    parser.add_argument("--metric", action="append", metavar="KEY", help="compare these metrics (repeatable)")
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="smallest change that counts, e.g. ttft_ms.p99=10%%",
    )
    parser.add_argument(
        "--phase", action="append", help="baseline, fault, recovery, overall (default: all but overall)"
    )
    parser.add_argument("--confidence", type=float, default=0.95, help="confidence level (default 0.95)")
    parser.add_argument("--resamples", type=int, help="bootstrap resamples (default 2000)")
    parser.add_argument(
        "--seed", type=int, default=0, help="bootstrap seed (default 0: the same input, the same verdict)"
    )
    parser.add_argument(
        "--group",
        default="1s",
        metavar="DURATION",
        help="resample the requests that started within one such slot together (default 1s; 0: each alone)",
    )
    parser.add_argument(
        "--max-steal",
        default="20%",
        metavar="PCT|off",
        help="leave out the seconds the hypervisor stole this share of the load generator's CPU or more, and "
        "the requests in flight then (default 20%%; off: keep every second)",
    )


def parse_settings(args: argparse.Namespace) -> Any:
    """The Settings the options ask for; raises ValueError naming the option and the accepted values."""
    from chaoslib_ext.compare.bootstrap import DEFAULT_RESAMPLES
    from chaoslib_ext.compare.metrics import DEFAULT_METRICS, parse_metric
    from chaoslib_ext.compare.spec import parse_fraction
    from chaoslib_ext.compare.verdict import Settings
    from chaoslib_ext.durations import parse_duration
    from chaoslib_ext.metrics import PHASES

    metrics = [parse_metric(k) for k in (args.metric or DEFAULT_METRICS)]
    thresholds = {}
    for item in args.threshold:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--threshold {item!r}: expected KEY=VALUE, e.g. ttft_ms.p99=10%")
        parse_metric(key)
        thresholds[key] = parse_fraction(value, f"--threshold {key}")
    for key in thresholds:
        if key not in {m.key for m in metrics}:
            metrics.append(parse_metric(key))
    for phase in args.phase or []:
        if phase not in PHASES:
            raise UsageError(f"--phase {phase!r} (accepted: {', '.join(PHASES)})")
    if not 0.5 <= args.confidence < 1.0:
        raise UsageError(f"--confidence {args.confidence}: accepted 0.5 to 0.999")
    resamples = DEFAULT_RESAMPLES if args.resamples is None else args.resamples
    if resamples < 100:
        raise UsageError(f"--resamples {resamples}: at least 100")
    phases = tuple(args.phase) if args.phase else None
    group_s = parse_duration(args.group, "--group")
    max_steal = None if args.max_steal == "off" else parse_fraction(args.max_steal, "--max-steal")
    if max_steal is not None and not 0.0 < max_steal <= 1.0:
        raise UsageError(f"--max-steal {args.max_steal!r}: accepted 1% to 100%, or off")
    return Settings(tuple(metrics), thresholds, phases, args.confidence, resamples, args.seed, group_s, max_steal)


def run_comparison(side_a: Path, side_b: Path | None, settings: Any, out: Path | None) -> int:
    """Compare, write the three files, print the table; the exit code (0, 1, or 2 on bad input)."""
    from chaoslib_ext.compare.arms import load_side, load_sides
    from chaoslib_ext.compare.report import exit_code, render_markdown, write_comparison
    from chaoslib_ext.compare.verdict import compare
    from chaoslib_ext.run.rundir import DEFAULT_ROOT, RunDir

    try:
        steal = settings.max_steal
        if side_b is None:
            a, b = load_sides(side_a, steal)
        else:
            a, b = load_side(side_a, "A " + side_a.name, steal), load_side(side_b, "B " + side_b.name, steal)
    except SideError as exc:
        print(f"chaosllm compare: {exc}", file=sys.stderr)
        return EXIT_INVALID
    comparison = compare(a, b, settings)
    if not comparison.rows:
        print(f"chaosllm compare: {a.label} and {b.label} have no phase with requests in common", file=sys.stderr)
        return EXIT_INVALID
    target = out or RunDir.create(DEFAULT_ROOT, f"compare {a.label} vs {b.label}").path
    paths = write_comparison(comparison, target)
    print(render_markdown(comparison))
    print(f"report: {paths['html']}\n        {paths['md']}\n        {paths['json']}")
    return exit_code(comparison)


def _compare(args: argparse.Namespace) -> int:
    try:
        settings = parse_settings(args)
    except ValueError as exc:
        print(f"chaosllm compare: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return run_comparison(args.run_a, args.run_b, settings, args.out)
