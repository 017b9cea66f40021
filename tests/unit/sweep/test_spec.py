"""The sweep's plan and SLOs as a user writes them, and the errors for what is wrong."""

from __future__ import annotations

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.load.spec import RateShare, parse_share
from chaoslib_ext.sweep.spec import Slo, SweepPlan


def test_slo_forms():
    slo = Slo.parse("ttft_ms.p99<=500")
    assert (slo.metric.key, slo.op, slo.bound, slo.text) == ("ttft_ms.p99", "<=", 500.0, "ttft_ms.p99<=500")
    assert slo.met(499.0)
    assert slo.met(500.0)
    assert not slo.met(500.1)
    assert not slo.met(None)
    low = Slo.parse(" output_throughput_tps >= 100 ")
    assert low.met(100.0)
    assert not low.met(99.0)


@pytest.mark.parametrize(
    ("text", "says"),
    [("ttft_ms.p99<500", "METRIC<=BOUND"), ("latency.p99<=5", "unknown metric"), ("error_rate<=x", "METRIC<=")],
)
def test_bad_slo_names_the_accepted_forms(text, says):
    with pytest.raises(SpecError, match=says):
        Slo.parse(text)


def test_plan_defaults_and_shares():
    plan = SweepPlan.parse({"slo": "error_rate<=0.01", "resolution": "10%", "step": "15s"})
    assert (plan.start, plan.factor, plan.resolution, plan.step_s, plan.confidence) == (1.0, 2.0, 0.1, 15.0, 0.95)
    with pytest.raises(SpecError, match=r"sweep\.resolution.*between 0 and 1"):
        SweepPlan.parse({"slo": "error_rate<=0.01", "resolution": "150%"})
    with pytest.raises(SpecError, match=r"sweep\.slo"):
        SweepPlan.parse({"start": 2})
    with pytest.raises(SpecError, match="steps"):
        SweepPlan.parse({"slo": "error_rate<=0.01", "steps": 3})


def test_share_of_a_sweep():
    assert parse_share("70% of sweep") == RateShare(0.7, "sweep", "70% of sweep")
    assert parse_share("12.5 % of reports/sweep-x") == RateShare(0.125, "reports/sweep-x", "12.5 % of reports/sweep-x")
    assert parse_share("70") is None
