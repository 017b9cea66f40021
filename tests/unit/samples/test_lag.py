"""The load client's lag probe on a fake clock: what it records is exactly how late its sleep returned."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chaoslib_ext.samples.lag import LAG_FILE, LagProbe, read_lag


class FakeClock:
    """perf_counter, time.time and process_time in one; ``sleep`` oversleeps by the next planned lateness."""

    def __init__(self, late_ms: list[float], busy_share: float = 0.25) -> None:
        self.now = 1000.0
        self.cpu_s = 0.0
        self.late = list(late_ms)
        self.busy_share = busy_share
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_800_000_000.0 + self.now

    def cpu(self) -> float:
        return self.cpu_s

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        step = seconds + self.late.pop(0) / 1000.0
        self.now += step
        self.cpu_s += step * self.busy_share


def probe(tmp_path, clock: FakeClock) -> LagProbe:
    return LagProbe(tmp_path, interval_s=0.02, every_s=1.0, clock=clock.clock, wall=clock.wall, cpu=clock.cpu)


def test_each_reading_is_one_wake_lateness_and_a_line_is_written_each_second(tmp_path):
    late = [0.0, 3.0, 0.5] * 20 + [40.0] + [0.0] * 9  # a 40 ms stall among 70 wakes
    clock = FakeClock(late)
    recorder = probe(tmp_path, clock)
    recorder.run(clock.sleep, readings=len(late))
    recorder.write_line()  # the last part of a second, as the process quits
    lines = [json.loads(x) for x in (tmp_path / LAG_FILE).read_text().splitlines()]
    readings = [v for line in lines for v in line["lag_ms"]]
    assert len(lines) == 2
    assert readings == pytest.approx(late, abs=1e-6)
    # each wake asked for the full interval again: a stall is counted once, not as a backlog of late wakes
    assert clock.slept == pytest.approx([0.02] * len(late))
    assert lines[0]["s"] >= 1.0
    assert lines[0]["cpu"] == pytest.approx(0.25, abs=1e-3)


def test_no_line_without_readings(tmp_path):
    clock = FakeClock([])
    assert probe(tmp_path, clock).write_line() is None
    assert not (tmp_path / LAG_FILE).exists()


def test_read_lag_keeps_every_reading_with_its_line_and_finds_lagged_seconds(tmp_path):
    lines = [
        {"at": 101.0, "s": 1.0, "pid": 1, "cpu": 0.2, "lag_ms": [0.1, 0.2, 0.3]},
        {"at": 102.0, "s": 1.0, "pid": 1, "cpu": 0.4, "lag_ms": [0.1, 9.0]},
        {"at": 102.0, "s": 1.0, "pid": 2, "cpu": 0.9, "lag_ms": [0.5]},
    ]
    text = "".join(json.dumps(x) + "\n" for x in lines) + '{"at": 103.0, "s": 1'  # a torn last line
    (tmp_path / LAG_FILE).write_text(text)
    series = read_lag(tmp_path)
    assert series is not None
    assert series.lag_ms.tolist() == [0.1, 0.2, 0.3, 0.1, 9.0, 0.5]
    assert series.owner.tolist() == [0, 0, 0, 1, 1, 2]
    assert series.lagged(5.0) == [(101.0, 102.0)]
    assert series.busiest_cpu() == pytest.approx(0.9)
    later = series.during(((101.5, 102.0),))
    assert later.lag_ms.tolist() == [0.1, 9.0, 0.5]
    assert later.owner.tolist() == [0, 0, 1]
    assert np.array_equal(later.pid, [1, 2])


def test_no_file_no_series(tmp_path):
    assert read_lag(tmp_path) is None
