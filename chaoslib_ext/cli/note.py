"""``chaosllm note RUN_DIR TEXT``: write what you see into a run's timeline, while it runs or after.

The note is timestamped (now, or ``--at``) and drawn on report.html's timelines; the secrets the run
registered are scrubbed from the report as from everything else. A note is the one event of the
timeline a person writes."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from chaoslib_ext.run.rundir import RunDir
from chaoslib_ext.run.timeline import Timeline
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("note", help="add a timestamped note to a run's timeline")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("text")
    parser.add_argument("--at", type=float, default=None, help="unix time of the note (default: now)")
    parser.set_defaults(handler=_note)


def _note(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    text = " ".join(str(args.text).split())
    if not run_dir.timeline.exists():
        print(f"chaosllm note: {args.run_dir} is not a run directory (no timeline.json)", file=sys.stderr)
        return EXIT_INVALID
    if not text:
        print("chaosllm note: the note is empty", file=sys.stderr)
        return EXIT_INVALID
    at = time.time() if args.at is None else args.at
    Timeline(run_dir.timeline).record_note(text, at=at)
    print(f"noted in {run_dir.timeline} at {time.strftime('%H:%M:%S', time.gmtime(at))} UTC: {text}")
    return EXIT_OK
