"""The load's retry policy: what it retries, how long it waits, and its errors."""

from __future__ import annotations

import email.utils
import random

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.load.retry import RetryPolicy, retry_after_s
from chaoslib_ext.load.spec import LoadSpec

NOW = 1_800_000_000.0


def test_the_defaults_retry_429_and_503_twice():
    policy = RetryPolicy.parse({})
    assert policy.retries(0, 429, "http_429")
    assert policy.retries(1, 503, "http_503")
    assert not policy.retries(2, 429, "http_429")  # the third attempt is the last
    assert not policy.retries(0, 500, "http_500")
    assert not policy.retries(0, 0, "connect")  # not listed
    assert not policy.retries(0, 200, "cut")  # a stream that started is never sent again


def test_error_classes_are_retried_only_when_nothing_was_answered():
    policy = RetryPolicy.parse({"on": ["connect", 502], "attempts": 2})
    assert policy.retries(0, 0, "connect")
    assert not policy.retries(0, 0, "timeout")
    assert policy.retries(0, 502, "http_502")


def test_retry_after_is_the_wait_capped_by_max_backoff():
    policy = RetryPolicy.parse({"max_backoff": "3s"})
    rng = random.Random(0)
    assert policy.wait_s(0, 429, "2", rng, NOW) == 2.0
    assert policy.wait_s(0, 429, "0.25", rng, NOW) == 0.25
    assert policy.wait_s(0, 429, "120", rng, NOW) == 3.0
    date = email.utils.formatdate(NOW + 1.0, usegmt=True)
    assert policy.wait_s(0, 503, date, rng, NOW) == pytest.approx(1.0)
    assert retry_after_s("soon", NOW) is None
    assert retry_after_s("-5", NOW) == 0.0


def test_without_retry_after_the_backoff_doubles_with_full_jitter_and_is_seeded():
    policy = RetryPolicy.parse({"backoff": "100ms", "max_backoff": "1s", "retry_after": False, "attempts": 10})
    for attempt, bound in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (6, 1.0)]:
        waits = [policy.wait_s(attempt, 429, "5", random.Random(i), NOW) for i in range(200)]
        assert max(waits) <= bound
        assert min(waits) >= 0.0
        assert sum(waits) / len(waits) == pytest.approx(bound / 2, rel=0.15)  # uniform on [0, bound]
    a = [policy.wait_s(1, 429, None, rng, NOW) for rng in [random.Random(3)] for _ in range(5)]
    b = [policy.wait_s(1, 429, None, rng, NOW) for rng in [random.Random(3)] for _ in range(5)]
    assert a == b


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"on": [200]}, "load.retry.on[0]", "cannot retry on 200"),
        ({"on": ["cut"]}, "load.retry.on[0]", "cannot retry on 'cut'"),
        ({"on": []}, "load.retry.on", "retries on nothing"),
        ({"attempts": 1}, "load.retry.attempts", "out of range"),
        ({"backoff": "20s"}, "load.retry.backoff", "exceeds max_backoff"),
        ({"tries": 3}, "load.retry.tries", "unknown field"),
    ],
)
def test_a_bad_policy_names_its_field_and_the_accepted_values(raw, field, message):
    with pytest.raises(SpecError) as info:
        LoadSpec.parse({"retry": raw}, "load")
    assert info.value.field == field
    assert message in str(info.value)


def test_the_policy_travels_to_the_load_process_and_back():
    spec = LoadSpec.parse({"retry": {"on": [429, "reset"], "attempts": 4, "backoff": "50ms", "seed": 7}})
    assert LoadSpec.from_json(spec.to_json()).retry == spec.retry
    assert "retry" not in LoadSpec.parse({}).to_json()
