"""Each metric formula against values computed by hand."""

import math

import numpy as np
import pytest

from chaoslib_ext.metrics import Window, distribution, window_metrics
from chaoslib_ext.metrics.goodput import GoodputSLO
from chaoslib_ext.samples import Sample
from chaoslib_ext.samples.table import SampleTable

T = 1000.0  # a round unix time to start from


def sample(t0, ttft, itl=(), tokens=None, error=None, done=None):
    events = 0 if ttft is None else 1 + len(itl)
    e2el = 0.0 if ttft is None else ttft + sum(itl)
    return Sample(
        t0=T + t0,
        ttft_ms=ttft,
        itl_ms=tuple(itl),
        tokens=events if tokens is None else tokens,
        events=events,
        status=200 if error is None else 500,
        error=error,
        done_ms=e2el if done is None else done,
    )


def whole(seconds=10.0):
    return Window(((T, T + seconds),))


def test_itl_pools_every_gap_of_every_request():
    table = SampleTable.from_samples([sample(0, 100, [10, 30]), sample(1, 50, [20])])
    m = window_metrics(table, whole()).to_json()
    # pooled gaps: 10, 30, 20 -> p50 20, mean 20
    assert m["itl_ms"]["count"] == 3
    assert m["itl_ms"]["p50"] == 20
    assert m["itl_ms"]["mean"] == 20


def test_ttft_e2el_and_tpot_follow_vllm():
    table = SampleTable.from_samples([sample(0, 100, [10, 30])])
    m = window_metrics(table, whole()).to_json()
    assert m["ttft_ms"]["p50"] == 100
    assert m["e2el_ms"]["p50"] == 140  # last content event - start
    assert m["tpot_ms"]["p50"] == 20  # (140 - 100) / (3 - 1)


def test_tpot_uses_usage_tokens_when_the_server_sends_them():
    # 3 events but the server reports 5 tokens (several tokens per event)
    table = SampleTable.from_samples([sample(0, 100, [10, 30], tokens=5)])
    m = window_metrics(table, whole()).to_json()
    assert m["tpot_ms"]["p50"] == 10  # (140 - 100) / (5 - 1)
    assert m["output_throughput_tps"] == pytest.approx(5 / 10)


def test_tpot_with_one_token_is_undefined_and_left_out():
    table = SampleTable.from_samples([sample(0, 80), sample(1, 100, [20])])
    m = window_metrics(table, whole()).to_json()
    assert m["tpot_ms"]["count"] == 1
    assert m["tpot_ms"]["p50"] == 20
    assert math.isnan(table.tpot_ms[0])


def test_percentiles_are_exact_linear_interpolation():
    values = np.arange(1, 101, dtype=float)
    d = distribution(values).to_json()
    assert d["p50"] == 50.5
    assert d["p99"] == pytest.approx(99.01)
    assert d["p90"] == pytest.approx(90.1)
    assert (d["min"], d["max"], d["count"]) == (1, 100, 100)


def test_jitter_is_p99_minus_p50():
    table = SampleTable.from_samples([sample(i * 0.05, float(i + 1)) for i in range(100)])
    m = window_metrics(table, whole()).to_json()
    assert m["ttft_jitter_ms"] == pytest.approx(99.01 - 50.5)


def test_requests_belong_to_the_phase_they_started_in():
    table = SampleTable.from_samples([sample(0.5, 10), sample(4.0, 300, [5]), sample(6.0, 20)])
    first = window_metrics(table, Window(((T, T + 5),))).to_json()
    second = window_metrics(table, Window(((T + 5, T + 10),))).to_json()
    assert first["requests"] == 2
    assert first["ttft_ms"]["max"] == 300
    assert second["requests"] == 1
    assert second["ttft_ms"]["p50"] == 20


def test_gaps_belong_to_the_phase_of_their_later_token():
    # starts at 4.9 s: first token at 4.95 s, the gap ends at 5.15 s -> second window
    table = SampleTable.from_samples([sample(4.9, 50, [200])])
    assert window_metrics(table, Window(((T, T + 5),))).itl_ms.count == 0
    assert window_metrics(table, Window(((T + 5, T + 10),))).value("itl_ms.p50") == 200


def test_throughput_counts_completions_and_tokens_inside_the_window():
    # 4 requests of 2 tokens each finish inside a 2 s window -> 2 req/s, 4 tok/s
    table = SampleTable.from_samples([sample(i * 0.4, 10, [10]) for i in range(4)])
    m = window_metrics(table, Window(((T, T + 2),))).to_json()
    assert m["request_throughput_rps"] == pytest.approx(2.0)
    assert m["output_throughput_tps"] == pytest.approx(4.0)


def test_failures_count_in_error_rate_not_in_latency():
    table = SampleTable.from_samples([sample(0, 10), sample(1, None, error="HTTP 500", done=5.0)])
    m = window_metrics(table, whole()).to_json()
    assert (m["requests"], m["completed"], m["failed"]) == (2, 1, 1)
    assert m["error_rate"] == 0.5
    assert m["ttft_ms"]["count"] == 1


def test_goodput_counts_requests_meeting_every_bound():
    table = SampleTable.from_samples([sample(0, 100, [10]), sample(1, 600, [10]), sample(2, 100, [90])])
    m = window_metrics(table, whole(), GoodputSLO(ttft_ms=500, tpot_ms=50)).to_json()
    assert m["goodput_rps"] == pytest.approx(1 / 10)


def test_an_empty_window_has_no_rates_and_no_percentiles():
    table = SampleTable.from_samples([sample(0, 10)])
    m = window_metrics(table, Window(())).to_json()
    assert m["request_throughput_rps"] is None
    assert m["ttft_ms"]["p99"] is None
    assert m["error_rate"] is None
