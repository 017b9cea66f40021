"""The safeguard monitor: a thread in the chaos process that checks every condition each interval.

A trip, once: the reason goes to the timeline (``safeguard_tripped``) and to ``<run>/stop.json``
(which ends the method at the next activity and refuses any new fault), then every fault in the
ledger is removed. The load is left running: the recovery is measured until ``recovery`` has passed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from chaoslib_ext.faults import lifecycle
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.safeguards.live import LiveSamples
from chaoslib_ext.safeguards.probes import ProbeError, http_status, prometheus_value
from chaoslib_ext.safeguards.spec import Condition, Safeguards

__all__ = ["Monitor", "breach"]

log = logging.getLogger("chaoslib_ext.safeguards")


def breach(c: Condition, live: LiveSamples, now: float) -> str | None:
    """Why ``c`` is breached now, or None."""
    try:
        if c.kind == "http":
            status = http_status(c)
            return None if status == c.status else f"HTTP {status} from {c.url} (expected {c.status})"
        value = live.metric(str(c.metric), c.window_s, now) if c.kind == "metric" else prometheus_value(c)
    except ProbeError as exc:
        return str(exc)
    if value is None or not c.breached_by(value):
        return None
    label = c.metric if c.kind == "metric" else f"query {c.query!r}"
    return f"{label} = {value:.4g} ({c.describe()})"


class Monitor:
    def __init__(self, run: RunContext, safeguards: Safeguards) -> None:
        self.run = run
        self.safeguards = safeguards
        window = max((c.window_s for c in safeguards.conditions if c.kind == "metric"), default=0.0)
        self.live = LiveSamples(run.run_dir.samples, keep_s=window + 1.0)
        self._since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaosllm-safeguards", daemon=True)
        self.tripped: dict[str, Any] | None = None

    def start(self) -> None:
        log.info("safeguards armed: %s", "; ".join(c.describe() for c in self.safeguards.conditions))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            timeout = max(c.timeout_s for c in self.safeguards.conditions) + 1.0
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.safeguards.interval_s):
            try:
                if self.check(time.time()):
                    return
            except Exception:  # the monitor must never die silently: log and keep checking
                log.exception("safeguard check failed")

    def check(self, now: float) -> bool:
        """One round over every condition; True once tripped. A metric condition waits until a whole
        window has been measured (after the load's warmup), so a run's first seconds never trip it."""
        self.live.refresh(now)
        measured = self.run.timeline.measure_window()
        for c in self.safeguards.conditions:
            if c.kind == "metric" and (measured is None or now - measured[0] < c.window_s):
                continue
            reason = breach(c, self.live, now)
            if reason is None:
                self._since.pop(c.name, None)
                continue
            since = self._since.setdefault(c.name, now)
            if now - since >= c.for_s:
                self.trip(c, reason, now - since)
                return True
        return False

    def trip(self, c: Condition, reason: str, held_s: float) -> None:
        self.tripped = self.run.stop("safeguard", reason, safeguard=c.name, breached_for_s=round(held_s, 3))
        self.run.timeline.record_safeguard_tripped(c.name, reason, round(held_s, 3), at=self.tripped["at"])
        log.error("safeguard %r tripped: %s; removing every fault, load keeps running", c.name, reason)
        removed, failed = lifecycle.sweep(self.run)
        log.warning("after the trip: faults removed: %s", ", ".join(removed) or "none")
        if failed:
            log.error("after the trip: faults that could NOT be removed: %s", ", ".join(failed))
