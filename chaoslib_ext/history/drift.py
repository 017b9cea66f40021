"""Drift: is the newest run of an experiment out of line with the runs before it?

Robust to one odd run among the earlier ones: the newest value is compared with the median of the
earlier ``history`` values, and flagged when it lies further from it than both ``k`` scaled median
absolute deviations (1.4826 x MAD estimates one standard deviation for normal data) and
``min_change`` of the median. Fewer than ``min_runs`` earlier runs: not judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Literal

__all__ = ["Drift", "judge"]


#: up / down: the newest run is off the earlier ones; stable: it is not; too few runs, no value: undecided
DriftStatus = Literal["up", "down", "stable", "too few runs", "no value"]


@dataclass(frozen=True)
class Drift:
    status: DriftStatus
    latest: float | None
    median: float | None
    spread: float | None  # 1.4826 x MAD of the earlier runs
    change: float | None  # (latest - median) / median

    @property
    def drifted(self) -> bool:
        return self.status in ("up", "down")


def judge(values: Sequence[float | None], k: float = 3.0, min_change: float = 0.20, min_runs: int = 3) -> Drift:
    """Judge the last of ``values`` (oldest first) against the ones before it."""
    if not values or values[-1] is None:
        return Drift("no value", None, None, None, None)
    latest = float(values[-1])
    earlier = [float(v) for v in values[:-1] if v is not None]
    if len(earlier) < min_runs:
        return Drift("too few runs", latest, None, None, None)
    mid = median(earlier)
    spread = 1.4826 * median(abs(v - mid) for v in earlier)
    change = (latest - mid) / abs(mid) if mid else None
    off = abs(latest - mid)
    drifted = off > k * spread and (change is None or abs(change) > min_change)
    status: DriftStatus = ("up" if latest > mid else "down") if drifted else "stable"
    return Drift(status, latest, mid, spread, change)
