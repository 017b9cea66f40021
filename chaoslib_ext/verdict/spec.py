"""Steady-state hypotheses over the phases of a run: one metric, one phase, one expectation.

hypotheses:
  - name: recovery TTFT p99 back near baseline
    phase: recovery                 # baseline | fault | recovery | overall
    metric: ttft_ms.p99             # see METRICS, or errors.<class>.rate|count (chaoslib_ext.samples.errors)
    expect: within 20% of baseline  # see chaoslib_ext.verdict.expect
    after: 10s                      # optional: judge the phase from 10 s after it starts
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.metrics import DISTRIBUTIONS, PHASES, SCALARS, STATS
from chaoslib_ext.metrics.record import ARRIVAL_DISTRIBUTIONS, ARRIVAL_SCALARS, ERROR_STATS
from chaoslib_ext.samples.errors import ERROR_CLASSES
from chaoslib_ext.verdict.expect import Expectation, parse_expect

__all__ = ["ERROR_METRICS", "METRICS", "Hypothesis", "known_metric", "metric_unit", "parse_hypotheses"]

METRICS = (
    tuple(f"{d}.{s}" for d in DISTRIBUTIONS for s in STATS)
    + tuple(s for s in SCALARS if s != "duration_s")
    + tuple(f"{d}.{s}" for d in ARRIVAL_DISTRIBUTIONS for s in STATS)  # an open loop's only
    + ARRIVAL_SCALARS
)


#: errors.<class>.<stat>: a class of chaoslib_ext.samples.errors or one HTTP status
_ERROR_CLASS = rf"(?:{'|'.join(ERROR_CLASSES)}|http_[1-5][0-9][0-9])"
_ERROR_METRIC = re.compile(rf"^errors\.{_ERROR_CLASS}\.(?:{'|'.join(ERROR_STATS)})$")
ERROR_METRICS = "errors.<class>.rate or .count, class one of " + ", ".join((*ERROR_CLASSES, "http_NNN"))


def metric_unit(metric: str) -> str:
    """The unit of a metric's values, by the suffix of its name's first part: ``ttft_ms.p99`` is in ms,
    ``recovery_time_s.ttft_ms.p99`` in seconds (a ``_ms`` further in names what recovered, not the unit)."""
    head = metric.split(".", 1)[0]
    return "ms" if head.endswith("_ms") else "s" if head.endswith("_s") else ""


def known_metric(metric: str) -> bool:
    return metric in METRICS or _ERROR_METRIC.match(metric) is not None


@dataclass(frozen=True)
class Hypothesis:
    name: str
    phase: str
    metric: str
    expect: Expectation
    after_s: float | None = None

    @classmethod
    def parse(cls, raw: object, where: str) -> Hypothesis:
        f = Fields(raw, ["name", "phase", "metric", "expect", "after"], where)
        metric = f.string("metric")
        if not known_metric(metric):
            raise SpecError(f"{where}.metric", f"unknown metric {metric!r}", ", ".join((*METRICS, ERROR_METRICS)))
        return cls(
            name=f.string("name"),
            phase=f.string("phase", choices=PHASES),
            metric=metric,
            expect=parse_expect(f.raw.get("expect"), metric_unit(metric), f"{where}.expect"),
            after_s=f.duration("after", None),
        )


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
