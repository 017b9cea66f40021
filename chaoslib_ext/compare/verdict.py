"""Compare two sides metric by metric and phase by phase: the delta, its bootstrap interval, a verdict.

A metric **regressed** when the whole confidence interval of the delta lies on the worse side of zero
(the change is detectable) and the estimate is worse by at least the metric's threshold (the change
matters); **improved** likewise on the better side; otherwise **no detectable change** (the reason
says whether the interval straddles zero or the change is below the threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from chaoslib_ext._jsonfile import JsonObject
from chaoslib_ext.compare.arms import PhaseRequests, Side
from chaoslib_ext.compare.bootstrap import DEFAULT_GROUP_S, DEFAULT_RESAMPLES, Interval, interval, poisson_weights
from chaoslib_ext.compare.metrics import DEFAULT_METRICS, Metric, parse_metric, replicates
from chaoslib_ext.samples.host import STARVED_STEAL

__all__ = [
    "IMPROVED",
    "NO_CHANGE",
    "REGRESSED",
    "Comparison",
    "Estimates",
    "Row",
    "RowVerdict",
    "Settings",
    "compare",
    "estimates",
    "judge",
]

#: a metric's verdict: worse beyond the threshold, better beyond it, neither, or not defined
RowVerdict = Literal["improved", "regressed", "no detectable change", "n/a"]
IMPROVED: RowVerdict = "improved"
REGRESSED: RowVerdict = "regressed"
NO_CHANGE: RowVerdict = "no detectable change"
NOT_AVAILABLE: RowVerdict = "n/a"
_ROW_CELLS = 2_000_000  # weights drawn per chunk of resamples, in cells


@dataclass(frozen=True)
class Settings:
    metrics: tuple[Metric, ...] = tuple(parse_metric(k) for k in DEFAULT_METRICS)
    thresholds: dict[str, float] = field(default_factory=dict)  # metric key -> threshold, else the default
    phases: tuple[str, ...] | None = None  # None: every phase both sides have, except overall
    confidence: float = 0.95
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    group_s: float = DEFAULT_GROUP_S  # requests started within one slot of a run resample together
    max_steal: float | None = STARVED_STEAL  # leave out the seconds the load generator was starved (None: keep)

    def threshold(self, metric: Metric) -> float:
        return self.thresholds.get(metric.key, metric.default_threshold)


@dataclass(frozen=True)
class Row:
    phase: str
    metric: Metric
    a: float | None
    b: float | None
    delta: Interval  # relative (B/A - 1) or absolute (B - A)
    threshold: float
    verdict: RowVerdict
    reason: str

    def to_json(self) -> JsonObject:
        return {
            "phase": self.phase,
            "metric": self.metric.key,
            "a": self.a,
            "b": self.b,
            "delta": self.delta.to_json(),
            "delta_kind": "relative" if self.metric.relative else "absolute",
            "higher_is_better": self.metric.higher_is_better,
            "threshold": self.threshold,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    settings: Settings
    rows: list[Row]

    @property
    def paired(self) -> bool:
        """The two sides split from the same runs, resampled together."""
        return is_paired(self.a, self.b, self.settings)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == REGRESSED]


def compare(a: Side, b: Side, settings: Settings) -> Comparison:
    """Every metric in every phase; ``a`` and ``b`` split from the same runs (an alternating load) are
    resampled together: one weight per time slot for both sides' requests in it, so what hit both at
    once (a stall) moves both in every resample, as it did in the run."""
    phases = settings.phases or tuple(p for p in a.phases if p in b.phases and p != "overall")
    rng = np.random.default_rng(settings.seed)
    paired = is_paired(a, b, settings)
    rows = []
    metrics = list(settings.metrics)
    for phase in phases:
        pa, pb = a.phases.get(phase), b.phases.get(phase)
        if not (pa and pa.requests and pb and pb.requests):
            rows += [_missing(phase, m, settings, a if not (pa and pa.requests) else b) for m in metrics]
            continue
        (est_a, rep_a), (est_b, rep_b) = estimates((pa, pb), metrics, settings, rng, paired)
        for m in metrics:
            delta = _delta(m, est_a[m.key], est_b[m.key], rep_a[m.key], rep_b[m.key], settings.confidence)
            verdict, reason = judge(m, delta, settings.threshold(m))
            a_value, b_value = _num(est_a[m.key]), _num(est_b[m.key])
            rows.append(Row(phase, m, a_value, b_value, delta, settings.threshold(m), verdict, reason))
    return Comparison(a, b, settings, rows)


def is_paired(a: Side, b: Side, settings: Settings) -> bool:
    return a.runs == b.runs and settings.group_s > 0


def _missing(phase: str, m: Metric, settings: Settings, side: Side) -> Row:
    reason = f"{side.label} has no requests in {phase}"
    left_out = side.phases.get(phase)
    if left_out and left_out.excluded_requests:
        reason += f" ({left_out.excluded_requests} left out: in flight while its load generator was starved)"
    return Row(phase, m, None, None, Interval(None, None, None, 0), settings.threshold(m), NOT_AVAILABLE, reason)


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


Estimates = tuple[dict[str, float], dict[str, npt.NDArray[np.float64]]]


def estimates(
    sides: Sequence[PhaseRequests],
    metrics: list[Metric],
    settings: Settings,
    rng: np.random.Generator,
    paired: bool = False,
) -> list[Estimates]:
    """Each side's metrics on the data as measured, and on Poisson-weighted resamples of its request
    groups (``paired``: the same draw of the same slots for every side)."""
    groups = [p.groups(settings.group_s) for p in sides]
    cells = max(1, max(p.requests for p in sides))
    rows_per_chunk = max(1, _ROW_CELLS // cells)
    chunks: list[list[dict[str, npt.NDArray[np.float64]]]] = [[] for _ in sides]
    for first in range(0, settings.resamples, rows_per_chunk):
        rows = min(rows_per_chunk, settings.resamples - first)
        drawn: npt.NDArray[np.int64] | None = None
        for i, (phase, (group, seconds)) in enumerate(zip(sides, groups, strict=True)):
            count = phase.requests if seconds is None else seconds.size
            if drawn is None or not paired or drawn.shape[1] != count:
                drawn = poisson_weights(rng, rows, count)
            # a resample of time slots lasts as long as the slots drawn; of requests, as long as the phase
            duration = np.full(rows, phase.duration_s) if seconds is None else drawn @ seconds
            chunks[i].append(replicates(phase, metrics, drawn[:, group], duration))
    out = []
    for phase, parts in zip(sides, chunks, strict=True):
        ones = np.ones((1, phase.requests), dtype=np.int64)
        point = replicates(phase, metrics, ones, np.array([phase.duration_s]))
        out.append(
            (
                {k: float(v[0]) for k, v in point.items()},
                {m.key: np.concatenate([c[m.key] for c in parts]) for m in metrics},
            )
        )
    return out


def _delta(
    m: Metric, a: float, b: float, rep_a: npt.NDArray[np.float64], rep_b: npt.NDArray[np.float64], confidence: float
) -> Interval:
    with np.errstate(invalid="ignore", divide="ignore"):
        if m.relative:
            estimate = b / a - 1.0 if a > 0 and np.isfinite(b) else float("nan")
            reps = np.where(rep_a > 0, rep_b / rep_a - 1.0, np.nan)
        else:
            estimate, reps = b - a, rep_b - rep_a
    return interval(float(estimate), reps, confidence)


def judge(metric: Metric, delta: Interval, threshold: float) -> tuple[RowVerdict, str]:
    """The verdict on one delta and why."""
    if delta.estimate is None or delta.low is None or delta.high is None:
        return NOT_AVAILABLE, "not defined on one side (no data, or a zero baseline for a relative change)"
    worse = -1.0 if metric.higher_is_better else 1.0  # the sign of a change for the worse
    est, lo, hi = worse * delta.estimate, *sorted((worse * delta.low, worse * delta.high))
    size = f"{threshold:.0%}" if metric.relative else f"{threshold:g}"
    if lo > 0 and est >= threshold:
        return REGRESSED, f"worse, interval excludes 0, change at least the {size} threshold"
    if hi < 0 and -est >= threshold:
        return IMPROVED, f"better, interval excludes 0, change at least the {size} threshold"
    if lo > 0 or hi < 0:
        return NO_CHANGE, f"detectable but smaller than the {size} threshold"
    return NO_CHANGE, "interval includes 0"
