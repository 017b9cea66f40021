"""Phase windows from the fault timeline: when was the system at baseline, under a fault, recovering.

- ``baseline``: from the start of measurement (load start + warmup) to the first fault injected;
- ``fault``: whenever at least one fault is active (the union of inject -> remove intervals);
- ``recovery``: from the last fault removed to the end of load;
- ``overall``: the whole measured window.

A gap between two faults belongs to ``overall`` only. With no fault at all, ``baseline`` is the
whole window. A fault never removed makes its interval run to the end, and leaves no recovery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaoslib_ext.run.timeline import FaultInterval

__all__ = ["PHASES", "FaultInterval", "Window", "phase_windows", "union"]

PHASES = ("baseline", "fault", "recovery", "overall")


@dataclass(frozen=True)
class Window:
    """A union of disjoint half-open intervals [start, end) in unix seconds. ``whole``: a request counts
    only when it also ended inside (the baseline before a fault: one still in flight when the fault went
    in measured the fault, not the baseline)."""

    intervals: tuple[tuple[float, float], ...]
    whole: bool = False

    @property
    def duration_s(self) -> float:
        return sum(b - a for a, b in self.intervals)

    @property
    def empty(self) -> bool:
        return self.duration_s <= 0

    def contains(self, at: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        mask = np.zeros(at.shape, dtype=np.bool_)
        for a, b in self.intervals:
            mask |= (at >= a) & (at < b)
        return mask

    def after(self, offset_s: float) -> Window:
        """This window without its first ``offset_s`` seconds."""
        if not self.intervals:
            return self
        cut = self.intervals[0][0] + offset_s
        return Window(tuple((max(a, cut), b) for a, b in self.intervals if b > cut), self.whole)

    def requests(self, start_at: npt.NDArray[np.float64], end_at: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """The requests that count in the window: started in it (and, ``whole``, ended in it too)."""
        counted = self.contains(start_at)
        return counted & self.contains(end_at) if self.whole else counted


def union(intervals: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


def phase_windows(start_at: float, end_at: float, faults: Iterable[FaultInterval]) -> dict[str, Window]:
    """The four phase windows of a run measured from ``start_at`` to ``end_at``."""
    faults = list(faults)
    clipped = [
        (max(f.injected_at, start_at), min(f.removed_at if f.removed_at is not None else end_at, end_at))
        for f in faults
    ]
    fault = union(clipped)
    overall = ((start_at, end_at),) if end_at > start_at else ()
    if not fault:
        return {"baseline": Window(overall), "fault": Window(()), "recovery": Window(()), "overall": Window(overall)}
    first_inject = fault[0][0]
    everything_removed = all(f.removed_at is not None for f in faults)
    last_remove = fault[-1][1]
    recovery = ((last_remove, end_at),) if everything_removed and end_at > last_remove else ()
    return {
        "baseline": Window(((start_at, first_inject),) if first_inject > start_at else (), whole=True),
        "fault": Window(fault),
        "recovery": Window(recovery),
        "overall": Window(overall),
    }
