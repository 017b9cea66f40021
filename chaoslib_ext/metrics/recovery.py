"""Time to recover: seconds from the last fault's removal until a rolling window of a metric is back
within a tolerance of its baseline value and stays there for a hold time.

Windows of ``window_s`` start at the removal and every ``step_s`` after it, as long as a whole window
fits before the load stopped. A window is *back* when its value is within ``tolerance`` of the baseline
phase's, one-sided: a latency (or jitter, or error rate) at most ``(1 + tolerance) x`` baseline, a
throughput at least ``(1 - tolerance) x``. The recovery time is the start of the first window that is
back and whose followers over ``hold_s`` are all back; a window with nothing measured is not back.
Never recovered is a value: ``seconds`` None with ``recovered`` false and the last window's gap.
Defaults (reports/README.md): window 5 s, step 1 s, hold 10 s, tolerance 10 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from chaoslib_ext.metrics.windows import Window

__all__ = [
    "DEFAULT_RECOVERY",
    "HIGHER_IS_BETTER",
    "RecoveryPolicy",
    "RecoveryTime",
    "RecoveryTimeJson",
    "recovery_time",
    "recovery_windows",
]

#: the metrics whose recovery is a rise back (the others are back when they fall)
HIGHER_IS_BETTER = ("output_throughput_tps", "request_throughput_rps", "goodput_rps")


@dataclass(frozen=True)
class RecoveryPolicy:
    window_s: float = 5.0
    step_s: float = 1.0
    hold_s: float = 10.0
    tolerance: float = 0.10  # a share of the baseline value

    @property
    def hold_windows(self) -> int:
        """How many windows after a first one must be back too."""
        return round(self.hold_s / self.step_s)

    def windows_from(self, removed_at: float, end_at: float) -> list[Window]:
        count = math.floor((end_at - removed_at - self.window_s) / self.step_s + 1e-9) + 1
        starts = (removed_at + k * self.step_s for k in range(max(0, count)))
        return [Window(((s, s + self.window_s),)) for s in starts]


DEFAULT_RECOVERY = RecoveryPolicy()


class RecoveryTimeJson(TypedDict):
    recovered: bool
    seconds: float | None
    baseline: float | None
    last_gap: float | None
    windows: int
    window_s: float
    step_s: float
    hold_s: float
    tolerance: float


@dataclass(frozen=True)
class RecoveryTime:
    recovered: bool
    seconds: float | None  # None: never recovered (or nothing to judge: see ``judged``)
    baseline: float | None
    last_gap: float | None  # the last window's value / baseline - 1 (None: nothing measured in it)
    windows: int  # windows judged after the removal
    policy: RecoveryPolicy

    @property
    def judged(self) -> bool:
        """Whether there was anything to judge: a baseline value, and windows after the removal for at least
        one to be followed over the hold time (the load ran ``window + hold`` seconds after the removal)."""
        return self.baseline is not None and self.windows > self.policy.hold_windows

    def to_json(self) -> RecoveryTimeJson:
        p = self.policy
        return {"recovered": self.recovered, "seconds": self.seconds, "baseline": self.baseline,
                "last_gap": self.last_gap, "windows": self.windows, "window_s": p.window_s, "step_s": p.step_s,
                "hold_s": p.hold_s, "tolerance": p.tolerance}  # fmt: skip

    @classmethod
    def from_json(cls, raw: RecoveryTimeJson) -> RecoveryTime:
        policy = RecoveryPolicy(raw["window_s"], raw["step_s"], raw["hold_s"], raw["tolerance"])
        return cls(raw["recovered"], raw["seconds"], raw["baseline"], raw["last_gap"], raw["windows"], policy)


def recovery_windows(removed_at: float | None, end_at: float | None, policies: list[RecoveryPolicy]) -> list[Window]:
    """Every window the policies will judge (for indexing the gaps in one pass)."""
    if removed_at is None or end_at is None:
        return []
    return [w for p in dict.fromkeys(policies) for w in p.windows_from(removed_at, end_at)]


def recovery_time(
    metric: str,
    baseline: float | None,
    value_in: Callable[[Window], float | None],
    removed_at: float | None,
    end_at: float | None,
    policy: RecoveryPolicy = DEFAULT_RECOVERY,
) -> RecoveryTime:
    """The recovery time of ``metric`` after ``removed_at``; ``value_in(window)`` measures it in a window."""
    windows = recovery_windows(removed_at, end_at, [policy])
    if baseline is None or removed_at is None or not windows:
        return RecoveryTime(False, None, baseline, None, len(windows), policy)
    rises = metric in HIGHER_IS_BETTER
    bound = baseline * (1.0 - policy.tolerance) if rises else baseline * (1.0 + policy.tolerance)
    values = [value_in(w) for w in windows]
    back = [v is not None and (v >= bound if rises else v <= bound) for v in values]
    hold = policy.hold_windows
    last = values[-1]
    gap = None if last is None or baseline == 0 else last / baseline - 1.0
    for i in range(len(back) - hold):
        if all(back[i : i + hold + 1]):
            return RecoveryTime(True, windows[i].intervals[0][0] - removed_at, baseline, gap, len(windows), policy)
    return RecoveryTime(False, None, baseline, gap, len(windows), policy)
