import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.hypotheses import Hypothesis, evaluate, parse_hypotheses

PHASES = {
    "baseline": {"ttft_ms": {"p99": 100.0, "p50": 50.0}, "output_throughput_tps": 1000.0},
    "fault": {"ttft_ms": {"p99": 400.0, "p50": 260.0}, "output_throughput_tps": 700.0},
    "recovery": {"ttft_ms": {"p99": None, "p50": None}, "output_throughput_tps": None},
}


def hyp(phase, metric, expect, after=None):
    raw = {"name": "h", "phase": phase, "metric": metric, "expect": expect}
    if after:
        raw["after"] = after
    return Hypothesis.parse(raw, "hypotheses[0]")


def test_pass_carries_the_numbers():
    v = evaluate(hyp("fault", "output_throughput_tps", ">= 50% of baseline"), PHASES)
    assert v.passed
    assert (v.observed, v.reference, v.bound) == (700.0, 1000.0, 500.0)
    assert "holds" in v.message


def test_fail_says_violated():
    v = evaluate(hyp("fault", "ttft_ms.p99", "within 20% of baseline"), PHASES)
    assert v.status == "fail"
    assert v.bound == (80.0, 120.0)
    assert "violated" in v.message


def test_a_phase_without_data_never_passes():
    v = evaluate(hyp("recovery", "ttft_ms.p99", "< 1000"), PHASES)
    assert v.status == "no-data"
    assert not v.passed


def test_after_judges_the_trimmed_phase():
    seen = []

    def trimmed(phase, after_s):
        seen.append((phase, after_s))
        return {"ttft_ms": {"p99": 90.0}}

    v = evaluate(hyp("recovery", "ttft_ms.p99", "within 20% of baseline", "5s"), PHASES, trimmed)
    assert seen == [("recovery", 5.0)]
    assert v.passed


def test_unknown_metric_lists_the_catalogue():
    with pytest.raises(SpecError) as err:
        hyp("fault", "ttft_p99", "< 1")
    assert err.value.field == "hypotheses[0].metric"
    assert "ttft_ms.p99" in err.value.accepted


def test_names_must_be_unique():
    raw = [{"name": "a", "phase": "fault", "metric": "error_rate", "expect": "< 1"}] * 2
    with pytest.raises(SpecError, match="duplicate"):
        parse_hypotheses(raw)
