"""Steady-state hypotheses over the phases of a run: one metric, one phase, one expectation.

hypotheses:
  - name: recovery TTFT p99 back near baseline
    phase: recovery                 # baseline | fault | recovery | overall
    metric: ttft_ms.p99             # see METRICS
    expect: within 20% of baseline  # see chaoslib_ext.verdict.expect
    after: 10s                      # optional: judge the phase from 10 s after it starts
"""

from __future__ import annotations

from dataclasses import dataclass

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.metrics import DISTRIBUTIONS, PHASES, SCALARS, STATS
from chaoslib_ext.metrics.record import ARRIVAL_DISTRIBUTIONS, ARRIVAL_SCALARS
from chaoslib_ext.verdict.expect import Expectation, parse_expect

__all__ = ["METRICS", "Hypothesis", "metric_unit", "parse_hypotheses"]

METRICS = (
    tuple(f"{d}.{s}" for d in DISTRIBUTIONS for s in STATS)
    + tuple(s for s in SCALARS if s != "duration_s")
    + tuple(f"{d}.{s}" for d in ARRIVAL_DISTRIBUTIONS for s in STATS)  # an open loop's only
    + ARRIVAL_SCALARS
)


def metric_unit(metric: str) -> str:
    return "ms" if "_ms" in metric else ""


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
        if metric not in METRICS:
            raise SpecError(f"{where}.metric", f"unknown metric {metric!r}", ", ".join(METRICS))
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
