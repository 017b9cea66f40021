"""Benchmarks as pytest entries, skipped by default: ``.venv/bin/python -m pytest -m benchmark -s``."""

import math

import pytest

from tests.benchmarks import client_overhead


@pytest.mark.benchmark
def test_client_overhead_prints_comparable_figures():
    results = client_overhead.main(["--streams", "50", "--seconds", "10"])
    assert {r.client for r in results} == {"locust user", "aiohttp client"}
    for r in results:
        assert r.events_s > 1000
        assert all(math.isfinite(x) for x in (r.overhead_p50_ms, r.overhead_p99_ms, r.cpu_s_per_1k_events))
