"""Keep the sandbox's app tier running, as a Kubernetes Deployment would: restart a gateway or worker
that dies, with the command line it was started with, and record the restart in the state file.

Measured reason it exists: librdkafka 2.16 segfaults (rd_kafka_metadata_update_op -> strcmp(NULL);
upstream issues #4964, #5280) in the gateway and the worker when Tansu, whose storage is in memory,
is restarted and every topic comes back with a new id. A real deployment would restart those pods too;
the restarts are visible in ``chaosllm sandbox status`` and in the run as errors, not hidden.

    python -m chaoslib_ext.sandbox.supervisor --state-file F --process gateway --process worker
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from chaoslib_ext._filelock import locked
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, reap, spawn_detached

log = logging.getLogger("chaoslib_ext.sandbox.supervisor")

_POLL_S = 0.5


def restart_dead(state_file: Path, names: list[str]) -> list[str]:
    """Start again every watched process that is not running; returns their names."""
    restarted = []
    with locked(state_file):
        state = read_json(state_file)
        processes = state["processes"]
        for i, raw in enumerate(processes):
            record = ProcessRecord.from_json(raw)
            if record.name not in names or alive(record):
                continue
            reap(record.pid)
            fresh = spawn_detached(record.name, record.argv, Path(record.log))
            processes[i] = {**fresh.to_json(), "restarts": int(raw.get("restarts", 0)) + 1}
            restarted.append(record.name)
            log.warning("%s (pid %d) died; restarted as pid %d", record.name, record.pid, fresh.pid)
        if restarted:
            write_json_atomic(state_file, state)
    return restarted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.sandbox.supervisor")
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--process", action="append", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor %(levelname)s %(message)s")
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while not stopping:
        time.sleep(_POLL_S)
        if not args.state_file.exists():
            break  # the sandbox is gone
        restart_dead(args.state_file, args.process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
