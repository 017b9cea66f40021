"""``chaosllm abort [RUN_DIR ...] [--all]``: the abort, from another terminal.

Each run is asked through its control endpoint (``POST /abort``, its URL in ``<run>/control.json``; a
token from ``--token-env``, default ``CHAOSLLM_CONTROL_TOKEN``); a run whose endpoint does not answer
gets SIGUSR1 (only the process that owns it, by PID and start time), and its abort is read from its
timeline. Either way the run itself removes every fault, checks each gone on its backend, keeps its
load for the recovery window and exits 3. Without a RUN_DIR: the one run of this machine that is
running (several: name them, or --all).

Exit: 0 every run aborted and every fault verified gone (or nothing was running); 2 a run could not be
reached, or a fault could not be verified gone (see `chaosllm cleanup`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import requests

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext._processes import ProcessRecord, alive
from chaoslib_ext.registry import known_runs
from chaoslib_ext.run.rundir import RunDir
from chaoslib_ext.run.timeline import Timeline
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["abort_runs", "live_runs", "register"]

TOKEN_ENV = "CHAOSLLM_CONTROL_TOKEN"
SIGNAL_WAIT_S = 30.0  # how long a run that got SIGUSR1 has to record its abort


def register(commands: Any) -> None:
    parser = commands.add_parser("abort", help="abort running runs: every fault removed and checked gone, exit 3")
    parser.add_argument("run_dir", type=Path, nargs="*", help="the runs (default: the one running here)")
    parser.add_argument("--all", action="store_true", help="every run of this machine that is running")
    parser.add_argument("--reason", default="aborted from another terminal", help="why (goes to the record)")
    parser.add_argument("--who", default=None, help="who aborts (default: the user)")
    parser.add_argument(
        "--token-env", default=TOKEN_ENV, metavar="VAR", help=f"the endpoint's token (default {TOKEN_ENV})"
    )
    parser.set_defaults(handler=_abort)


def live_runs() -> list[RunDir]:
    """Every run this machine registered whose owning process is alive."""
    found = []
    for path in known_runs():
        run = RunDir(path)
        if run.owner.is_file() and alive(ProcessRecord.from_json(read_json(run.owner))):
            found.append(run)
    return found


def _abort(args: argparse.Namespace) -> int:
    from chaoslib_ext.controls.lock import default_who

    runs = [RunDir(p) for p in args.run_dir] if args.run_dir else live_runs()
    if not runs:
        print("chaosllm abort: no run is running here")
        return EXIT_OK
    if len(runs) > 1 and not (args.all or args.run_dir):
        listed = "\n  ".join(str(r.path) for r in runs)
        print(f"chaosllm abort: {len(runs)} runs are running; name them, or --all:\n  {listed}", file=sys.stderr)
        return EXIT_INVALID
    token = os.environ.get(args.token_env) or None
    return abort_runs(runs, " ".join(args.reason.split()), args.who or default_who(), token)


def abort_runs(runs: list[RunDir], reason: str, who: str, token: str | None) -> int:
    """Abort each run; print what each removed and verified; the exit code (see the module)."""
    code = EXIT_OK
    for run in runs:
        result: dict[str, Any] | None
        try:
            result = _by_endpoint(run, reason, who, token)
        except (OSError, ValueError, requests.RequestException) as exc:
            print(f"{run.path.name}: control endpoint not reachable ({exc}); sending SIGUSR1", file=sys.stderr)
            result = _by_signal(run)
        if result is None:
            print(f"{run.path.name}: NOT aborted: the run could not be reached", file=sys.stderr)
            code = EXIT_INVALID
            continue
        unverified = result.get("unverified") or {}
        print(f"{run.path.name}: aborted ({result.get('via')}); removed: {', '.join(result['removed']) or 'none'}; "
              f"verified gone: {', '.join(result['verified']) or 'none'}")  # fmt: skip
        for fault, why in unverified.items():
            print(f"{run.path.name}: fault {fault} NOT verified gone: {why}", file=sys.stderr)
            code = EXIT_INVALID
    return code


def _by_endpoint(run: RunDir, reason: str, who: str, token: str | None) -> dict[str, Any]:
    control = json.loads(run.control.read_text())
    headers = {"authorization": f"Bearer {token}"} if token else {}
    resp = requests.post(control["url"] + "/abort", json={"reason": reason, "who": who}, headers=headers, timeout=120)
    if resp.status_code == 401:
        raise ValueError("the endpoint wants a bearer token (--token-env)")
    resp.raise_for_status()
    return dict(resp.json())


def _by_signal(run: RunDir) -> dict[str, Any] | None:
    if not run.owner.is_file():
        return None
    owner = ProcessRecord.from_json(read_json(run.owner))
    if not alive(owner):
        return None
    os.kill(owner.pid, signal.SIGUSR1)
    deadline = time.monotonic() + SIGNAL_WAIT_S
    while time.monotonic() < deadline:
        for event in Timeline(run.timeline).events():
            if event["kind"] == "aborted":
                return dict(event)
        time.sleep(0.2)
    return None
