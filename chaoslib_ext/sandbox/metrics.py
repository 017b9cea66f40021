"""The sandbox gateway's own view, as a serving engine exports it: ``GET /metrics`` in Prometheus's text
format, under vLLM's names, so a run reads the sandbox the way it reads a real vLLM server.

    vllm:time_to_first_token_seconds     histogram  request arrival -> first token written
    vllm:inter_token_latency_seconds     histogram  between two tokens written
    vllm:e2e_request_latency_seconds     histogram  request arrival -> last token written
    vllm:request_success_total           counter    requests answered to their end
    vllm:num_requests_running            gauge      requests being answered now
    vllm:num_requests_waiting            gauge      requests whose first token has not come yet
    sandbox_traced_requests_total        counter    requests that came with a W3C traceparent (ours, not vLLM's)

Times are the gateway's: what happens before a request reaches it (the network, the fault proxy in
front of it) is outside them; what it waits for (Redis, Kafka, the decoder) is inside. Buckets are
vLLM's for TTFT and ITL.
"""

from __future__ import annotations

import re
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["RequestClock", "ServerMetrics"]

_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                 20.0, 40.0, 80.0)  # fmt: skip
_ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0)
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]")
_E2E_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0)


class ServerMetrics:
    def __init__(self, model: str) -> None:
        self.registry = CollectorRegistry()
        labels = ["model_name"]
        self.ttft = Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                              labels, buckets=_TTFT_BUCKETS, registry=self.registry).labels(model)  # fmt: skip
        self.itl = Histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
                             labels, buckets=_ITL_BUCKETS, registry=self.registry).labels(model)  # fmt: skip
        e2e = "Histogram of end to end request latency in seconds."
        self.e2e = Histogram("vllm:e2e_request_latency_seconds", e2e, labels, buckets=_E2E_BUCKETS,
                             registry=self.registry).labels(model)  # fmt: skip
        self.success = Counter("vllm:request_success", "Count of successfully processed requests.", labels,
                               registry=self.registry).labels(model)  # fmt: skip
        self.running = Gauge("vllm:num_requests_running", "Number of requests being answered.", labels,
                             registry=self.registry).labels(model)  # fmt: skip
        self.waiting = Gauge("vllm:num_requests_waiting", "Number of requests waiting for their first token.",
                             labels, registry=self.registry).labels(model)  # fmt: skip
        self.traced = Counter("sandbox_traced_requests", "Requests that came with a W3C traceparent header.",
                              registry=self.registry)  # fmt: skip

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def clock(self, traceparent: str | None = None) -> RequestClock:
        """A request's clock (one that came with a valid ``traceparent`` is counted)."""
        if traceparent is not None and _TRACEPARENT.fullmatch(traceparent):
            self.traced.inc()
        return RequestClock(self)


class RequestClock:
    """One request's times, from its arrival: call :meth:`token` at each token written, :meth:`done` at its
    end (answered or not)."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._m = metrics
        self._start = self._last = time.monotonic()
        self._tokens = 0
        self._ended = False
        metrics.running.inc()
        metrics.waiting.inc()

    def token(self) -> None:
        now = time.monotonic()
        if self._tokens == 0:
            self._m.ttft.observe(now - self._start)
            self._m.waiting.dec()
        else:
            self._m.itl.observe(now - self._last)
        self._tokens += 1
        self._last = now

    def done(self, answered: bool) -> None:
        if self._ended:
            return
        self._ended = True
        if self._tokens == 0:
            self._m.waiting.dec()
        self._m.running.dec()
        if answered:
            self._m.e2e.observe(self._last - self._start)
            self._m.success.inc()
