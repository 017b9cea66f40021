import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.metrics.record import Distribution, PhaseMetrics
from chaoslib_ext.verdict import Hypothesis, evaluate, parse_hypotheses


def metrics(p50=None, p99=None, tps=None):
    ttft = Distribution(1 if p50 is not None else 0, p50=p50, p99=p99)
    none = Distribution(0)
    return PhaseMetrics(0.0, 10.0, 10.0, 1, 1, 0, 0.0, None, tps, None, ttft, none, none, none)


PHASES = {
    "baseline": metrics(50.0, 100.0, 1000.0),
    "fault": metrics(260.0, 400.0, 700.0),
    "recovery": metrics(),
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
        return metrics(p99=90.0)

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
