"""The typed phase record: one value(metric) for every reader, and JSON only at the edge."""

import json
from pathlib import Path

import pytest

from chaoslib_ext.metrics.record import ARRIVAL_DISTRIBUTIONS, ARRIVAL_SCALARS, Distribution, PhaseMetrics
from chaoslib_ext.verdict.spec import METRICS

RECORDED = Path(__file__).parents[2] / "data" / "runs" / "demo" / "expected" / "summary.json"


def recorded_phases() -> dict:
    return json.loads(RECORDED.read_text())["phases"]


@pytest.mark.parametrize("phase", ["baseline", "fault", "recovery", "overall"])
def test_a_recorded_phase_reads_back_to_the_same_json(phase):
    raw = recorded_phases()[phase]
    assert PhaseMetrics.from_json(raw).to_json() == raw


def test_value_reads_every_metric_a_hypothesis_may_name():
    raw = recorded_phases()["fault"]
    metrics = PhaseMetrics.from_json(raw)
    for name in METRICS:
        head, _, stat = name.partition(".")
        if head in ARRIVAL_DISTRIBUTIONS or head in ARRIVAL_SCALARS:
            assert metrics.value(name) is None, f"{name}: a closed loop has no schedule"
            continue
        if head == "retries":
            assert metrics.value(name) is None, f"{name}: the demo's load has no retry policy"
            continue
        expected = raw[head][stat] if stat else raw[head]
        assert metrics.value(name) == (None if expected is None else float(expected)), name


def test_value_reads_an_open_loops_arrival_metrics_and_they_round_trip():
    raw = dict(recorded_phases()["fault"])
    lag = {"count": 2, "mean": 1.5, "min": 1.0, "p50": 1.5, "p90": 1.9, "p95": 1.95, "p99": 1.99, "max": 2.0}
    counts = {"scheduled": 12, "sent": 9, "late": 1, "not_sent": 1, "unfinished": 2, "offered_rate_rps": 6.0,
              "achieved_rate_rps": 4.5}  # fmt: skip
    raw["arrivals"] = {**counts, "send_lag_ms": lag, "ttft_sched_ms": lag, "e2el_sched_ms": lag}
    metrics = PhaseMetrics.from_json(raw)
    assert metrics.value("send_lag_ms.p99") == 1.99
    assert metrics.value("not_sent") == 1.0
    assert metrics.value("unfinished") == 2.0
    assert metrics.value("achieved_rate_rps") == 4.5
    assert metrics.to_json() == raw
    older = {k: v for k, v in raw["arrivals"].items() if k != "unfinished"}  # written before the schedule was kept
    assert PhaseMetrics.from_json({**raw, "arrivals": older}).value("unfinished") == 0.0


def test_value_is_none_for_what_is_not_a_metric_or_was_not_measured():
    metrics = PhaseMetrics.from_json(recorded_phases()["fault"])
    assert metrics.value("ttft_ms") is None  # a distribution needs its statistic
    assert metrics.value("ttft_ms.p42") is None
    assert metrics.value("requests.p99") is None
    assert metrics.value("nonsense") is None
    empty = Distribution(0)
    assert (empty.p99, empty.jitter, empty.stat("p50")) == (None, None, None)


def test_retries_read_apart_from_first_attempts_and_round_trip():
    raw = dict(recorded_phases()["fault"])
    raw["retries"] = {"first_attempts": 200, "count": 30, "rate": 0.15, "recovered": 24, "exhausted": 6}
    metrics = PhaseMetrics.from_json(raw)
    assert metrics.value("retries.count") == 30.0
    assert metrics.value("retries.rate") == 0.15
    assert metrics.value("retries.exhausted") == 6.0
    assert metrics.value("retries.first_attempts") is None  # not a hypothesis's metric
    assert metrics.to_json() == raw
