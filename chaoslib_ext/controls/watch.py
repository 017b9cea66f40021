"""What watches a run while its method plays, armed before it and disarmed after it: the signals
(recorded, so an abort is told from other interruptions; SIGUSR1 aborts), the deadline (past it, the
run is interrupted like a SIGTERM) and the safeguard monitor. After a trip or an abort the method ends
at the next activity and the load keeps running until the recovery was measured."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from chaoslib.exceptions import InterruptExecution

from chaoslib_ext.controls import signals
from chaoslib_ext.controls.abort import abort
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.safeguards.monitor import Monitor
from chaoslib_ext.safeguards.spec import Safeguards

__all__ = ["arm", "disarm", "interrupt_if_stopped", "is_rollback", "watch_safeguards"]

log = logging.getLogger("chaoslib_ext")


@dataclass
class _Watch:
    deadline: threading.Timer
    recovery_s: float  # after a trip or an abort, the load runs this long for the recovery
    rollbacks: list[Any] = field(default_factory=list)
    monitor: Monitor | None = None


#: The watch of each run in this process, by run directory.
_WATCHES: dict[str, _Watch] = {}


def arm(run: RunContext, deadline_s: float, rollbacks: list[Any], recovery_s: float) -> None:
    """Record signals, make SIGUSR1 abort, and start the deadline (before the load starts: a hung target
    counts too)."""
    signals.arm(lambda: _abort_by_signal(run))
    timer = threading.Timer(
        deadline_s, signals.interrupt, args=(f"deadline of {deadline_s:g}s exceeded", "deadline_exceeded")
    )
    timer.daemon = True
    timer.start()
    _WATCHES[str(run.run_dir.path)] = _Watch(timer, recovery_s, list(rollbacks))


def _abort_by_signal(run: RunContext) -> None:
    abort(run, "SIGUSR1", "SIGUSR1 received")


def watch_safeguards(run: RunContext, safeguards: Safeguards) -> None:
    """Start the safeguard monitor (once the load flows: its conditions read the load's samples)."""
    watch = _WATCHES[str(run.run_dir.path)]
    watch.monitor = Monitor(run, safeguards)
    watch.monitor.start()


def is_rollback(run_dir: str, activity: Any) -> bool:
    """Rollbacks run whatever happened: a trip must not stop them."""
    watch = _WATCHES.get(run_dir)
    return watch is not None and activity in watch.rollbacks


def interrupt_if_stopped(run: RunContext) -> None:
    if run.stopped:
        raise InterruptExecution(run.stop_reason())


def disarm(run: RunContext) -> None:
    """Cancel the deadline, record the signals received, stop the monitor; after a trip or an abort,
    keep the load running until the recovery was measured."""
    watch = _WATCHES.pop(str(run.run_dir.path), None)
    if watch is not None:
        watch.deadline.cancel()
    for name, at, cause in signals.disarm():
        run.timeline.record_interrupted(name, cause, at=at)
    if watch is None:
        return
    if watch.monitor is not None:
        watch.monitor.stop()
    stop = run.stop_record()
    if stop is None or stop.get("by") not in ("safeguard", "abort"):
        return
    lifecycle.sweep(run)  # a fault that raced the trip or the abort
    left = float(stop["at"]) + watch.recovery_s - time.time()
    if left > 0 and run.timeline.has("load_started"):
        log.info("%s: measuring the recovery for %.1fs more", stop["by"], left)
        time.sleep(left)
