"""The sweep's search over made-up steps: which rate next, when it stops, and the knee."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from chaoslib_ext.sweep.search import knee, next_rate
from chaoslib_ext.sweep.spec import Slo, SweepPlan


@dataclass(frozen=True)
class Step:
    rate_rps: float
    passed: bool


PLAN = SweepPlan(slos=(Slo.parse("ttft_ms.p99<=500"),), start=1.0, factor=2.0, resolution=0.05, step_s=20.0,
                 warmup_s=3.0, max_steps=16, time_limit_s=900.0)  # fmt: skip


def sweep(capacity: float, plan: SweepPlan = PLAN) -> tuple[list[Step], str | None]:
    """Drive the search against a server that passes every rate up to ``capacity``."""
    steps: list[Step] = []
    elapsed = 0.0
    while True:
        decision = next_rate(plan, steps, elapsed)
        if decision.rate_rps is None:
            return steps, decision.stopped
        steps.append(Step(decision.rate_rps, decision.rate_rps <= capacity))
        elapsed += plan.step_s + plan.warmup_s


def test_doubles_then_bisects_to_the_resolution():
    steps, stopped = sweep(capacity=37.0)
    rates = [s.rate_rps for s in steps]
    assert rates[:7] == [1, 2, 4, 8, 16, 32, 64]
    assert stopped == "resolved"
    k = knee(steps)
    assert k is not None
    assert k <= 37.0
    lowest_fail = min(s.rate_rps for s in steps if not s.passed)
    assert lowest_fail / k - 1.0 <= PLAN.resolution
    assert 37.0 / k - 1.0 <= PLAN.resolution  # the knee is within the resolution of the true capacity
    assert rates[7] == pytest.approx(math.sqrt(32 * 64))


def test_a_noisy_pass_above_a_failure_does_not_raise_the_knee():
    steps = [Step(8, True), Step(16, False), Step(11.3, True), Step(32, True)]
    assert knee(steps) == 11.3


def test_goes_below_start_when_the_first_step_fails_and_gives_up_after_three():
    steps, stopped = sweep(capacity=0.3, plan=SweepPlan(slos=PLAN.slos, start=1.0))
    assert [s.rate_rps for s in steps][:3] == [1.0, 0.5, 0.25]
    assert knee(steps) is not None
    assert knee(steps) <= 0.3
    steps, stopped = sweep(capacity=0.01, plan=SweepPlan(slos=PLAN.slos, start=1.0))
    assert [s.rate_rps for s in steps] == [1.0, 0.5, 0.25, 0.125]
    assert (stopped, knee(steps)) == ("below_start", None)


def test_stops_at_the_step_limit_and_the_time_limit():
    steps, stopped = sweep(capacity=1000.0, plan=SweepPlan(slos=PLAN.slos, max_steps=4))
    assert (len(steps), stopped) == (4, "max_steps")
    # each step is 20 + 3 s: a 100 s limit fits 4 of them (the fifth would end at 115 s)
    steps, stopped = sweep(capacity=1000.0, plan=SweepPlan(slos=PLAN.slos, time_limit_s=100.0))
    assert (len(steps), stopped) == (4, "time_limit")
