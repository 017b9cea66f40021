"""The bootstrap against cases with known answers: exact weighted percentiles, textbook standard
errors of a median, a P99 and a Poisson rate, and the coverage of the 95 % interval of a delta."""

from pathlib import Path

import numpy as np
import pytest

from chaoslib_ext.compare.arms import PhaseRequests, Side
from chaoslib_ext.compare.bootstrap import WeightedValues, interval, poisson_weights, weighted_percentiles
from chaoslib_ext.compare.metrics import parse_metric, replicates
from chaoslib_ext.compare.verdict import IMPROVED, NO_CHANGE, REGRESSED, Settings, compare, judge


def phase(ttft, tokens=16, duration_s=60.0, failed=0, gaps=None):
    ttft = np.asarray(ttft, dtype=np.float64)
    n = ttft.size + failed
    ok = np.arange(n) < ttft.size
    index = np.arange(ttft.size)
    gap_values = np.full((ttft.size, 3), 12.0) if gaps is None else gaps
    dists = {
        "ttft_ms": WeightedValues.of(ttft, index),
        "e2el_ms": WeightedValues.of(ttft + gap_values.sum(axis=1), index),
        "tpot_ms": WeightedValues.of(gap_values.mean(axis=1), index),
        "itl_ms": WeightedValues.of(gap_values.ravel(), np.repeat(index, gap_values.shape[1])),
    }
    start_s = np.linspace(0.0, duration_s, n, endpoint=False)
    intervals = (((0.0, duration_s),),)
    return PhaseRequests(
        duration_s, intervals, np.zeros(n, dtype=np.intp), start_s, ok, np.where(ok, float(tokens), 0.0), dists
    )


def sides(a: PhaseRequests, b: PhaseRequests, paired: bool = False):
    """Two sides of different runs, or (``paired``) the two sides of one alternating run."""
    runs = (Path("run"),) if paired else None
    return (
        Side("A", runs or (Path("a"),), "t", {"baseline": a}),
        Side("B", runs or (Path("b"),), "t", {"baseline": b}),
    )


@pytest.mark.parametrize("q", [0.0, 1.0, 37.5, 50.0, 90.0, 99.0, 99.9, 100.0])
def test_weighted_percentiles_equal_numpy_on_the_repeated_values(q):
    rng = np.random.default_rng(3)
    values = np.sort(np.round(rng.gamma(2.0, 10.0, 300), 1))  # rounded: ties
    counts = rng.poisson(1.0, (40, values.size))
    counts[5] = 0
    counts[6] = 0
    counts[6, 17] = 3  # one value, three times
    got = weighted_percentiles(values, counts, (q,))[:, 0]
    for row in range(counts.shape[0]):
        repeated = np.repeat(values, counts[row])
        if repeated.size == 0:
            assert np.isnan(got[row])
        else:
            assert got[row] == pytest.approx(np.percentile(repeated, q), rel=1e-12, abs=1e-12)


def test_unit_weights_give_the_plain_percentiles_of_every_metric():
    rng = np.random.default_rng(4)
    gaps = rng.gamma(16.0, 0.75, (500, 7))
    p = phase(rng.gamma(9.0, 7.0, 500), gaps=gaps, failed=5)
    metrics = [parse_metric(k) for k in ("ttft_ms.p99", "itl_ms.p50", "ttft_jitter_ms", "error_rate")]
    got = replicates(p, metrics, np.ones((1, p.requests), dtype=np.int64), np.array([p.duration_s]))
    ttft = p.dists["ttft_ms"].values
    assert got["ttft_ms.p99"][0] == pytest.approx(np.percentile(ttft, 99), rel=1e-12)
    assert got["itl_ms.p50"][0] == pytest.approx(np.percentile(gaps, 50), rel=1e-12)
    assert got["ttft_jitter_ms"][0] == pytest.approx(np.percentile(ttft, 99) - np.percentile(ttft, 50), rel=1e-12)
    assert got["error_rate"][0] == pytest.approx(5 / 505)


def spread(p: PhaseRequests, key: str, resamples: int = 2000) -> float:
    """The bootstrap standard error with one weight per request."""
    weights = poisson_weights(np.random.default_rng(5), resamples, p.requests)
    duration = np.full(resamples, p.duration_s)
    return float(np.std(replicates(p, [parse_metric(key)], weights, duration)[key]))


def test_standard_error_of_a_median_matches_the_asymptotic_formula():
    n = 4000
    p = phase(np.random.default_rng(6).normal(100.0, 10.0, n))
    expected = 10.0 * np.sqrt(np.pi / 2) / np.sqrt(n)  # sigma * sqrt(pi/2) / sqrt(n)
    assert spread(p, "ttft_ms.p50") == pytest.approx(expected, rel=0.12)


def test_standard_error_of_a_p99_matches_the_asymptotic_formula():
    n = 20000
    p = phase(np.random.default_rng(7).exponential(50.0, n))
    # sqrt(q (1 - q) / n) / f(x_q); for an exponential of mean 50, f(x_0.99) = 0.01 / 50
    expected = np.sqrt(0.99 * 0.01 / n) / (0.01 / 50.0)
    assert spread(p, "ttft_ms.p99") == pytest.approx(expected, rel=0.15)


def test_a_rate_gets_the_spread_of_a_poisson_count():
    n, tokens, duration = 3600, 16, 60.0
    p = phase(np.full(n, 50.0), tokens=tokens, duration_s=duration)
    assert spread(p, "output_throughput_tps") == pytest.approx(tokens * np.sqrt(n) / duration, rel=0.08)


def test_the_95_percent_interval_of_a_delta_covers_the_true_delta_95_times_in_100():
    """B's TTFT is A's distribution scaled by 1.10: the true relative change of every percentile is +10 %."""
    rng = np.random.default_rng(8)
    settings = Settings(metrics=(parse_metric("ttft_ms.p90"),), resamples=400)
    covered = 0
    for trial in range(100):
        a = phase(rng.lognormal(4.0, 0.4, 1500))
        b = phase(1.10 * rng.lognormal(4.0, 0.4, 1500))
        row = compare(*sides(a, b), Settings(settings.metrics, resamples=400, seed=trial)).rows[0]
        covered += row.delta.low <= 0.10 <= row.delta.high
    assert 89 <= covered <= 99  # binomial(100, 0.95): 89..99 holds with probability > 0.99


def test_identical_sides_show_no_change_and_an_interval_around_zero():
    a = phase(np.random.default_rng(9).gamma(9.0, 7.0, 2000))
    rows = compare(*sides(a, a), Settings()).rows
    assert {r.verdict for r in rows} == {NO_CHANGE}
    assert all(r.delta.estimate == 0 for r in rows)
    varied = [r for r in rows if r.metric.key.startswith(("ttft", "output"))]  # the gaps here are all 12 ms
    assert all(r.delta.low < 0 < r.delta.high for r in varied)


def test_a_scaled_release_regresses_by_exactly_its_scale():
    ttft = np.random.default_rng(10).gamma(9.0, 7.0, 4000)
    a, b = phase(ttft), phase(ttft * 1.2, duration_s=120.0)  # B: 20 % slower TTFT, half the throughput
    rows = {r.metric.key: r for r in compare(*sides(a, b), Settings()).rows}
    assert rows["ttft_ms.p99"].delta.estimate == pytest.approx(0.2)
    assert rows["ttft_ms.p99"].verdict == REGRESSED
    assert rows["ttft_ms.p50"].delta.low > 0.15
    assert rows["output_throughput_tps"].delta.estimate == pytest.approx(-0.5)
    assert rows["output_throughput_tps"].verdict == REGRESSED
    assert rows["itl_ms.p50"].verdict == NO_CHANGE
    back = {r.metric.key: r for r in compare(*sides(b, a), Settings()).rows}
    assert back["ttft_ms.p99"].verdict == IMPROVED
    assert back["output_throughput_tps"].verdict == IMPROVED


def test_error_rate_compares_in_points():
    a = phase(np.full(1000, 50.0))
    b = phase(np.full(900, 50.0), failed=100)
    row = next(r for r in compare(*sides(a, b), Settings()).rows if r.metric.key == "error_rate")
    assert row.delta.estimate == pytest.approx(0.1)
    assert row.verdict == REGRESSED


@pytest.mark.parametrize(
    ("estimate", "low", "high", "verdict", "reason"),
    [
        (0.08, 0.03, 0.13, REGRESSED, "worse"),
        (0.03, 0.01, 0.05, NO_CHANGE, "smaller than the 5% threshold"),
        (0.08, -0.01, 0.17, NO_CHANGE, "interval includes 0"),
        (-0.08, -0.13, -0.03, IMPROVED, "better"),
    ],
)
def test_judge_needs_an_interval_clear_of_zero_and_a_change_past_the_threshold(estimate, low, high, verdict, reason):
    got, why = judge(parse_metric("ttft_ms.p99"), interval_of(estimate, low, high), 0.05)
    assert got == verdict
    assert reason in why
    # throughput: a fall is the regression
    flipped, _ = judge(parse_metric("output_throughput_tps"), interval_of(-estimate, -high, -low), 0.05)
    assert flipped == verdict


def interval_of(estimate, low, high):
    from chaoslib_ext.compare.bootstrap import Interval

    return Interval(estimate, low, high, 2000)


def test_interval_is_undefined_when_most_replicates_are():
    reps = np.full(2000, np.nan)
    reps[:10] = 1.0
    assert interval(1.0, reps, 0.95).low is None
    assert interval(float("nan"), np.ones(2000), 0.95).estimate is None


def test_unknown_metric_names_the_accepted_ones():
    with pytest.raises(ValueError, match=r"unknown metric 'ttft_p99'.*ttft_ms"):
        parse_metric("ttft_p99")


def clustered(rng, slots: int, per_slot: int, shock_ms: np.ndarray | None = None):
    """Requests in 1 s slots; every request of a slot shares the slot's shock (a stall)."""
    shock = rng.exponential(10.0, slots) if shock_ms is None else shock_ms
    ttft = 60.0 + rng.normal(0.0, 3.0, (slots, per_slot)) + shock[:, None]
    return phase(ttft.ravel(), duration_s=float(slots))


def test_grouped_weights_give_the_true_spread_of_clustered_requests_and_per_request_ones_do_not():
    """The median of requests that share per-second stalls: its real spread (over 300 such runs)
    against the bootstrap's on one run, with one weight per second (default) and per request."""
    rng = np.random.default_rng(11)
    truth = np.std(
        [np.median(60.0 + rng.normal(0, 3, (60, 40)) + rng.exponential(10.0, 60)[:, None]) for _ in range(300)]
    )
    p = clustered(np.random.default_rng(12), 60, 40)
    metric = [parse_metric("ttft_ms.p50")]
    rng_w = np.random.default_rng(13)
    group, seconds = p.groups(1.0)
    assert seconds is not None
    assert seconds.size == 60
    drawn = poisson_weights(rng_w, 1000, seconds.size)
    grouped = np.std(replicates(p, metric, drawn[:, group], drawn @ seconds)["ttft_ms.p50"])
    per_request = spread(p, "ttft_ms.p50", 1000)
    assert grouped == pytest.approx(truth, rel=0.3)
    assert per_request < 0.5 * truth


def test_the_sides_of_one_alternating_run_are_resampled_together():
    """A shock that hit both sides in the same second cancels in the change, and the paired interval
    knows it: it is far narrower than the one of two independent runs, and both hold 0."""
    rng = np.random.default_rng(14)
    shock = rng.exponential(30.0, 60)
    a, b = clustered(rng, 60, 20, shock), clustered(rng, 60, 20, shock)
    settings = Settings(metrics=(parse_metric("ttft_ms.p90"),))
    paired = compare(*sides(a, b, paired=True), settings).rows[0].delta
    independent = compare(*sides(a, b), settings).rows[0].delta
    assert paired.low < 0 < paired.high
    assert independent.low < 0 < independent.high
    assert (paired.high - paired.low) < 0.5 * (independent.high - independent.low)


def test_a_short_phase_is_resampled_in_finer_slots():
    p = phase(np.full(500, 50.0), duration_s=10.0)  # a 10 s fault phase
    group, seconds = p.groups(1.0)
    assert seconds is not None
    assert seconds.size == 40
    assert seconds.sum() == pytest.approx(10.0)
    assert group.max() < 40
