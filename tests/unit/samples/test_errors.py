"""Failed requests by class: every error text the load client writes has its class, a phase counts
them, and hypotheses read them as ``errors.<class>.rate``."""

from __future__ import annotations

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.metrics.phase import window_metrics
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.errors import error_class
from chaoslib_ext.samples.format import Sample
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.verdict.spec import Hypothesis, metric_unit

#: (status, the text loadtests/locustfile.py writes) -> class
TEXTS = [
    (0, "connection failed: [Errno 111] Connection refused", "connect"),
    (0, "timeout: the request exceeded its deadline of 60s", "timeout"),
    (200, "idle_timeout: no byte for 1s (IdleTimeoutError)", "timeout"),
    (200, "ConnectionResetError: [Errno 104] Connection reset by peer", "reset"),
    (200, "HttpProtocolError: the connection closed before the response ended", "cut"),
    (429, 'HTTP 429: {"error": {"message": "slow down"}}', "http_429"),
    (503, "HTTP 503: ", "http_503"),
    (200, "error event: overloaded", "error_event"),
    (200, "malformed event: 1 SSE event(s) whose data is not JSON", "malformed"),
    (200, "stream ended before [DONE]", "no_done"),
    (200, "no content in the stream", "no_content"),
    (200, "ValueError: something else", "other"),
]


@pytest.mark.parametrize(("status", "text", "kind"), TEXTS)
def test_every_error_text_of_the_client_has_its_class(status, text, kind):
    assert error_class(status, text) == kind


def sample(t0: float, status: int = 200, error: str | None = None) -> Sample:
    return Sample(t0, 50.0, (10.0,), 2, 2, status, error, 70.0)


def test_a_phase_counts_its_failures_by_class_and_hypotheses_read_rates_and_counts():
    samples = [sample(100.0 + i * 0.1) for i in range(16)]
    samples += [sample(101.0, 429, "HTTP 429: x"), sample(101.1, 429, "HTTP 429: x"), sample(101.2, 503, "HTTP 503: ")]
    samples += [sample(101.3, error="HttpProtocolError: the connection closed before the response ended")]
    metrics = window_metrics(SampleTable.from_samples(samples), Window(((100.0, 110.0),)))
    assert metrics.errors == {"cut": 1, "http_429": 2, "http_503": 1}
    assert metrics.value("errors.http_429.rate") == pytest.approx(2 / 20)
    assert metrics.value("errors.http_4xx.count") == 2.0
    assert metrics.value("errors.http_5xx.rate") == pytest.approx(1 / 20)
    assert metrics.value("errors.reset.rate") == 0.0
    assert metrics.value("errors.http_429") is None  # no stat: not a metric
    assert type(metrics).from_json(metrics.to_json()) == metrics


def test_hypotheses_accept_error_classes_and_refuse_unknown_ones_naming_the_accepted():
    ok = Hypothesis.parse({"name": "h", "phase": "fault", "metric": "errors.http_429.rate", "expect": "<= 0.25"}, "h")
    assert ok.metric == "errors.http_429.rate"
    with pytest.raises(SpecError) as err:
        Hypothesis.parse({"name": "h", "phase": "fault", "metric": "errors.teapot.rate", "expect": "<= 1"}, "h")
    assert "errors.<class>.rate" in str(err.value)


def test_the_unit_goes_by_the_first_part_of_the_name_not_any_ms_in_it():
    assert metric_unit("ttft_ms.p99") == "ms"
    assert metric_unit("recovery_time_s.ttft_ms.p99") == "s"
    assert metric_unit("errors.http_429.rate") == ""
