"""``chaosllm``: run LLM-serving chaos experiments on Chaos Toolkit, with load, verdicts and reports.

Exit codes: 0 every hypothesis holds; 1 a hypothesis failed; 2 the experiment could not run as
written (bad file, fault not injected, target unreachable); 3 aborted by the operator or a safeguard.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from chaoslib_ext import __version__
from chaoslib_ext.verdict.outcome import EXIT_ABORTED

__all__ = ["main"]


#: each a module of chaoslib_ext.cli with ``register(commands)``; only the one asked for is imported
COMMANDS = (
    "sandbox", "run", "validate", "check", "load", "sweep", "calibrate", "report", "note", "compare", "bench",
    "history", "cleanup", "worker", "k8s", "gameday", "console", "abort", "lock", "unlock",
)  # fmt: skip


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaosllm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"chaosllm {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"chaoslib_ext.cli.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None  # a command's start-up need not import the others
    args = build_parser(only).parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("chaosllm: interrupted", file=sys.stderr)
        return EXIT_ABORTED
    return code


if __name__ == "__main__":
    sys.exit(main())
