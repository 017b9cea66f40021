"""Steady-state hypotheses over the phases of a run: one metric, one phase, one expectation.

hypotheses:
  - name: recovery TTFT p99 back near baseline
    phase: recovery                 # baseline | fault | recovery | overall
    metric: ttft_ms.p99             # see METRICS, or errors.<class>.rate|count (chaoslib_ext.samples.errors)
    expect: within 20% of baseline  # see chaoslib_ext.verdict.expect
    after: 10s                      # optional: judge the phase from 10 s after it starts
  - name: TTFT p99 recovers within 30 s
    metric: recovery_time_s.ttft_ms.p99   # seconds from the last fault's removal (metrics.recovery)
    expect: "<= 30s"
    tolerance: 10%                  # optional, with window (5s) and hold (10s); phase: recovery (implied)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import REQUIRED, Fields
from chaoslib_ext.metrics import DISTRIBUTIONS, PHASES, SCALARS, STATS
from chaoslib_ext.metrics.record import ARRIVAL_DISTRIBUTIONS, ARRIVAL_SCALARS, ERROR_STATS, RETRY_STATS
from chaoslib_ext.metrics.recovery import DEFAULT_RECOVERY, HIGHER_IS_BETTER, RecoveryPolicy
from chaoslib_ext.metrics.server import SERVER_PREFIX, SERVER_STATS
from chaoslib_ext.promql import PromQuery
from chaoslib_ext.samples.errors import ERROR_CLASSES
from chaoslib_ext.verdict.expect import Expectation, parse_expect

__all__ = [
    "ERROR_METRICS",
    "METRICS",
    "PROMETHEUS_METRIC",
    "RECOVERY_METRICS",
    "RECOVERY_PREFIX",
    "SERVER_METRICS",
    "Hypothesis",
    "known_metric",
    "metric_unit",
    "parse_hypotheses",
]

METRICS = (
    tuple(f"{d}.{s}" for d in DISTRIBUTIONS for s in STATS)
    + tuple(s for s in SCALARS if s != "duration_s")
    + tuple(f"{d}.{s}" for d in ARRIVAL_DISTRIBUTIONS for s in STATS)  # an open loop's only
    + ARRIVAL_SCALARS
    + tuple(f"retries.{s}" for s in RETRY_STATS)  # a load with a retry policy's only
)


#: errors.<class>.<stat>: a class of chaoslib_ext.samples.errors or one HTTP status
_ERROR_CLASS = rf"(?:{'|'.join(ERROR_CLASSES)}|http_[1-5][0-9][0-9])"
_ERROR_METRIC = re.compile(rf"^errors\.{_ERROR_CLASS}\.(?:{'|'.join(ERROR_STATS)})$")
ERROR_METRICS = "errors.<class>.rate or .count, class one of " + ", ".join((*ERROR_CLASSES, "http_NNN"))
RECOVERY_PREFIX = "recovery_time_s."
#: what a recovery time can be taken of: latency statistics, jitters, throughputs, the error rate
_RECOVERABLE = (
    *(f"{d}.{s}" for d in DISTRIBUTIONS for s in STATS), "ttft_jitter_ms", "itl_jitter_ms", "error_rate",
    *HIGHER_IS_BETTER,
)  # fmt: skip
RECOVERY_METRICS = "recovery_time_s.<metric>, metric one of " + ", ".join(_RECOVERABLE)
_RECOVERY_KEYS = ("tolerance", "window", "step", "hold")


def metric_unit(metric: str) -> str:
    """The unit of a metric's values, by the suffix of its name's first part: ``ttft_ms.p99`` is in ms,
    ``recovery_time_s.ttft_ms.p99`` in seconds (a ``_ms`` further in names what recovered, not the unit);
    the server's own ``server_metrics.ttft_ms.mean`` by its second part."""
    head = metric.removeprefix(SERVER_PREFIX).split(".", 1)[0]
    return "ms" if head.endswith("_ms") else "s" if head.endswith("_s") else ""


#: the server's own view (chaoslib_ext.metrics.server), and the gap between the client's TTFT and it
SERVER_METRICS = (
    *(f"{SERVER_PREFIX}{name}.{stat}" for name, stats in SERVER_STATS.items() for stat in stats),
    f"{SERVER_PREFIX}ttft_gap_ms",
)


def known_metric(metric: str) -> bool:
    if metric.startswith(RECOVERY_PREFIX):
        return metric.removeprefix(RECOVERY_PREFIX) in _RECOVERABLE
    return metric in METRICS or metric in SERVER_METRICS or _ERROR_METRIC.match(metric) is not None


@dataclass(frozen=True)
class Hypothesis:
    name: str
    phase: str
    metric: str
    expect: Expectation
    after_s: float | None = None
    recovery: RecoveryPolicy | None = None  # a recovery_time_s.<metric> hypothesis's windows
    prometheus: PromQuery | None = None  # a PromQL range query over the phase instead of a metric

    @property
    def recovered_metric(self) -> str | None:
        """``ttft_ms.p99`` of ``recovery_time_s.ttft_ms.p99``; None for another metric."""
        return self.metric.removeprefix(RECOVERY_PREFIX) if self.recovery is not None else None

    @classmethod
    def parse(cls, raw: object, where: str) -> Hypothesis:
        f = Fields(raw, ["name", "phase", "metric", "prometheus", "expect", "after", *_RECOVERY_KEYS], where)
        if f.has("prometheus"):
            return cls._queried(f, where)
        metric = f.string("metric")
        if not known_metric(metric):
            accepted = ", ".join((*METRICS, *SERVER_METRICS, ERROR_METRICS, RECOVERY_METRICS))
            raise SpecError(f"{where}.metric", f"unknown metric {metric!r}", accepted)
        recovery = _recovery_policy(f, where) if metric.startswith(RECOVERY_PREFIX) else None
        expect = parse_expect(f.raw.get("expect"), metric_unit(metric), f"{where}.expect")
        if recovery is not None and expect.reference is not None:
            raise SpecError(f"{where}.expect", "a recovery time takes an absolute bound", 'e.g. "<= 30s"')
        if recovery is None:
            for key in _RECOVERY_KEYS:
                if f.has(key):
                    raise SpecError(f"{where}.{key}", "applies only to a recovery_time_s.<metric> hypothesis")
        return cls(
            name=f.string("name"),
            phase=f.string(
                "phase", "recovery" if recovery else REQUIRED, choices=("recovery",) if recovery else PHASES
            ),
            metric=metric,
            expect=expect,
            after_s=f.duration("after", None),
            recovery=recovery,
        )

    @classmethod
    def _queried(cls, f: Fields, where: str) -> Hypothesis:
        """A hypothesis on a PromQL range query over its phase (chaoslib_ext.promql), not a metric of ours."""
        if f.has("metric"):
            raise SpecError(f"{where}.metric", "a hypothesis has a metric or a prometheus query, not both")
        for key in ("after", *_RECOVERY_KEYS):
            if f.has(key):
                raise SpecError(f"{where}.{key}", "does not apply to a prometheus hypothesis (its query says it)")
        query = PromQuery.parse(f.raw["prometheus"], f"{where}.prometheus", ranged=True)
        expect = parse_expect(f.raw.get("expect"), "", f"{where}.expect")
        return cls(f.string("name"), f.string("phase", choices=PHASES), PROMETHEUS_METRIC, expect, prometheus=query)


#: the metric column of a prometheus hypothesis
PROMETHEUS_METRIC = "prometheus"


def _recovery_policy(f: Fields, where: str) -> RecoveryPolicy:
    if f.has("after"):
        raise SpecError(f"{where}.after", "does not apply to a recovery time (it counts from the last removal)")
    d = DEFAULT_RECOVERY
    raw = f.raw.get("tolerance", f"{d.tolerance * 100:g}%")
    text = (
        str(raw).strip().removesuffix("%") if isinstance(raw, str | int | float) and not isinstance(raw, bool) else ""
    )
    try:
        tolerance = float(text) / 100.0
    except ValueError:
        raise SpecError(
            f"{where}.tolerance", f"cannot read {raw!r}", "a percentage of the baseline, e.g. 10%"
        ) from None
    if not 0.0 <= tolerance <= 10.0:
        raise SpecError(f"{where}.tolerance", f"{raw!r} is out of range", "0% to 1000%")
    window = f.duration("window", d.window_s, positive=True)
    step = f.duration("step", d.step_s, positive=True)
    hold = f.duration("hold", d.hold_s)
    if step > window:
        raise SpecError(f"{where}.step", f"a step of {step:g}s leaves gaps between windows of {window:g}s", "<= window")
    return RecoveryPolicy(window, step, hold, tolerance)


def parse_hypotheses(raw: object, where: str = "hypotheses") -> list[Hypothesis]:
    """Parse the list; names must be unique. Raises SpecError."""
    if not isinstance(raw, list) or not raw:
        raise SpecError(where, "expected a non-empty list of hypotheses")
    hypotheses = [Hypothesis.parse(item, f"{where}[{i}]") for i, item in enumerate(raw)]
    seen: set[str] = set()
    for i, h in enumerate(hypotheses):
        if h.name in seen:
            raise SpecError(f"{where}[{i}].name", f"duplicate hypothesis name {h.name!r}")
        seen.add(h.name)
    return hypotheses
