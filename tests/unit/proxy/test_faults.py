import itertools
import random

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.proxy.faults import Delay, DelaySampler, Direction, ProxyFault


def test_wire_form_round_trips():
    fault = ProxyFault(Direction.BOTH, Delay(200, 10, 0.25), 60)
    assert ProxyFault.from_json(fault.to_json()) == fault


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"direction": "sideways", "delay": {"latency_ms": 1}, "ttl_s": 1}, "unknown direction"),
        ({"delay": {"latency_ms": -1}, "ttl_s": 1}, "negative"),
        ({"delay": {"latency_ms": 1}, "ttl_s": 0}, "ttl"),
        ({"delay": {"latency_ms": 1}, "ttl_s": 99999}, "ttl"),
        ({"ttl_s": 5}, "must do something"),
        ({"delay": {"latency_ms": 1}, "ttl_s": 1, "loss": 5}, "unknown field"),
    ],
)
def test_bad_faults_are_refused(raw, fragment):
    with pytest.raises(SpecError, match=fragment):
        ProxyFault.from_json(raw)


def test_direction_covers():
    assert Direction.BOTH.covers(Direction.TO)
    assert Direction.TO.covers(Direction.TO)
    assert not Direction.TO.covers(Direction.FROM)


def test_jitter_stays_within_its_range_and_averages_to_the_latency():
    sampler = DelaySampler(Delay(100, 20), random.Random(1))
    draws = [sampler.next_s() * 1000 for _ in range(5000)]
    assert min(draws) >= 80
    assert max(draws) <= 120
    assert sum(draws) / len(draws) == pytest.approx(100, abs=1)


def test_correlation_smooths_successive_draws():
    def mean_step(correlation):
        sampler = DelaySampler(Delay(100, 20, correlation), random.Random(2))
        draws = [sampler.next_s() for _ in range(2000)]
        return sum(abs(a - b) for a, b in itertools.pairwise(draws)) / len(draws)

    assert mean_step(0.9) < mean_step(0.0) / 3
