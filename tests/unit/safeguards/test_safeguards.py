"""Safeguard conditions: parsing, live windows over growing sample files, when a condition trips,
and Prometheus answers read as the HTTP API documents them (served by a local HTTP server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.safeguards.live import LiveSamples
from chaoslib_ext.safeguards.monitor import breach
from chaoslib_ext.safeguards.probes import ProbeError, prometheus_value
from chaoslib_ext.safeguards.spec import Condition, Safeguards
from chaoslib_ext.samples import REQUEST, SampleWriter


def parse(*conditions, **extra):
    return Safeguards.parse({"stop_when": list(conditions), **extra})


def test_a_metric_condition_with_its_defaults():
    [c] = parse({"name": "errors", "metric": "error_rate", "above": 0.2, "for": "10s"}).conditions
    assert (c.kind, c.metric, c.above, c.below, c.for_s, c.window_s) == ("metric", "error_rate", 0.2, None, 10.0, 10.0)
    assert c.describe() == "error_rate over 10s above 0.2 for 10s"


@pytest.mark.parametrize(
    ("condition", "field", "message"),
    [
        ({"name": "x", "metric": "ttft", "above": 1}, "stop_when[0].metric", "unknown value 'ttft'"),
        ({"name": "x", "metric": "error_rate"}, "stop_when[0].above", "needs a bound"),
        ({"name": "x", "above": 1}, "stop_when[0]", "needs exactly one of metric, http, prometheus"),
        ({"name": "x", "http": {"url": "ftp://a"}}, "stop_when[0].http.url", "is not an http(s) URL"),
        ({"name": "x", "http": {"url": "http://a"}, "above": 1}, "stop_when[0].above", "has no bound"),
        ({"name": "x", "metric": "error_rate", "above": 1, "for": "-1s"}, "stop_when[0].for", "negative"),
        ({"name": "x", "prometheus": {"url": "http://p"}, "above": 1}, "stop_when[0].prometheus.query", "required"),
    ],
)
def test_a_bad_condition_names_its_field(condition, field, message):
    with pytest.raises(SpecError) as err:
        Safeguards.parse({"stop_when": [condition]}, "")
    assert err.value.field.lstrip(".") == field
    assert message in str(err.value)


def test_duplicate_condition_names_are_refused():
    with pytest.raises(SpecError, match="duplicate condition name 'a'"):
        parse({"name": "a", "metric": "error_rate", "above": 1}, {"name": "a", "metric": "error_rate", "above": 2})


def write(directory, *samples, prefix="samples"):
    writer = SampleWriter(directory, prefix=prefix)
    for t0, ttft, error in samples:
        status = 200 if error is None else 503
        writer.write({"t0": t0, "ttft_ms": ttft, "itl_ms": [10.0] if ttft else [], "tokens": 2, "events": 2,
                      "status": status, "error": error, "done_ms": (ttft or 0) + 10})  # fmt: skip
    writer.close()


def test_live_samples_read_only_what_arrived_and_skip_a_torn_record(tmp_path):
    live = LiveSamples(tmp_path, keep_s=30)
    write(tmp_path, (100.0, 50.0, None), (100.5, 70.0, None), (101.0, 900.0, None))
    req = next(tmp_path.glob("*.req"))
    whole = req.read_bytes()
    req.write_bytes(whole[: -REQUEST.itemsize // 2])  # the third record is half written
    live.refresh(now=102.0)
    assert live.metric("ttft_ms.p50", 10, now=102.0) == pytest.approx(60.0)
    req.write_bytes(whole)  # it completes, and a failure arrives
    write(tmp_path, (101.2, None, "HTTP 503"))
    live.refresh(now=103.0)
    assert live.metric("ttft_ms.p99", 10, now=103.0) == pytest.approx(883.4)
    assert live.metric("error_rate", 10, now=103.0) == pytest.approx(0.25)


def test_a_record_waits_until_its_gaps_are_written(tmp_path):
    write(tmp_path, (100.0, 50.0, None), (100.5, 70.0, None))
    itl = next(tmp_path.glob("*.itl"))
    itl.write_bytes(itl.read_bytes()[:4])  # the second record's gap is not on disk yet
    live = LiveSamples(tmp_path, keep_s=30)
    live.refresh(now=102.0)
    assert live.metric("ttft_ms.p99", 10, now=102.0) == pytest.approx(50.0)


def test_live_windows_forget_old_samples(tmp_path):
    live = LiveSamples(tmp_path, keep_s=5)
    write(tmp_path, (100.0, 5000.0, None), (110.0, 50.0, None))
    live.refresh(now=111.0)
    assert live.metric("ttft_ms.p99", 3, now=111.0) == pytest.approx(50.0)
    assert live.metric("ttft_ms.p99", 3, now=200.0) is None  # nothing ended in the window: unknown, not breached


def test_a_metric_condition_is_breached_only_past_its_bound(tmp_path):
    live = LiveSamples(tmp_path, keep_s=30)
    write(tmp_path, (100.0, 400.0, None), (100.1, 420.0, None))
    live.refresh(now=101.0)
    high = Condition("slow", "metric", metric="ttft_ms.p50", above=300, window_s=5)
    low = Condition("fast", "metric", metric="ttft_ms.p50", above=500, window_s=5)
    assert breach(high, live, now=101.0) == "ttft_ms.p50 = 410 (ttft_ms.p50 over 5s above 300)"
    assert breach(low, live, now=101.0) is None


class Prometheus(BaseHTTPRequestHandler):
    body: ClassVar[dict] = {}

    def do_GET(self):
        payload = json.dumps(type(self).body).encode()
        self.send_response(200 if type(self).body.get("status") == "success" else 400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Prometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Condition("p", "prometheus", above=1, url=f"http://127.0.0.1:{server.server_address[1]}", query="up")
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ({"resultType": "scalar", "result": [1700000000.1, "4.5"]}, 4.5),
        ({"resultType": "vector", "result": [{"metric": {}, "value": [1700000000.1, "0.25"]}]}, 0.25),
    ],
)
def test_a_prometheus_scalar_or_single_sample_vector_is_a_value(prometheus, data, value):
    Prometheus.body = {"status": "success", "data": data}
    assert prometheus_value(prometheus) == value


@pytest.mark.parametrize(
    "body",
    [
        {"status": "success", "data": {"resultType": "vector", "result": []}},
        {"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}},
        {"status": "success", "data": {"resultType": "scalar", "result": [1, "NaN"]}},
        {"status": "error", "errorType": "bad_data", "error": "parse error"},
    ],
)
def test_a_prometheus_answer_that_is_not_one_number_is_a_probe_error(prometheus, body):
    Prometheus.body = body
    with pytest.raises(ProbeError):
        prometheus_value(prometheus)


def test_an_unreachable_probe_breaches_its_condition():
    from chaoslib_ext._readiness import free_port

    c = Condition("health", "http", url=f"http://127.0.0.1:{free_port()}/", timeout_s=0.5)
    assert "GET http://127.0.0.1:" in (breach(c, LiveSamples.__new__(LiveSamples), now=0.0) or "")


def test_a_stall_is_no_throughput_but_an_unknown_latency(tmp_path):
    live = LiveSamples(tmp_path, keep_s=30)
    write(tmp_path, (100.0, 50.0, None))
    live.refresh(now=130.0)
    assert live.metric("output_throughput_tps", 5, now=130.0) == 0.0
    assert live.metric("request_throughput_rps", 5, now=130.0) == 0.0
    assert live.metric("ttft_ms.p99", 5, now=130.0) is None


def test_a_metric_condition_waits_for_a_whole_measured_window(tmp_path):
    from chaoslib_ext.run.context import RunContext
    from chaoslib_ext.run.rundir import RunDir
    from chaoslib_ext.safeguards.monitor import Monitor

    run = RunContext(RunDir(tmp_path), "sandbox")
    monitor = Monitor(run, parse({"name": "stalled", "metric": "output_throughput_tps", "window": "5s", "below": 1}))
    assert monitor.check(now=1000.0) is False  # no load yet: nothing measured
    run.timeline.record_load_started("http://127.0.0.1:1", 1, 2.0, at=1000.0)
    assert monitor.check(now=1006.0) is False  # 4 s measured, the window is 5 s
    assert monitor.check(now=1007.5) is True  # 5.5 s of no token at all
    assert run.stopped
    [trip] = [e for e in run.timeline.events() if e["kind"] == "safeguard_tripped"]
    assert trip["reason"] == "output_throughput_tps = 0 (output_throughput_tps over 5s below 1)"
