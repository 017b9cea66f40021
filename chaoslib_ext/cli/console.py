"""``chaosllm console RUN_DIR|URL``: the game day console on a run that is already running (a second
screen, another facilitator): the same view and keys over the run's control endpoint. Quitting it
leaves the run alone (only ``chaosllm gameday``'s own console owns its run)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from chaoslib_ext.cli.abort import TOKEN_ENV
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("console", help="the game day console on a running run (a second screen)")
    parser.add_argument("run", help="the run's directory, or its control endpoint's URL")
    parser.add_argument("--who", help="who is at this console (in the record)")
    parser.add_argument(
        "--token-env", default=TOKEN_ENV, metavar="VAR", help=f"the endpoint's token (default {TOKEN_ENV})"
    )
    parser.set_defaults(handler=_console)


def _console(args: argparse.Namespace) -> int:
    from chaoslib_ext.console.app import GameDayConsole
    from chaoslib_ext.console.client import ControlClient
    from chaoslib_ext.exceptions import ControlError

    url = args.run
    if not url.startswith(("http://", "https://")):
        control = Path(args.run) / "control.json"
        if not control.is_file():
            print(
                f"chaosllm console: {args.run} is neither a URL nor a run directory with control.json", file=sys.stderr
            )
            return EXIT_INVALID
        url = json.loads(control.read_text())["url"]
    client = ControlClient(url, os.environ.get(args.token_env) or None)
    try:
        title = client.status()["run_id"]
    except ControlError as exc:
        print(f"chaosllm console: {exc}", file=sys.stderr)
        return EXIT_INVALID
    GameDayConsole(client, title, None, args.who).run()
    return EXIT_OK
