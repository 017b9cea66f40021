"""Measurability of a phase: one policy for starved and lagged seconds, and the client lag bound."""

from __future__ import annotations

import json

import numpy as np

from chaoslib_ext.metrics.validity import ValidityPolicy, phase_validity, run_validity, unmeasurable
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.host import HostSeries
from chaoslib_ext.samples.lag import LAG_FILE, read_lag


def host(steal_per_second: list[float], t0: float = 100.0) -> HostSeries:
    start = t0 + np.arange(len(steal_per_second), dtype=np.float64)
    return HostSeries(start, start + 1.0, np.full(start.shape, 0.5), np.array(steal_per_second, np.float64))


def lag(tmp_path, p99_per_second: list[float], t0: float = 100.0):
    lines = [
        {"at": t0 + i + 1, "s": 1.0, "pid": 7, "cpu": 0.3, "lag_ms": [0.2] * 48 + [p99] * 2}
        for i, p99 in enumerate(p99_per_second)
    ]
    (tmp_path / LAG_FILE).write_text("".join(json.dumps(x) + "\n" for x in lines))
    return read_lag(tmp_path)


WINDOW = Window(((100.0, 110.0),))


def test_a_quiet_phase_is_measurable(tmp_path):
    v = phase_validity(WINDOW, host([0.0] * 10), lag(tmp_path, [0.3] * 10))
    assert v.measurable
    assert v.reason is None
    assert (v.seconds, v.measurable_s, v.starved_s, v.lagged_s) == (10.0, 10.0, 0.0, 0.0)
    assert v.client_lag_ms is not None
    assert v.client_lag_ms.count == 500
    assert v.client_cpu == 0.3


def test_a_client_lagging_most_seconds_is_not_measurable_one_stall_is_not_enough(tmp_path):
    v = phase_validity(WINDOW, None, lag(tmp_path, [8.0] * 6 + [0.2] * 4))  # 6 of 10 seconds lagged 8 ms
    assert not v.measurable
    assert v.reason is not None
    assert "4.0 of 10.0 s measurable (< 50%): 0.0 s starved (steal >= 20%), 6.0 s lagged" in v.reason
    assert "the phase's client lag p99 8.0 ms" in v.reason
    assert phase_validity(WINDOW, None, lag(tmp_path, [8.0] * 6 + [0.2] * 4), ValidityPolicy(10.0)).measurable
    stall = phase_validity(WINDOW, None, lag(tmp_path, [30.0] * 3 + [0.2] * 7))  # a 3-second stall
    assert stall.measurable
    assert stall.client_lag_ms is not None
    assert stall.client_lag_ms.p99 == 30.0  # shown, and its seconds left out by compare
    assert stall.lagged_s == 3.0


def test_starved_and_lagged_seconds_are_one_kind_and_counted_once(tmp_path):
    # 4 starved seconds (100-104) and 4 lagged ones (102-106): 6 unmeasurable seconds, 4 measurable of 10
    v = phase_validity(WINDOW, host([0.3] * 4 + [0.0] * 6), lag(tmp_path, [0.2] * 2 + [9.0] * 4 + [0.2] * 4))
    assert (v.starved_s, v.lagged_s, v.measurable_s) == (4.0, 4.0, 4.0)
    assert not v.measurable
    assert v.reason is not None
    assert "4.0 of 10.0 s measurable (< 50%): 4.0 s starved" in v.reason
    assert unmeasurable(host([0.3] * 4 + [0.0] * 6), lag(tmp_path, [0.2] * 2 + [9.0] * 4 + [0.2] * 4)) == (
        (100.0, 106.0),
    )


def test_a_phase_of_a_run_without_lag_readings_is_judged_on_steal_alone():
    assert phase_validity(WINDOW, host([0.0] * 10), None).client_lag_ms is None
    assert phase_validity(WINDOW, host([0.0] * 10), None).measurable
    assert not phase_validity(WINDOW, host([0.5] * 6 + [0.0] * 4), None).measurable


def test_empty_phases_are_left_out():
    validity = run_validity({"baseline": WINDOW, "recovery": Window(())}, None, None, ValidityPolicy())
    assert list(validity.phases) == ["baseline"]
    assert validity.not_measurable() == {}
