"""The run as Prometheus metrics: ``GET /metrics`` on the run's control endpoint, for the dashboards a
team already has (and a Pushgateway at the end, for runs shorter than a scrape interval).

    chaosllm_run_info{experiment, run_id}             1
    chaosllm_phase{phase}                             1 for the phase the run is in, 0 for the others
    chaosllm_fault_active{fault, family, target}      1 while injected, 0 once removed
    chaosllm_client_ttft_seconds                      histogram of the client's TTFT (as every run measures it)
    chaosllm_client_itl_seconds                       histogram of the client's inter-token gaps
    chaosllm_requests_total{outcome}                  requests finished, ok or error
    chaosllm_errors_total{class}                      failed requests by class (chaoslib_ext.samples.errors)
    chaosllm_hypothesis_ok{name}                      1 passed, 0 not: set once the run is judged

The client's figures are read from the run's samples as they land (only what arrived since the last
scrape is read), so a scrape costs what happened since the previous one.
"""

from __future__ import annotations

import threading
from pathlib import Path

import requests
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from chaoslib_ext.controls.live import phase_now
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.samples import SampleFile, sample_files, to_samples
from chaoslib_ext.samples.errors import error_class
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["PUSHGATEWAY_KEY", "Exporter"]

PUSHGATEWAY_KEY = "chaosllm_pushgateway"  # a Pushgateway's URL: the run's metrics pushed when it ends
_PHASES = ("baseline", "fault", "recovery")
_TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
_ITL_BUCKETS = (0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)


class Exporter:
    def __init__(self, run: RunContext, experiment: str) -> None:
        self.run = run
        self.registry = r = CollectorRegistry()
        Gauge("chaosllm_run_info", "The run (always 1).", ["experiment", "run_id"], registry=r).labels(
            experiment, run.run_dir.run_id
        ).set(1)
        self._phase = Gauge("chaosllm_phase", "1 for the phase the run is in.", ["phase"], registry=r)
        self._fault = Gauge("chaosllm_fault_active", "1 while the fault is injected.", ["fault", "family", "target"],
                            registry=r)  # fmt: skip
        self._ttft = Histogram("chaosllm_client_ttft_seconds", "The client's time to first token.",
                               buckets=_TTFT_BUCKETS, registry=r)  # fmt: skip
        self._itl = Histogram("chaosllm_client_itl_seconds", "The client's gaps between tokens.", buckets=_ITL_BUCKETS,
                              registry=r)  # fmt: skip
        self._requests = Counter("chaosllm_requests", "Requests finished.", ["outcome"], registry=r)
        self._errors = Counter("chaosllm_errors", "Failed requests by class.", ["class"], registry=r)
        self._hypothesis = Gauge("chaosllm_hypothesis_ok", "1 when the hypothesis passed.", ["name"], registry=r)
        self._files: dict[Path, SampleFile] = {}
        self._lock = threading.Lock()

    def render(self) -> str:
        """The exposition now (what landed since the last one read first)."""
        with self._lock:
            self._update()
            return generate_latest(self.registry).decode()

    def _update(self) -> None:
        phase, _ = phase_now(self.run.timeline.events(), float("inf"))
        for name in _PHASES:
            self._phase.labels(name).set(1 if name == phase else 0)
        for e in self.run.ledger.entries():
            if e.injected_at is not None:
                self._fault.labels(e.id, e.family, e.target).set(1 if e.outstanding else 0)
        for found in sample_files(self.run.run_dir.samples):
            reader = self._files.setdefault(found.stem, found)
            for s in to_samples(*reader.read_new()):
                self._requests.labels("ok" if s.ok else "error").inc()
                if not s.ok:
                    self._errors.labels(error_class(s.status, s.error or "")).inc()
                if s.ttft_ms is not None:
                    self._ttft.observe(s.ttft_ms / 1000.0)
                for gap in s.itl_ms:
                    self._itl.observe(gap / 1000.0)

    def finish(self, summary: RunSummary) -> None:
        """The verdicts, once judged; pushed to a Pushgateway when the run names one."""
        with self._lock:
            self._update()
            for v in summary.hypotheses:
                self._hypothesis.labels(v.name).set(1 if v.passed else 0)

    def push(self, url: str) -> None:
        """PUT the run's metrics to a Pushgateway (group: job chaosllm, run_id); raises TargetError."""
        body = self.render().encode()
        target = f"{url.rstrip('/')}/metrics/job/chaosllm/run_id/{self.run.run_dir.run_id}"
        try:
            resp = requests.put(target, data=body, headers={"Content-Type": "text/plain; version=0.0.4"}, timeout=10)
        except requests.RequestException as exc:
            raise TargetError(f"the Pushgateway at {url} is unreachable: {exc}") from exc
        if resp.status_code >= 300:
            raise TargetError(f"the Pushgateway at {url} refused the run's metrics: HTTP {resp.status_code}")
