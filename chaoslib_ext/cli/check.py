"""``chaosllm check TARGET [--experiment EXP]``: preflight. Reach every service the target names (a
streamed completion with its model and key, Redis PING with auth, Kafka metadata, the fault control
APIs, the Kubernetes API, Chaos Mesh's CRDs and RBAC); one row per check, exit 2 on any failure.
``chaosllm run`` runs the same checks before it starts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.preflight import check_target, render
from chaoslib_ext.target import load_target
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("check", help="preflight: reach every service a target names")
    parser.add_argument("target", help="'sandbox' or the path of a target file")
    parser.add_argument(
        "--var-file",
        action="append",
        default=[],
        metavar="FILE",
        help="JSON/YAML with secrets a target names as {secret: NAME}",
    )
    parser.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from chaoslib import merge_vars

    _, secret_vars = merge_vars({}, args.var_file)
    secrets.register_named(secret_vars)
    try:
        target = load_target(args.target)
    except ChaosLLMError as exc:
        print(f"chaosllm check: {exc}", file=sys.stderr)
        return EXIT_INVALID
    checks = check_target(target)
    print(secrets.scrub(render(checks)))
    failed = [c for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed" + (": not ready" if failed else ""))
    return EXIT_INVALID if failed else EXIT_OK
