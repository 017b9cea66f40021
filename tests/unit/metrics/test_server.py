"""The server's own view of a phase, from scrapes of its Prometheus metrics: deltas between the scrapes
nearest the phase's ends, counter resets, bucket-bounded percentiles, gauges, several replicas."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

from chaoslib_ext.metrics.server import Hist, HistogramStats, Scrape, parse_scrape, read_scrapes, server_view

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0)


class Server:
    """A real exposition: vLLM's names through prometheus_client, as the sandbox gateway writes them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ttft = Histogram("vllm:time_to_first_token_seconds", "ttft", ["model_name"], buckets=BUCKETS,
                              registry=self.registry).labels("m")  # fmt: skip
        self.waiting = Gauge("vllm:num_requests_waiting", "waiting", ["model_name"], registry=self.registry).labels("m")

    def text(self) -> str:
        return generate_latest(self.registry).decode()


def test_a_phase_is_the_difference_between_the_scrapes_nearest_its_ends():
    server = Server()
    for _ in range(10):
        server.ttft.observe(0.02)  # before the phase
    before = parse_scrape(server.text(), 100.0, "gateway")
    for v in (0.07, 0.08, 0.2, 0.3):
        server.ttft.observe(v)
    server.waiting.set(3)
    middle = parse_scrape(server.text(), 105.0, "gateway")
    server.waiting.set(1)
    after = parse_scrape(server.text(), 110.2, "gateway")
    view = server_view([before, middle, after], [(100.3, 110.0)])
    assert view is not None
    ttft = view.histograms["ttft_ms"]
    assert ttft.count == 4
    assert ttft.mean == pytest.approx((70 + 80 + 200 + 300) / 4)  # exact: the sum over the count
    assert ttft.p50 == pytest.approx(100.0)  # rank 2 of 4: the top of the (50, 100] bucket
    assert 250.0 < ttft.p99 <= 500.0  # bucket-bounded: inside (250, 500]
    assert view.value("waiting.mean") == pytest.approx(2.0)  # the phase's scrapes: 3 and 1
    assert view.value("waiting.max") == 3.0
    assert (view.sources, view.scrapes, view.failed_scrapes) == (("gateway",), 2, 0)  # taken during it


def test_a_counter_that_went_down_was_reset_and_counts_from_zero():
    server = Server()
    for _ in range(5):
        server.ttft.observe(0.03)
    first = parse_scrape(server.text(), 0.0, "gateway")
    restarted = Server()  # the pod was killed and came back: its histogram starts again
    restarted.ttft.observe(0.4)
    second = parse_scrape(restarted.text(), 5.0, "gateway")
    restarted.ttft.observe(0.4)
    third = parse_scrape(restarted.text(), 10.0, "gateway")
    view = server_view([first, second, third], [(0.0, 10.0)])
    assert view is not None
    assert view.histograms["ttft_ms"].count == 2  # 1 after the restart, 1 more: never 2 - 5 = -3
    assert view.histograms["ttft_ms"].mean == pytest.approx(400.0)


def test_replicas_are_summed_and_a_failed_scrape_is_counted_not_read():
    a, b = Server(), Server()
    scrapes = [parse_scrape(a.text(), 0.0, "gateway"), parse_scrape(b.text(), 0.0, "gateway-2")]
    a.ttft.observe(0.1)
    b.ttft.observe(0.3)
    b.ttft.observe(0.3)
    scrapes += [parse_scrape(a.text(), 5.0, "gateway"), parse_scrape(b.text(), 5.0, "gateway-2")]
    scrapes.append(Scrape(5.0, "gateway-3", error="ConnectTimeout"))
    view = server_view(scrapes, [(0.0, 5.0)])
    assert view is not None
    assert view.histograms["ttft_ms"].count == 3
    assert view.histograms["ttft_ms"].mean == pytest.approx(700 / 3)
    assert view.failed_scrapes == 1
    assert view.sources == ("gateway", "gateway-2", "gateway-3")


def test_scrapes_are_read_back_from_their_files(tmp_path):
    server = Server()
    server.ttft.observe(0.06)
    folder = tmp_path / "server_metrics"
    folder.mkdir()
    (folder / "gateway.prom").write_text(
        "# chaosllm-scrape at=10.000\n" + server.text() + "\n# chaosllm-scrape at=15.000 error=HTTP 503\n"
    )
    first, failed = read_scrapes(folder)
    assert (first.at, first.source, first.histograms["ttft_ms"].count) == (10.0, "gateway", 1)
    assert (failed.at, failed.error) == (15.0, "HTTP 503")
    assert server_view([failed], [(0.0, 20.0)]) is None  # nothing usable: no view, never zeros


def test_quantiles_follow_histogram_quantile():
    h = Hist((0.1, 0.2, float("inf")), (0.0, 10.0, 10.0), 1.5, 10.0)
    stats = HistogramStats.of(h)
    assert stats.p50 == pytest.approx(150.0)  # halfway through (100, 200]
    assert stats.mean == pytest.approx(150.0)
    above = HistogramStats.of(Hist((0.1, float("inf")), (0.0, 4.0), 8.0, 4.0))
    assert above.p99 == pytest.approx(100.0)  # in the +Inf bucket: the highest finite bound, as Prometheus
