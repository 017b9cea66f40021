"""``chaosllm validate EXPERIMENT``: every problem as ``file:line:col: message``; exit 2 if any."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from chaoslib_ext.controls.settings import configuration_problems
from chaoslib_ext.exceptions import ExperimentInvalid
from chaoslib_ext.experiment.loader import Source, load_source
from chaoslib_ext.experiment.validate import validate
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["checked_source", "parse_vars", "register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("validate", help="check an experiment without running anything")
    parser.add_argument("experiment", type=Path)
    parser.add_argument(
        "--var", action="append", default=[], metavar="KEY=VALUE", help="configuration value, as in `chaos run --var`"
    )
    parser.set_defaults(handler=_validate)


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    from chaoslib import convert_vars

    try:
        converted: dict[str, Any] = convert_vars(pairs)
    except ValueError as exc:
        raise SystemExit(f"chaosllm: bad --var: {exc}") from exc
    return converted


def checked_source(path: Path, config_vars: dict[str, Any]) -> Source | None:
    """The loaded experiment, or None after printing every problem to stderr."""
    try:
        source = load_source(path)
    except ExperimentInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None
    problems = validate(source, config_vars, configuration_problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    return None if problems else source


def _validate(args: argparse.Namespace) -> int:
    source = checked_source(args.experiment, parse_vars(args.var))
    if source is None:
        return EXIT_INVALID
    print(f"{args.experiment}: valid")
    return EXIT_OK
