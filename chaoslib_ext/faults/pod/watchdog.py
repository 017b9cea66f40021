"""Resume a stopped process at a deadline: the dead-man switch of a local pod-failure (SIGSTOP).

    python -m chaoslib_ext.faults.pod.watchdog --pid PID --start-ticks N --until UNIX_TIME

Started detached next to the SIGSTOP, so the process is resumed on time even if the run that stopped
it is killed. It signals the process only while the PID still names the same process (start time).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from chaoslib_ext._processes import ProcessRecord, alive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.faults.pod.watchdog")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--start-ticks", type=int, required=True)
    parser.add_argument("--until", type=float, required=True)
    args = parser.parse_args(argv)
    record = ProcessRecord("stopped", args.pid, args.start_ticks, (), "")
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while not stopping and time.time() < args.until:
        time.sleep(min(0.2, max(args.until - time.time(), 0.0)))
    if alive(record):
        os.kill(args.pid, signal.SIGCONT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
