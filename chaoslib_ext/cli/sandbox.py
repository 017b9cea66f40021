"""``chaosllm sandbox up|down|status``: the embedded stack on loopback."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("sandbox", help="start, stop or show the embedded sandbox")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start gateway, worker, Redis, Kafka broker and fault proxy")
    up.add_argument("--seed", type=int, help="seed the worker's latency model (repeatable runs)")
    up.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="the gateway requires Authorization: Bearer <$VAR> (the target file names VAR, never the key)",
    )
    up.set_defaults(handler=_up)
    actions.add_parser("down", help="stop everything `up` started").set_defaults(handler=_down)
    status = actions.add_parser("status", help="every service, its address and the real one behind the proxy")
    status.add_argument("--json", action="store_true", help="print the state as JSON (a target file)")
    status.set_defaults(handler=_status)


def _up(args: argparse.Namespace) -> int:
    # The sandbox is a target like any other: only the CLI imports it, never the experiment flow.
    from chaoslib_ext._readiness import ServiceStartError
    from chaoslib_ext.sandbox import stack

    try:
        state = stack.up(seed=args.seed, api_key_env=args.api_key_env)
    except (stack.SandboxRunningError, ServiceStartError, FileNotFoundError) as exc:
        print(f"chaosllm sandbox up: {exc}", file=sys.stderr)
        return EXIT_INVALID
    _print_services(state)
    return EXIT_OK


def _down(args: argparse.Namespace) -> int:
    from chaoslib_ext.sandbox import stack

    stopped = stack.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "no sandbox was running")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from chaoslib_ext.sandbox import stack

    state = stack.status()
    if state is None:
        print("no sandbox is running" if not args.json else json.dumps(None))
        return EXIT_INVALID
    if args.json:
        print(json.dumps(state, indent=2))
    else:
        _print_services(state)
    return EXIT_OK if all(p.get("alive", True) for p in state["processes"]) else EXIT_INVALID


def _print_services(state: dict[str, Any]) -> None:
    print(f"{'service':<14} {'clients use':<50} {'real server':<32} link")
    for name, svc in state["services"].items():
        if svc["address"]:
            print(f"{name:<14} {svc['address']:<50} {svc['real']:<32} {svc.get('link', '-')}")
    print(f"{'proxy':<14} {state['proxy']['control_url']:<50} {'(control API)':<32} -")
    for proc in state["processes"]:
        alive = proc.get("alive")
        flag = "" if alive is None else ("  running" if alive else "  NOT RUNNING")
        restarts = f"  (restarted {proc['restarts']}x)" if proc.get("restarts") else ""
        print(f"  {proc['name']:<14} pid {proc['pid']:<8} log {proc['log']}{flag}{restarts}")
