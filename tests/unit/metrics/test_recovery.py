"""Time to recover on synthetic timelines whose recovery is known: within one window step."""

from __future__ import annotations

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.metrics.phase import window_metrics
from chaoslib_ext.metrics.recovery import RecoveryPolicy, recovery_time
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.format import Sample
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.verdict.evaluate import evaluate
from chaoslib_ext.verdict.spec import Hypothesis

REMOVED_AT = 110.0
END_AT = 160.0


def timeline(ttft_after_removal, rate_hz: float = 20.0) -> SampleTable:
    """Requests every 1/rate_hz s from t=90: TTFT 50 ms before the fault, 300 ms during it (100-110 s),
    ``ttft_after_removal(t)`` after it."""
    samples, t = [], 90.0
    while t < END_AT:
        ttft = 50.0 if t < 100.0 else 300.0 if t < REMOVED_AT else ttft_after_removal(t)
        samples.append(Sample(t, ttft, (10.0,), 2, 2, 200, None, ttft + 10.0))
        t += 1.0 / rate_hz
    return SampleTable.from_samples(samples)


def ttft_p99(table: SampleTable):
    baseline = window_metrics(table, Window(((90.0, 100.0),))).value("ttft_ms.p99")

    def value_in(window: Window) -> float | None:
        return window_metrics(table, window).value("ttft_ms.p99")

    return recovery_time("ttft_ms.p99", baseline, value_in, REMOVED_AT, END_AT)


def test_a_known_recovery_is_found_within_one_window_step():
    # the backlog drains 7 s after the removal: the first window starting then is all back
    found = ttft_p99(timeline(lambda t: 300.0 if t < REMOVED_AT + 7.0 else 50.0))
    assert found.recovered
    assert found.seconds == pytest.approx(7.0, abs=1.0)
    assert found.baseline == pytest.approx(50.0)
    assert found.last_gap == pytest.approx(0.0)


def test_a_relapse_inside_the_hold_time_pushes_the_recovery_past_it():
    # back at +3 s, a 1-s relapse at +8 s, back for good from +9 s: recovered from then, not at +3 s
    def ttft(t: float) -> float:
        return 300.0 if t < REMOVED_AT + 3.0 or REMOVED_AT + 8.0 <= t < REMOVED_AT + 9.0 else 50.0

    found = ttft_p99(timeline(ttft))
    assert found.seconds == pytest.approx(9.0, abs=1.0)


def test_never_recovered_is_a_value_with_the_last_gap():
    found = ttft_p99(timeline(lambda t: 80.0))
    assert not found.recovered
    assert found.seconds is None
    assert found.judged
    assert found.last_gap == pytest.approx(0.6)
    assert type(found).from_json(found.to_json()) == found


def test_throughput_recovers_when_it_rises_back():
    # requests every 0.05 s, a quarter of the rate during the fault and until +4 s
    samples, t = [], 90.0
    while t < END_AT:
        slow = 100.0 <= t < REMOVED_AT + 4.0
        samples.append(Sample(t, 50.0, (10.0,), 2, 2, 200, None, 60.0))
        t += 0.2 if slow else 0.05
    table = SampleTable.from_samples(samples)
    baseline = window_metrics(table, Window(((90.0, 100.0),))).value("request_throughput_rps")

    def value_in(window: Window) -> float | None:
        return window_metrics(table, window).value("request_throughput_rps")

    found = recovery_time("request_throughput_rps", baseline, value_in, REMOVED_AT, END_AT)
    assert found.seconds == pytest.approx(4.0, abs=1.0)


def test_a_recovery_hypothesis_reads_seconds_and_its_keys_and_judges_never_as_a_fail():
    h = Hypothesis.parse({"name": "r", "metric": "recovery_time_s.ttft_ms.p99", "expect": "<= 30s",
                          "tolerance": "20%", "hold": "5s"}, "h")  # fmt: skip
    assert (h.phase, h.expect.number, h.recovery) == ("recovery", 30.0, RecoveryPolicy(hold_s=5.0, tolerance=0.2))
    never = ttft_p99(timeline(lambda t: 80.0))
    verdict = evaluate(h, {}, recovered=lambda _: never)
    assert verdict.status == "fail"
    assert "never recovered" in verdict.message
    quick = ttft_p99(timeline(lambda t: 300.0 if t < REMOVED_AT + 2.0 else 50.0))
    assert evaluate(h, {}, recovered=lambda _: quick).status == "pass"
    for raw, field in ((dict(expect="within 10% of baseline"), "h.expect"), (dict(after="3s"), "h.after"),
                       (dict(tolerance="ten"), "h.tolerance"), (dict(phase="fault"), "h.phase")):  # fmt: skip
        with pytest.raises(SpecError) as err:
            Hypothesis.parse({"name": "r", "metric": "recovery_time_s.ttft_ms.p99", "expect": "<= 30s", **raw}, "h")
        assert err.value.field == field
    with pytest.raises(SpecError) as err:
        Hypothesis.parse({"name": "r", "phase": "fault", "metric": "ttft_ms.p99", "expect": "< 9", "hold": "5s"}, "h")
    assert err.value.field == "h.hold"
