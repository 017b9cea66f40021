"""Open-loop scheduling, with a fake clock: the schedule is the seed's, split across processes
without changing it, shaped by the rate's shape; the dispatcher sends on time, counts what a full
``max_concurrency`` refuses, and never drops one silently."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaoslib_ext.load.arrivals import Arrivals, Dispatcher, concurrency_share, process_share, wait_until
from chaoslib_ext.load.profile import Constant, Ramp, Spike, Step


def ks_exponential(gaps: np.ndarray, rate: float) -> float:
    """The Kolmogorov-Smirnov statistic of ``gaps`` against the exponential of ``rate``."""
    x = np.sort(gaps)
    cdf = 1.0 - np.exp(-rate * x)
    n = x.size
    return float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    a = Arrivals(50.0, "poisson", seed=7).schedule(Constant(), 60.0)
    b = Arrivals(50.0, "poisson", seed=7).schedule(Constant(), 60.0)
    c = Arrivals(50.0, "poisson", seed=8).schedule(Constant(), 60.0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a[:100], c[:100])


def test_poisson_arrivals_have_the_rate_and_exponential_gaps():
    at = Arrivals(200.0, "poisson", seed=1).schedule(Constant(), 30.0)
    assert abs(at.size - 6000) < 4 * math.sqrt(6000)
    assert at[0] == 0.0
    assert np.all(np.diff(at) >= 0)
    assert at[-1] < 30.0
    gaps = np.diff(at)
    assert ks_exponential(gaps, 200.0) < 1.628 / math.sqrt(gaps.size)  # KS at alpha 0.01


@pytest.mark.parametrize(("burstiness", "cv"), [(0.5, math.sqrt(2.0)), (1.0, 1.0), (4.0, 0.5)])
def test_gamma_burstiness_sets_the_gaps_coefficient_of_variation(burstiness, cv):
    gaps = np.diff(Arrivals(100.0, "gamma", burstiness, seed=3).schedule(Constant(), 100.0))
    assert abs(gaps.mean() - 0.01) < 0.0005
    assert abs(gaps.std() / gaps.mean() - cv) < 0.05 * cv


def test_constant_arrivals_are_evenly_spaced():
    at = Arrivals(10.0, "constant").schedule(Constant(), 2.0)
    assert np.allclose(at, np.arange(20) / 10.0)


def test_a_shape_shapes_the_rate_not_the_character_of_the_arrivals():
    step = Arrivals(100.0, "poisson", seed=2).schedule(Step(25, 10.0), 40.0)  # 25, 50, 75, 100 req/s
    counts = np.histogram(step, bins=[0, 10, 20, 30, 40])[0]
    for got, want in zip(counts, [250, 500, 750, 1000], strict=True):
        assert abs(got - want) < 5 * math.sqrt(want)
    ramp = Arrivals(100.0, "constant").schedule(Ramp(0, 10.0), 10.0)
    assert abs(ramp.size - 500) <= 2  # the integral of a 0 -> 100 req/s ramp over 10 s
    spike = Arrivals(10.0, "constant").schedule(Spike(100, 5.0, 1.0), 10.0)
    assert abs(np.sum((spike >= 5.0) & (spike < 6.0)) - 100) <= 1


def test_a_shaped_schedule_is_integrated_between_the_shapes_knots_not_on_a_fine_grid():
    four_hours = 4 * 3600.0  # the longest a load runs without a duration
    a = Arrivals(200.0, "poisson", seed=4)
    for shape, most in ((Constant(), 2), (Step(25, 10.0), 9), (Spike(400, 60.0, 10.0), 4), (Ramp(0, 30.0), 3002)):
        grid, operational = a._operational_time(shape, four_hours)
        assert grid.size <= most, shape
        assert operational[-1] == pytest.approx(200.0 * four_hours, rel=0.01), shape
    step = Arrivals(100.0, "constant").schedule(Step(50, 1.0), 2.0)  # 50 req/s, then 100 req/s
    assert np.sum(step < 1.0) == 50  # the edge exactly at 1 s, not a grid step off
    assert abs(np.sum(step >= 1.0) - 100) <= 1


def test_the_processes_shares_make_the_whole_schedule_whatever_their_number():
    schedule = Arrivals(80.0, "poisson", seed=5).schedule(Constant(), 10.0)
    for n in (1, 2, 3, 7):
        shares = [process_share(schedule, k, n) for k in range(n)]
        assert np.array_equal(np.sort(np.concatenate(shares)), schedule)
    assert [concurrency_share(10, k, 3) for k in range(3)] == [4, 3, 3]
    assert concurrency_share(None, 0, 3) is None


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_dispatcher_sends_each_arrival_when_it_is_due():
    clock = FakeClock()
    due = 1000.0 + np.array([0.0, 0.5, 0.5, 2.0])
    sent = []
    d = Dispatcher(due, None, clock.time, clock.sleep, lambda at, done: (sent.append((at, clock.now)), done()), print)
    d.run()
    assert sent == [(1000.0, 1000.0), (1000.5, 1000.5), (1000.5, 1000.5), (1002.0, 1002.0)]
    assert (d.sent, d.refused, d.in_flight) == (4, 0, 0)


def test_a_late_dispatcher_sends_at_once_and_the_lag_is_the_samples_to_show():
    clock = FakeClock(1003.0)  # the process started three seconds after the schedule's origin
    sent = []
    d = Dispatcher(
        1000.0 + np.arange(5.0), None, clock.time, clock.sleep, lambda at, done: sent.append(clock.now - at), print
    )
    d.run()
    assert sent == [3.0, 2.0, 1.0, 0.0, 0.0]


def test_a_full_max_concurrency_refuses_arrivals_and_counts_every_one():
    clock = FakeClock()
    finish: list = []
    refused: list[float] = []
    d = Dispatcher(1000.0 + np.arange(6) * 0.1, 2, clock.time, clock.sleep, lambda at, done: finish.append(done),
                   refused.append)  # fmt: skip
    d.run()
    assert (d.sent, d.refused, d.in_flight) == (2, 4, 2)
    assert refused == pytest.approx([1000.2, 1000.3, 1000.4, 1000.5])
    finish[0]()  # one request ends: room for the next arrival
    assert d.in_flight == 1


def test_a_stopped_dispatcher_stops_before_the_next_send():
    clock = FakeClock()
    sent: list[float] = []
    d = Dispatcher(1000.0 + np.arange(10.0), None, clock.time, clock.sleep, lambda at, done: sent.append(at), print)
    d.run(stop=lambda: clock.now >= 1003.0)
    assert sent == [1000.0, 1001.0, 1002.0]


class TimerClock(FakeClock):
    """An event loop's timer: a sleep wakes up on the next millisecond; a zero sleep (a yield) costs 0.1 ms."""

    def sleep(self, seconds: float) -> None:
        self.now = math.ceil((self.now + seconds) * 1000.0) / 1000.0 if seconds > 0 else self.now + 0.0001


def test_waiting_the_last_stretch_by_yielding_keeps_sends_off_the_timers_millisecond_grid():
    for due, late_by_timer in ((1000.0103, 0.7), (1000.0207, 0.3)):
        clock = TimerClock()
        wait_until(due, clock.time, clock.sleep, 0.0)  # the timer alone
        assert (clock.now - due) * 1000.0 == pytest.approx(late_by_timer)
        clock = TimerClock()
        wait_until(due, clock.time, clock.sleep, 0.0012)
        assert 0.0 <= (clock.now - due) * 1000.0 <= 0.1 + 1e-9  # within one yield


def test_a_request_is_started_its_lead_before_it_is_due():
    clock = FakeClock()
    started: list[float] = []
    d = Dispatcher(1000.0 + np.array([0.01, 0.02]), None, clock.time, clock.sleep,
                   lambda at, done: started.append(at - clock.now), print, lead_s=0.003)  # fmt: skip
    d.run()
    assert started == pytest.approx([0.003, 0.003])
