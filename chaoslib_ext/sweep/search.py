"""Which rate a sweep tries next, and its knee: pure logic over the steps done (tests drive it with
made-up steps and a fake clock).

Up by ``factor`` from ``start`` while every step passes; below ``start`` by the same factor (at most
three times) when the first one fails; then bisection by the geometric mean of the highest passing rate
and the lowest failing rate above it, until they are within ``resolution``. The knee is the highest
passing rate below every failing one: a noisy pass above a failure does not raise it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from chaoslib_ext.sweep.spec import SweepPlan

__all__ = ["Decision", "Stopped", "Tried", "knee", "next_rate"]

#: why a sweep stopped
Stopped = Literal["resolved", "max_steps", "time_limit", "below_start", "above_range", "interrupted", "load_failed"]
_MAX_BELOW = 3
_MAX_RATE = 10_000.0


class Tried(Protocol):
    @property
    def rate_rps(self) -> float: ...
    @property
    def passed(self) -> bool: ...


@dataclass(frozen=True)
class Decision:
    rate_rps: float | None  # the next step's rate, None: stop
    stopped: Stopped | None = None


def knee(steps: Sequence[Tried]) -> float | None:
    """The highest passing rate lower than every failing rate; None when no step passed."""
    lowest_fail = min((s.rate_rps for s in steps if not s.passed), default=math.inf)
    passing = [s.rate_rps for s in steps if s.passed and s.rate_rps < lowest_fail]
    return max(passing, default=None)


def next_rate(plan: SweepPlan, steps: Sequence[Tried], elapsed_s: float) -> Decision:
    """The rate of the next step, or why the sweep is over."""
    if len(steps) >= plan.max_steps:
        return Decision(None, "max_steps")
    if elapsed_s + plan.step_s + plan.warmup_s > plan.time_limit_s:
        return Decision(None, "time_limit")
    if not steps:
        return Decision(plan.start)
    low = knee(steps)
    fails = [s.rate_rps for s in steps if not s.passed and (low is None or s.rate_rps > low)]
    if low is None:  # nothing passed yet: go down
        lowest = min(s.rate_rps for s in steps)
        if lowest < plan.start / plan.factor ** (_MAX_BELOW - 0.5):
            return Decision(None, "below_start")
        return Decision(lowest / plan.factor)
    if not fails:
        up = low * plan.factor
        return Decision(up) if up <= _MAX_RATE else Decision(None, "above_range")
    high = min(fails)
    if high / low - 1.0 <= plan.resolution:
        return Decision(None, "resolved")
    return Decision(math.sqrt(low * high))
