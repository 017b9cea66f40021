"""What happened when during a run: load start and stop, faults in and out, windows, notes.

``timeline.json`` is ``{"events": [...]}``, each event ``{"at": <unix s>, "kind": ..., ...}``:

    load_started {warmup_s}     load_stopped          window {label, duration_s}
    fault_injected {fault, family, target, spec}      fault_removed {fault}
    fault_failed {fault, error}                       note {text}       interrupted {reason, cause}
    load_died {process, error, last_beat_at}          safeguard_tripped {safeguard, reason}

Phase boundaries are computed from these events, never guessed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaoslib_ext.filelock import locked
from chaoslib_ext.jsonfile import read_json, write_json_atomic
from chaoslib_ext.metrics.windows import FaultInterval

__all__ = ["Timeline"]


class Timeline:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, kind: str, at: float | None = None, **fields: Any) -> dict[str, Any]:
        """Append one event (``at`` defaults to now) and return it."""
        event = {"at": time.time() if at is None else at, "kind": kind, **fields}
        with locked(self.path):
            events = self.events()
            events.append(event)
            write_json_atomic(self.path, {"events": events})
        return event

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        events: list[dict[str, Any]] = read_json(self.path)["events"]
        return events

    def first(self, kind: str) -> dict[str, Any] | None:
        return next((e for e in self.events() if e["kind"] == kind), None)

    def fault_intervals(self) -> list[FaultInterval]:
        """Every injected fault with the time it was removed (None if never)."""
        injected: dict[str, float] = {}
        removed: dict[str, float] = {}
        for e in self.events():
            if e["kind"] == "fault_injected":
                injected[e["fault"]] = e["at"]
            elif e["kind"] == "fault_removed":
                removed.setdefault(e["fault"], e["at"])
        return [FaultInterval(name, at, removed.get(name)) for name, at in injected.items()]

    def measure_window(self) -> tuple[float, float] | None:
        """(load start + warmup, load stop), or None when load never started. A load process that died
        ends the window at its last heartbeat: the seconds after it were not measured."""
        started = self.first("load_started")
        if started is None:
            return None
        stopped = self.first("load_stopped")
        end = stopped["at"] if stopped else time.time()
        died = self.first("load_died")
        if died is not None:
            end = min(end, float(died.get("last_beat_at", died["at"])))
        start = started["at"] + float(started.get("warmup_s", 0.0))
        return start, max(end, start)
