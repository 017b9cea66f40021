"""``chaosllm gameday EXPERIMENT``: a game day on the run path of ``chaosllm run``, with a console.

It starts ``chaosllm run`` (the same controls, ledger, timeline and reports: no second orchestrator)
with every step waiting for approval (``--approve each``, the default here), the run's control endpoint,
and the game day's roles, then opens the console (chaoslib_ext.console.app) on that endpoint. The run
writes the record as it happens (``<run>/gameday/record.md``, ``record.json``) and the postmortem
skeleton at its end, runs the game day's preflight (the target's checks, the lock, the stop conditions,
the baseline healthy for ``--preflight-window``), and aborts by itself if the console goes away.

Roles come from the flags, else the experiment's ``configuration.chaosllm_gameday`` (``facilitator``,
``scribe``, ``observers``, ``preflight_window``). Exit code: the run's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chaoslib_ext.cli.run import add_control_options, control_argv
from chaoslib_ext.run.rundir import DEFAULT_ROOT
from chaoslib_ext.verdict.outcome import EXIT_INVALID

__all__ = ["register"]

START_TIMEOUT_S = 300.0  # the run's preflight and load start, before its endpoint is up


def register(commands: Any) -> None:
    parser = commands.add_parser("gameday", help="a game day: the run with a live console, approvals and a record")
    parser.add_argument("experiment", type=Path)
    parser.add_argument("--facilitator", help="who leads (also who the console's actions are by)")
    parser.add_argument("--scribe", help="who keeps the log")
    parser.add_argument("--observer", action="append", default=[], help="an observer (repeat)")
    parser.add_argument("--who", help="who is at this console (default: the facilitator)")
    parser.add_argument("--preflight-window", default=None, help="how long the baseline must be healthy (default 10s)")
    parser.add_argument("--var", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--var-file", action="append", default=[], metavar="FILE")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="root of run directories (reports/)")
    add_control_options(parser)
    parser.set_defaults(handler=_gameday, approve="each")


def _gameday(args: argparse.Namespace) -> int:
    from chaoslib_ext.cli.validate import checked_source, parse_vars
    from chaoslib_ext.gameday.record import GAMEDAY_KEY, GameDay

    source = checked_source(args.experiment, parse_vars(args.var))
    if source is None:
        print("\nOutcome: ERROR, invalid_experiment (exit code 2): nothing ran")
        return EXIT_INVALID
    declared = (source.data.get("configuration") or {}).get(GAMEDAY_KEY) or {}
    settings = {**(declared if isinstance(declared, dict) else {}), "console_pid": os.getpid()}
    for key, value in (("facilitator", args.facilitator), ("scribe", args.scribe), ("observers", args.observer),
                       ("preflight_window", args.preflight_window)):  # fmt: skip
        if value:
            settings[key] = value
    try:
        roles = GameDay.parse(settings)
    except ValueError as exc:
        print(f"chaosllm gameday: {exc}", file=sys.stderr)
        return EXIT_INVALID
    args.out.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in args.out.iterdir()}
    log_path = args.out / f".gameday-{os.getpid()}.log"
    argv = [sys.executable, "-m", "chaoslib_ext.cli.main", "run", str(args.experiment), "--out", str(args.out),
            "--gameday", json.dumps(settings), *control_argv(args)]  # fmt: skip
    argv += [f"--var={v}" for v in args.var] + [f"--var-file={f}" for f in args.var_file]
    with log_path.open("wb") as log:  # its own session: the terminal's hangup reaches the console, not the run
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        code = _console(proc, args, before, str(source.data.get("title", args.experiment.stem)), roles.facilitator)
    finally:
        if proc.poll() is None:
            proc.wait()
    sys.stdout.write(log_path.read_text(errors="replace"))
    log_path.unlink(missing_ok=True)
    return code if code is not None else proc.returncode


def _console(
    proc: subprocess.Popen[bytes], args: argparse.Namespace, before: set[str], title: str, facilitator: str | None
) -> int | None:
    """The console on the run's endpoint once it is up; None when the run ended before that."""
    from chaoslib_ext.console.app import GameDayConsole
    from chaoslib_ext.console.client import ControlClient

    control = _wait_control(proc, args.out, before)
    if control is None:
        return None
    token = os.environ.get(args.control_token_env) if args.control_token_env else None
    app = GameDayConsole(ControlClient(control, token), title, proc, args.who or facilitator)
    code = app.run()
    return code if isinstance(code, int) else None


def _wait_control(proc: subprocess.Popen[bytes], out: Path, before: set[str]) -> str | None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        for run in (p for p in out.iterdir() if p.name not in before and p.is_dir()):
            control = run / "control.json"
            if control.is_file():
                return str(json.loads(control.read_text())["url"])
        time.sleep(0.1)
    return None
