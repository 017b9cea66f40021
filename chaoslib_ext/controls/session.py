"""What a run holds open in its own process from its start to its end: the control endpoint, the gate
between the method's steps, the watch on the abort lock (taken while the run runs: it aborts) and, in
a game day, the record written as it happens, the baseline's preflight and the watch on the console
(gone: the run aborts, so nothing stays broken behind a console that was killed).

    configuration:
      chaosllm_control: 127.0.0.1:0       # where the endpoint listens (--control-host, --control-port)
      chaosllm_control_token: {env: VAR}  # its bearer token: needed beyond loopback (--control-token-env)
      chaosllm_approve: each              # every step of the method waits for approval (--approve each)
      chaosllm_gameday: {facilitator: ana, scribe: bo, observers: [cy], console_pid: 4242}
      chaosllm_pushgateway: http://pushgateway:9091   # the run's metrics pushed when it is judged
      chaosllm_metrics_linger: 15s        # the endpoint (and /metrics) stays up this long after the verdict
      chaosllm_grafana: {url: https://grafana:3000, token: {env: GRAFANA_TOKEN}}   # a region per fault
      chaosllm_otlp: {endpoint: http://collector:4318, sample: 0.05}   # spans of the run, its steps, faults
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubernetes.config.config_exception import ConfigException

from chaoslib_ext import secrets
from chaoslib_ext._processes import ProcessRecord, alive, start_ticks
from chaoslib_ext.controls import lock
from chaoslib_ext.controls.abort import abort
from chaoslib_ext.controls.annotations import GRAFANA_KEY, Annotator, GrafanaSpec
from chaoslib_ext.controls.cluster import ClusterWatch
from chaoslib_ext.controls.endpoint import CONTROL_KEY, TOKEN_KEY, Endpoint, parse_bind
from chaoslib_ext.controls.exporter import PUSHGATEWAY_KEY, Exporter
from chaoslib_ext.controls.gate import Gate
from chaoslib_ext.controls.live import LiveStatus
from chaoslib_ext.controls.settings import APPROVE_KEY, LINGER_KEY, SESSION_KEYS, configuration_problems
from chaoslib_ext.controls.tracing import OTLP_KEY, OtlpSpec, RunTracer
from chaoslib_ext.durations import parse_duration
from chaoslib_ext.exceptions import ChaosLLMError, SpecError, TargetError
from chaoslib_ext.gameday.postmortem import write_postmortem
from chaoslib_ext.gameday.record import GAMEDAY_KEY, GameDay, Record
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.samples import read_samples
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.scrape.scraper import Scraper, Sources, pod_sources, sources_of
from chaoslib_ext.verdict.spec import Hypothesis
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["LOCK_POLL_S", "Session", "close_session", "open_session", "session_of"]

log = logging.getLogger("chaoslib_ext")
LOCK_POLL_S = 2.0
RECORD_EVERY_S = 1.0
ANNOTATE_EVERY_S = 0.5
#: a game day's baseline must answer (error rate at most this) over the preflight window before a step runs
HEALTHY_ERROR_RATE = 0.01


@dataclass
class Session:
    run: RunContext
    gate: Gate
    endpoint: Endpoint
    record: Record | None = None  # a game day's
    scraper: Scraper | None = None  # the server's own metrics, when the target names where they are
    exporter: Exporter | None = None  # the run as Prometheus metrics (GET /metrics)
    pushgateway: str | None = None
    linger_s: float = 0.0
    annotator: Annotator | None = None  # a Grafana region per fault
    tracer: RunTracer | None = None  # OpenTelemetry spans of the run
    cluster: ClusterWatch | None = None  # a cluster target's pods, on the timeline
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.endpoint.start()
        if self.scraper is not None:
            self.scraper.start()
        if self.cluster is not None:
            self.cluster.start()
        if self.annotator is not None or self.tracer is not None:
            threading.Thread(target=self._keep_fault_marks, name="chaosllm-fault-marks", daemon=True).start()
        threading.Thread(target=self._watch_lock, name="chaosllm-lock-watch", daemon=True).start()
        if self.record is not None:
            threading.Thread(target=self._keep_record, name="chaosllm-gameday-record", daemon=True).start()

    def stop_scraping(self) -> None:
        """The last scrape (and read of the cluster), once the load stopped (the end of the last phase);
        before the reports."""
        if self.scraper is not None:
            self.scraper.stop()
            self.scraper = None
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None

    def stop(self, summary: RunSummary | None = None) -> None:
        """Stop watching; a game day's record gets its last events, its outcome and the postmortem; the
        verdicts go to /metrics (and the Pushgateway), which stays up ``linger_s`` for a last scrape."""
        self.stop_scraping()
        self._stop.set()
        if self.annotator is not None:
            self.annotator.sync()  # the true end of every region (a removal at the end, an abort's)
        if self.tracer is not None:
            self.tracer.finish()
        if self.exporter is not None and summary is not None:
            self.exporter.finish(summary)
            if self.pushgateway:
                try:
                    self.exporter.push(self.pushgateway)
                except ChaosLLMError as exc:
                    log.error("%s", exc)
            if self.linger_s > 0:
                log.info("keeping /metrics up %.0fs for a last scrape", self.linger_s)
                time.sleep(self.linger_s)
        if self.record is not None:
            self._update_record()
            if summary is not None:
                self.record.outcome = dict(summary.outcome.to_json())
                self.record.write()
                table = SampleTable.from_samples(read_samples(self.run.run_dir.samples))
                write_postmortem(self.record.folder, self.record, summary, table)
        self.endpoint.stop()

    def _keep_fault_marks(self) -> None:
        """The faults' Grafana regions and spans, as they are injected and removed."""
        while not self._stop.wait(ANNOTATE_EVERY_S):
            for keeper in (self.annotator, self.tracer):
                try:
                    if keeper is not None:
                        keeper.sync()
                except Exception:  # never stops the run; the next round tries again
                    log.exception("the faults' %s could not be kept", type(keeper).__name__)

    def _update_record(self) -> None:
        assert self.record is not None
        live = self.endpoint.live
        self.record.update(self.run.timeline.events(), lambda at: observed(live.metrics_at(at), live.window_s))

    def _keep_record(self) -> None:
        """The record as it happens; and the console that drives the game day: gone, the run aborts."""
        assert self.record is not None
        console = self.record.roles.console_pid
        try:
            watched = ProcessRecord("console", console, start_ticks(console), (), "") if console else None
        except ProcessLookupError:  # gone before the run started
            watched = ProcessRecord("console", console or 0, 0, (), "")
        while not self._stop.wait(RECORD_EVERY_S):
            try:
                self._update_record()
            except Exception:  # the record must never stop the run; the next round tries again
                log.exception("the game day record could not be written")
            if watched is not None and not alive(watched) and not self.run.stopped:
                abort(self.run, "the console's end", f"the game day console (pid {console}) exited")

    def baseline_preflight(self, window_s: float) -> bool:
        """A game day's baseline, healthy for ``window_s`` before any step (executed, not ticked): requests
        answered, errors at most 1 %, every baseline hypothesis holding live. Recorded; False stops the run."""
        if not self.run.wait(window_s):
            return False
        status = self.endpoint.live.snapshot(min_age_s=0.0)
        metrics, failed = status["metrics"], []
        if not metrics.get("requests"):
            failed.append(f"no request ended in the last {window_s:g}s")
        elif (metrics.get("error_rate") or 0.0) > HEALTHY_ERROR_RATE:
            failed.append(f"error rate {metrics['error_rate']:.1%} > {HEALTHY_ERROR_RATE:.0%}")
        failed += [f"{h['name']}: {h['metric']} = {h['live']:.4g}, expect {h['expect']}"
                   for h in status["hypotheses"] if h["phase"] == "baseline" and h["ok"] is False]  # fmt: skip
        detail = "; ".join(failed) or f"{observed(metrics, window_s)}"
        self.run.timeline.record_preflight("baseline healthy", f"the last {window_s:g}s", not failed, detail)
        if failed:
            self.run.stop("preflight", f"the baseline was not healthy: {detail}")
        return not failed

    def _watch_lock(self) -> None:
        """The abort lock taken while the run runs (here or on its cluster) aborts it."""
        complained = False
        while not self._stop.wait(LOCK_POLL_S) and not self.run.stopped:
            try:
                found = lock.held(self.run.target())
            except ChaosLLMError as exc:
                if not complained:
                    log.warning("the abort lock cannot be read: %s (will try again)", exc)
                    complained = True
                continue
            if found is not None:
                abort(self.run, "the abort lock", found.reason, found.who)
                return


T = TypeVar("T")
_SESSIONS: dict[str, Session] = {}


def open_session(
    run: RunContext,
    method: Sequence[Mapping[str, Any]],
    configuration: Mapping[str, Any],
    hypotheses: tuple[Hypothesis, ...],
    title: str = "",
) -> Session:
    """Start the run's endpoint and lock watch; raises SpecError for any session key that does not parse
    (controls.settings), before anything starts."""
    problems = configuration_problems(configuration)
    if problems:
        raise problems[0]
    host, port = parse_bind(configuration.get(CONTROL_KEY))
    token = _optional(configuration, TOKEN_KEY, lambda v: secrets.resolve(secrets.parse_credential(v, TOKEN_KEY)))
    if token is not None:
        secrets.register([token])
    gate = Gate(run, method, str(configuration.get(APPROVE_KEY) or "none"))
    name = title or run.run_dir.run_id
    record = None
    if configuration.get(GAMEDAY_KEY) is not None:
        sheet = [{"name": h.name, "phase": h.phase, "metric": h.metric, "expect": h.expect.text} for h in hypotheses]
        record = Record(run.run_dir.gameday, name, GameDay.parse(configuration[GAMEDAY_KEY]), sheet)
    cluster = _cluster_watch(run)
    sources = _metrics_sources(run, cluster)
    scraper = Scraper(run.run_dir.server_metrics, run.timeline, sources) if sources is not None else None
    exporter = Exporter(run, name)
    endpoint = Endpoint(run, gate, LiveStatus(run, hypotheses, gate), host, port, token, exporter.render)
    linger = parse_duration(str(configuration.get(LINGER_KEY) or "0s"), LINGER_KEY)
    pushgateway = str(configuration[PUSHGATEWAY_KEY]) if configuration.get(PUSHGATEWAY_KEY) else None
    annotator = _optional(configuration, GRAFANA_KEY, lambda v: Annotator(run, GrafanaSpec.parse(v), name))
    tracer = _optional(configuration, OTLP_KEY, lambda v: RunTracer(run, OtlpSpec.parse(v), name))
    session = Session(run, gate, endpoint, record, scraper, exporter, pushgateway, linger, annotator, tracer, cluster)
    session.start()
    _SESSIONS[str(run.run_dir.path)] = session
    return session


def _optional(configuration: Mapping[str, Any], key: str, build: Callable[[Any], T]) -> T | None:
    """What `build` makes of configuration[key], or None when the key is absent; its errors (a credential
    that cannot be resolved here) name the key and what it accepts (controls.settings)."""
    if configuration.get(key) is None:
        return None
    try:
        return build(configuration[key])
    except TargetError as exc:
        raise SpecError(key, str(exc), SESSION_KEYS[key][1]) from exc


def _cluster_watch(run: RunContext) -> ClusterWatch | None:
    """The watch of a cluster target's pods (None for a target without Chaos Mesh or pod selectors)."""
    try:
        target = run.target()
        watch = ClusterWatch(run, target) if target.chaos_mesh is not None else None
    except (ChaosLLMError, OSError, ValueError, ConfigException) as exc:  # a bad kubeconfig: the faults say more
        log.warning("the cluster's pods will not be watched: %s", exc)
        return None
    return watch if watch is not None and watch.watching else None


def _metrics_sources(run: RunContext, cluster: ClusterWatch | None) -> Sources | None:
    """What each scrape round reads: the target's metrics URLs, and on a cluster each pod of a service
    whose metrics say ``{port, path}`` (as the cluster watch last read them); None: nothing to scrape."""
    try:
        target = run.target()
    except ChaosLLMError:
        return None  # the activities say what is wrong with the target
    fixed = sources_of(target)
    per_pod = {n: s.metrics_pods for n, s in target.services.items() if s.metrics_pods is not None}
    if cluster is None or not per_pod:
        return (lambda: fixed) if fixed else None

    def sources() -> dict[str, str]:
        pods = {k: v for n, m in per_pod.items() for k, v in pod_sources(n, *m, cluster.pod_ips(n)).items()}
        return {**fixed, **pods}

    return sources


def session_of(run: RunContext) -> Session | None:
    return _SESSIONS.get(str(run.run_dir.path))


def close_session(run: RunContext, summary: RunSummary | None = None) -> None:
    found = _SESSIONS.pop(str(run.run_dir.path), None)
    if found is not None:
        found.stop(summary)


def observed(m: Mapping[str, float | None], window_s: float) -> str:
    """What the client measured over a window, in one line (a record's "observed")."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    errors = "-" if m.get("error_rate") is None else f"{m['error_rate']:.1%}"
    ttft = f"TTFT p50/p99 {ms(m.get('ttft_ms.p50'))}/{ms(m.get('ttft_ms.p99'))} ms"
    tps = m.get("output_throughput_tps") or 0.0
    return f"{ttft}, ITL p99 {ms(m.get('itl_ms.p99'))} ms, {tps:.0f} tok/s, errors {errors} (last {window_s:g}s)"
