import itertools
import random

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.proxy.effects import RTO_S, Bucket, DelaySampler, FlowEffects, LossSampler
from chaoslib_ext.proxy.faults import Bandwidth, Delay, Direction, Loss, ProxyFault, Timeout


def test_wire_form_round_trips():
    fault = ProxyFault(
        Direction.BOTH, 60, delay=Delay(200, 10, 0.25), loss=Loss(5), partition=True, timeout=Timeout(15, 500)
    )
    assert ProxyFault.from_json(fault.to_json()) == fault
    assert fault.effects == ["delay", "loss", "partition", "timeout"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"direction": "sideways", "delay": {"latency_ms": 1}, "ttl_s": 1}, "unknown direction"),
        ({"delay": {"latency_ms": -1}, "ttl_s": 1}, "negative"),
        ({"delay": {"latency_ms": 1}, "ttl_s": 0}, "ttl"),
        ({"delay": {"latency_ms": 1}, "ttl_s": 99999}, "ttl"),
        ({"ttl_s": 5}, "must do something"),
        ({"delay": {"latency_ms": 1}, "ttl_s": 1, "jitterbug": {}}, "unknown field"),
        ({"loss": {"percent": 120}, "ttl_s": 1}, "out of range"),
        ({"bandwidth": {"rate_bytes_s": 0}, "ttl_s": 1}, "above zero"),
        ({"partition": {"x": 1}, "ttl_s": 1}, "takes no parameters"),
        ({"delay": {"latency_ms": 1, "spread": 2}, "ttl_s": 1}, "delay.spread"),
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


def test_loss_costs_retransmission_timeouts_on_the_share_it_hits():
    sampler = LossSampler(Loss(10), random.Random(3))
    penalties = [sampler.next_s() for _ in range(20000)]
    hit = [p for p in penalties if p > 0]
    assert len(hit) / len(penalties) == pytest.approx(0.10, abs=0.01)
    assert min(hit) == RTO_S
    # a retransmission lost again doubles the wait: 0.2, then 0.2 + 0.4
    assert {round(p, 6) for p in hit} >= {0.2, 0.6, 1.4}  # 0.2, then +0.4, then +0.8


def test_the_bucket_spaces_bytes_at_its_rate():
    bucket = Bucket(1000.0)
    assert bucket.reserve(500, earliest=10.0) == pytest.approx(10.5)
    assert bucket.reserve(500, earliest=10.0) == pytest.approx(11.0)  # queued behind the first
    assert bucket.reserve(100, earliest=20.0) == pytest.approx(20.1)  # idle in between


def test_effects_combine_only_the_faults_of_their_direction():
    faults = [
        ("a", ProxyFault(Direction.TO, 60, delay=Delay(100))),
        ("b", ProxyFault(Direction.FROM, 60, partition=True)),
        ("c", ProxyFault(Direction.BOTH, 60, timeout=Timeout(50))),
        ("d", ProxyFault(Direction.BOTH, 60, timeout=Timeout(50))),
    ]
    to = FlowEffects.build(faults, Direction.TO, {}, random.Random(0))
    back = FlowEffects.build(faults, Direction.FROM, {}, random.Random(0))
    assert to.delay_s() == pytest.approx(0.1)
    assert not to.partition
    assert back.partition
    assert back.delay_s() == 0
    assert to.timeout_share == pytest.approx(0.75)  # two independent 50 % draws
    assert not FlowEffects.build([], Direction.TO, {}, random.Random(0)).silences()


def test_bandwidth_faults_share_the_link_bucket():
    fault = ProxyFault(Direction.TO, 60, bandwidth=Bandwidth(1000))
    shared = {("bw", Direction.TO): Bucket(1000)}
    one = FlowEffects.build([("bw", fault)], Direction.TO, shared, random.Random(0))
    two = FlowEffects.build([("bw", fault)], Direction.TO, shared, random.Random(0))
    assert one.buckets[0] is two.buckets[0]
