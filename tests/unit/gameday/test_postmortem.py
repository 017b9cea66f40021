"""The postmortem's worst minute, on synthetic samples with a known bad minute."""

from __future__ import annotations

import pytest

from chaoslib_ext.gameday.postmortem import worst_minute
from chaoslib_ext.samples import Sample
from chaoslib_ext.samples.table import SampleTable

T0 = 1_796_538_997.39  # a real unix time: steps of 5 s must not vanish in its float precision


def table(slow_from: float, slow_to: float, seconds: int) -> SampleTable:
    """A request every 0.5 s: TTFT 50 ms, 400 ms (and failed one in four) between slow_from and slow_to."""
    samples = []
    for i in range(seconds * 2):
        t = T0 + i * 0.5
        slow = slow_from <= t - T0 < slow_to
        ok = not (slow and i % 4 == 0)
        samples.append(Sample(t, 400.0 if slow else 50.0, (10.0,), 2, 2, 200 if ok else 503, None if ok else "x",
                              450.0 if slow else 100.0))  # fmt: skip
    return SampleTable.from_samples(samples)


def test_the_worst_minute_is_the_window_with_the_highest_ttft_p99():
    found = worst_minute(table(130, 190, 300), (T0, T0 + 300))
    assert found is not None
    assert found.start - T0 == pytest.approx(130.0)  # 60 s windows every 5 s: exactly the slow minute
    assert found.ttft_p99_ms == pytest.approx(400.0)
    assert found.requests == 120
    assert found.error_rate == pytest.approx(0.25)


def test_a_run_shorter_than_a_minute_is_one_window_all_of_it():
    found = worst_minute(table(10, 20, 50), (T0, T0 + 50))
    assert found is not None
    assert (found.start, found.end) == (T0, T0 + 50)
    assert found.requests == 100
    assert worst_minute(table(10, 20, 50), (T0 + 100, T0 + 150)) is None  # nothing measured in it
