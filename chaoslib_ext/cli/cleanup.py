"""``chaosllm cleanup``: after a crash or a SIGKILL, remove every fault any run's ledger still lists
and stop any load generator a run left behind. A run whose process is still alive is left alone
(``--force`` includes it); ``chaosllm run`` does the same sweep before it starts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chaoslib_ext.faults import lifecycle
from chaoslib_ext.jsonfile import read_json
from chaoslib_ext.load.runner import LoadProcess
from chaoslib_ext.outcome import EXIT_INVALID, EXIT_OK
from chaoslib_ext.processes import ProcessRecord, alive
from chaoslib_ext.proxy.local import stop_local_proxy
from chaoslib_ext.runcontext import RUN_DIR_KEY, RunContext
from chaoslib_ext.rundir import DEFAULT_ROOT, RunDir

__all__ = ["register", "sweep_root"]


def register(commands: Any) -> None:
    parser = commands.add_parser("cleanup", help="remove faults and stop load left by interrupted runs")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where run directories are (reports/)")
    parser.add_argument("--force", action="store_true", help="also clean runs whose process is still alive")
    parser.set_defaults(handler=_cleanup)


def sweep_root(root: Path, force: bool = False) -> tuple[list[str], list[str]]:
    """(what was cleaned, what could not be) over every run directory under ``root`` whose runner
    is gone (every one with ``force``)."""
    cleaned, stuck = [], []
    for path in sorted(p for p in root.glob("*") if p.is_dir()):
        run_dir = RunDir(path)
        if not force and _running(run_dir):
            continue
        load = LoadProcess.find(run_dir.load, run_dir.samples)
        if load is not None and load.running:
            load.stop()
            cleaned.append(f"{run_dir.run_id}: load stopped")
        if run_dir.ledger.exists():
            run = RunContext.from_configuration({RUN_DIR_KEY: str(path)})
            removed, failed = lifecycle.sweep(run)
            cleaned += [f"{run_dir.run_id}: fault {fault} removed" for fault in removed]
            stuck += [f"{run_dir.run_id}: fault {fault} could NOT be removed" for fault in failed]
        if stop_local_proxy(run_dir.proxy):
            cleaned.append(f"{run_dir.run_id}: the run's fault proxy stopped")
    return cleaned, stuck


def _running(run_dir: RunDir) -> bool:
    try:
        return alive(ProcessRecord.from_json(read_json(run_dir.owner)))
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no owner record (a run from before it existed, or a torn file): not running


def _cleanup(args: argparse.Namespace) -> int:
    cleaned, stuck = sweep_root(args.root, args.force)
    for line in cleaned + stuck:
        print(line)
    if not cleaned and not stuck:
        print(f"nothing to clean under {args.root}")
    return EXIT_INVALID if stuck else EXIT_OK
