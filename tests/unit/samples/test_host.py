"""The host CPU readings: /proc/stat parsed by field, shares of an interval, the file written and read back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chaoslib_ext.samples.host import HOST_FILE, CpuTimes, HostRecorder, read_cpu, read_host


def test_the_cpu_line_is_read_by_field_and_guest_time_is_not_counted_twice():
    # user nice system idle iowait irq softirq steal guest guest_nice
    times = CpuTimes.parse("cpu  100 5 50 800 20 3 2 40 30 0")
    assert (times.total, times.idle, times.steal) == (1020, 820, 40)


def test_busy_and_steal_are_shares_of_the_interval():
    before = CpuTimes.parse("cpu  100 0 0 800 0 0 0 100 0 0")
    after = CpuTimes.parse("cpu  250 0 50 850 0 0 0 150 0 0")  # +150 user +50 sys +50 idle +50 steal of 300
    busy, steal = after.shares_since(before)
    assert steal == pytest.approx(50 / 300)
    assert busy == pytest.approx(200 / 300)
    assert after.shares_since(after) == (0.0, 0.0)


def test_this_machine_has_a_cpu_line_and_a_missing_file_gives_none(tmp_path):
    now = read_cpu()
    assert now is not None
    assert now.total > now.idle >= 0
    assert read_cpu(tmp_path / "nope") is None


def test_the_recorder_appends_one_line_per_tick_and_the_reader_gets_them_back(tmp_path):
    readings = iter(
        [
            CpuTimes(1000, 800, 0),
            CpuTimes(1200, 900, 50),  # 200 ticks: 100 idle, 50 steal -> busy 0.25, steal 0.25
            CpuTimes(1400, 1000, 50),  # busy 0.5, steal 0
        ]
    )
    recorder = HostRecorder(tmp_path / "samples", read=lambda: next(readings))
    first, second = recorder.tick(), recorder.tick()
    assert (first["busy"], first["steal"]) == (0.25, 0.25)
    assert (second["busy"], second["steal"]) == (0.5, 0.0)
    with (tmp_path / "samples" / HOST_FILE).open("a") as f:
        f.write('{"at": 12')  # a torn last line, as a killed writer leaves it
    series = read_host(tmp_path / "samples")
    assert series is not None
    np.testing.assert_allclose(series.steal, [0.25, 0.0])
    assert series.end[0] - series.start[0] == pytest.approx(first["s"])
    assert series.starved(0.20) == [(series.start[0], series.end[0])]
    assert series.starved(0.30) == []


def test_a_summary_weights_by_seconds_and_counts_starved_ones(tmp_path):
    lines = [
        {"at": 101.0, "s": 1.0, "busy": 0.5, "steal": 0.1},
        {"at": 103.0, "s": 2.0, "busy": 0.8, "steal": 0.4},
        {"at": 104.0, "s": 1.0, "busy": 0.2, "steal": 0.0},
    ]
    (tmp_path / HOST_FILE).write_text("".join(json.dumps(x) + "\n" for x in lines))
    series = read_host(tmp_path)
    assert series is not None
    assert series.summary().to_json() == {
        "seconds": 4.0,
        "busy_mean": 0.575,  # (0.5 + 1.6 + 0.2) / 4
        "steal_mean": 0.225,  # (0.1 + 0.8) / 4
        "steal_max": 0.4,
        "starved_seconds": 2.0,
    }
    assert series.during(((100.5, 103.0),)).summary().seconds == 3.0  # readings ending inside the window
    assert series.during(((100.0, 101.0), (103.5, 104.0))).summary().steal_max == 0.1
    assert series.during(((200.0, 300.0),)).summary() is None
    assert read_host(tmp_path / "none") is None
