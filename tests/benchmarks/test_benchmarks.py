"""Benchmarks as pytest entries, skipped by default: ``.venv/bin/python -m pytest -m benchmark -s``."""

import math

import pytest

from tests.benchmarks import client_overhead


@pytest.mark.benchmark
def test_client_overhead_prints_comparable_figures():
    results = client_overhead.main(["--streams", "50", "--seconds", "5", "--runs", "1"])
    assert {r.client for r in results} == {"locust, socket", "locust, readline", "aiohttp"}
    for r in results:
        assert r.events_s > 1000
        assert all(math.isfinite(x) for x in (r.overhead_p50_ms, r.overhead_p99_ms, r.cpu_s_per_1k_events))


@pytest.mark.benchmark
def test_proxy_overhead_prints_its_figures():
    from tests.benchmarks import proxy_overhead

    f = proxy_overhead.main(["--round-trips", "500", "--blocks", "1", "--seconds", "1", "--delay-trips", "10"])
    assert f.delay_samples == 180  # 20 connections x (10 - the connecting one)
    assert f.proxy_mb_s > 0
    assert f.direct_mb_s > 0
    assert -1.0 < f.delay_error_p50_ms < 5.0  # the delay is there, about as injected


@pytest.mark.benchmark
def test_report_scale_prints_its_figures():
    from tests.benchmarks import report_scale

    f = report_scale.main(["--requests", "200000", "--runs", "1"])
    assert f["report_s"][0] > 0
    assert f["report_mb"][0] > 0


@pytest.mark.benchmark
def test_compare_rates_runs_real_trials_and_prints_rates():
    from tests.benchmarks import compare_rates

    tallies = compare_rates.main(["--trials", "1", "--measure-for", "5s"])
    assert all(t.trials == 1 for t in tallies.values())
    assert all(len(t.p99) == 1 for t in tallies.values())


@pytest.mark.benchmark
def test_open_loop_prints_its_figures():
    from tests.benchmarks import open_loop

    results = open_loop.main(["--rate", "50", "--seconds", "8", "--runs", "1"])
    [poisson], [gamma] = results["poisson"], results["gamma"]
    assert poisson.sent > 300
    assert gamma.sent > 300
    assert 0 <= poisson.lag_p50_ms <= poisson.lag_p99_ms


@pytest.mark.benchmark
def test_open_vs_closed_runs_a_round_of_each():
    from tests.benchmarks import open_vs_closed

    [r] = open_vs_closed.main(["--runs", "1"])
    assert r.rate > 5
    assert r.closed_p99 > 0
    assert r.open_sched_p99 > 0


@pytest.mark.benchmark
def test_sweep_repeat_finds_a_knee():
    from tests.benchmarks import sweep_repeat

    [knee] = sweep_repeat.main(["--runs", "1", "--step", "5s"])
    assert knee is not None


@pytest.mark.benchmark
def test_workload_lengths_prints_both_servers():
    from tests.benchmarks import workload_lengths

    workload_lengths.main(["--runs", "1", "--seconds", "6"])


@pytest.mark.benchmark
def test_aiperf_side_by_side_prints_both_errors():
    from tests.benchmarks import aiperf_side_by_side

    [(ours, theirs)] = aiperf_side_by_side.main(["--streams", "20", "--runs", "1", "--seconds", "4"]).values()
    assert ours.requests > 100
    assert theirs.requests > 100
    assert ours.p99_ms < theirs.p99_ms


@pytest.mark.benchmark
def test_console_lag_runs_the_demo_load_with_and_without_the_console():
    from tests.benchmarks import console_lag

    runs = console_lag.main(["--runs", "1"])
    assert sorted(r.console for r in runs) == [False, True]
    assert all(r.seconds > 20 and math.isfinite(r.lag_p99_ms) for r in runs)
    assert [r.console_cpu is not None for r in runs if r.console] == [True]
