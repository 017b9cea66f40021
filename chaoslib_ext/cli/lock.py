"""``chaosllm lock --reason R [--who W] [--target T]``: the kill switch. Takes the abort lock (this
machine's state directory, and the target's cluster as a Lease) and aborts every run of this machine;
while it is held every new ``run``, ``bench`` and ``gameday`` is refused with exit 3 and the reason.
``chaosllm unlock [--target T]`` releases it; ``chaosllm lock --status`` says whether it is held.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chaoslib_ext.controls import lock
from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.target import SANDBOX, Target, load_target
from chaoslib_ext.verdict.outcome import EXIT_ABORTED, EXIT_INVALID, EXIT_OK

__all__ = ["refused", "register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("lock", help="the kill switch: abort every run here, refuse new ones until unlock")
    parser.add_argument("--reason", help="why (shown to everyone refused)")
    parser.add_argument("--who", default=None, help="who takes it (default: the user)")
    parser.add_argument("--target", help="a cluster target: hold the lock there too (a Lease), for every runner")
    parser.add_argument("--no-abort", action="store_true", help="only refuse new runs; leave running ones")
    parser.add_argument("--status", action="store_true", help="say whether the lock is held, change nothing")
    parser.set_defaults(handler=_lock)


def _target(ref: str | None) -> Target | None:
    return load_target(ref) if ref else None


def _lock(args: argparse.Namespace) -> int:
    try:
        target = _target(args.target)
        if args.status:
            found = lock.held(target)
            print(found.describe() if found is not None else "the abort lock is not held")
            return EXIT_OK
        if not args.reason or not args.reason.strip():
            print("chaosllm lock: --reason is required (everyone refused reads it)", file=sys.stderr)
            return EXIT_INVALID
        where = lock.take(" ".join(args.reason.split()), args.who or lock.default_who(), target)
    except ChaosLLMError as exc:
        print(f"chaosllm lock: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"abort lock taken: {', '.join(where)}")
    if args.no_abort:
        return EXIT_OK
    from chaoslib_ext.cli.abort import abort_runs, live_runs

    runs = live_runs()
    return abort_runs(runs, f"abort lock: {args.reason}", args.who or lock.default_who(), None) if runs else EXIT_OK


def register_unlock(commands: Any) -> None:
    parser = commands.add_parser("unlock", help="release the abort lock (here, and on --target's cluster)")
    parser.add_argument("--target", help="a cluster target: delete its Lease too")
    parser.set_defaults(handler=_unlock)


def _unlock(args: argparse.Namespace) -> int:
    try:
        where = lock.release(_target(args.target))
    except ChaosLLMError as exc:
        print(f"chaosllm unlock: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"abort lock released: {', '.join(where)}" if where else "the abort lock was not held")
    return EXIT_OK


def refused(target_ref: str | None, command: str) -> int | None:
    """EXIT_ABORTED (after saying why) while the abort lock is held for this target, else None. A
    cluster whose lock cannot be read is left to the preflight (its API unreachable: exit 2), and the
    run checks the lock again before it starts."""
    try:
        target = load_target(target_ref) if target_ref and target_ref != SANDBOX else None
    except ChaosLLMError:
        target = None  # the run's own checks say what is wrong with it; this machine's lock still counts
    try:
        found = lock.held(target)  # this machine's lock first: read before any cluster's
    except ChaosLLMError:
        return None
    if found is None:
        return None
    print(f"chaosllm {command}: refused: {found.describe()} (`chaosllm unlock` releases it)", file=sys.stderr)
    print(f"\nOutcome: ABORTED, operator_abort (exit code {EXIT_ABORTED}): nothing ran")
    return EXIT_ABORTED
