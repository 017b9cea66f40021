"""The dead-man switch of the faults that nothing else would end: memory pressure, a failover, the
mock Kafka cluster's faults, a killed process. Started detached when such a fault is recorded, it
waits until the fault's TTL (chaoslib_ext.faults.expiry) and removes it from its undo record if the
ledger still lists it, whatever happened to the run that injected it (a SIGKILL, a crash):

    python -m chaoslib_ext.faults.watchdog --run-dir DIR --fault ID --until UNIX_TIME

It exits as soon as the ledger says the fault is gone. The removal is the run's own (ledger and
timeline updated, ``fault_expired`` recorded first); the credentials it needs are looked up again
from the target, as ``chaosllm cleanup`` does.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from chaoslib_ext._processes import ProcessRecord, spawn_detached
from chaoslib_ext.exceptions import FaultRemovalError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.run.context import RUN_DIR_KEY, RunContext

__all__ = ["start_watchdog"]

_POLL_S = 1.0


def start_watchdog(run: RunContext, fault_id: str, until: float) -> ProcessRecord:
    """Start the watchdog of ``fault_id``; its record and log go to ``<run>/faults/``."""
    folder = run.run_dir.path / "faults"
    argv = [sys.executable, "-m", "chaoslib_ext.faults.watchdog", "--run-dir", str(run.run_dir.path),
            "--fault", fault_id, "--until", f"{until:.3f}"]  # fmt: skip
    return spawn_detached(f"expiry-{fault_id}", argv, folder / f"{fault_id}.expiry.log")


def watch(run: RunContext, fault_id: str, until: float) -> int:
    """Wait for ``until`` unless the fault goes first; then remove it. 0, or 2 when it could not."""
    while (left := until - time.time()) > 0:
        entry = run.ledger.get(fault_id)
        if entry is None or not entry.outstanding:
            return 0
        time.sleep(min(_POLL_S, left))
    entry = run.ledger.get(fault_id)
    if entry is None or not entry.outstanding:
        return 0
    run.timeline.record_fault_expired(fault_id, by="watchdog")
    try:
        lifecycle.remove(run, entry)
    except FaultRemovalError as exc:
        logging.error("%s", exc)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.faults.watchdog")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--fault", required=True)
    parser.add_argument("--until", type=float, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s watchdog %(levelname)s %(message)s")
    return watch(RunContext.from_configuration({RUN_DIR_KEY: str(args.run_dir)}), args.fault, args.until)


if __name__ == "__main__":
    sys.exit(main())
