"""Start and stop a run's load, and mark both in its timeline: shared by the chaosllm control and
``chaosllm load`` so an experiment and a plain benchmark measure exactly alike."""

from __future__ import annotations

import logging
import math
import time

from chaoslib_ext.exceptions import ChaosLLMError, LoadError, SpecError
from chaoslib_ext.load.health import HEARTBEATS, LoadHealth, Verdict, expected_processes
from chaoslib_ext.load.runner import LoadProcess, start_load
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.run.context import RunContext

__all__ = ["MAX_LOAD_S", "active_load", "begin_load", "effective_load", "end_load", "warmup_s"]

log = logging.getLogger("chaoslib_ext.load")

#: Load stops by itself this long after it started, even if nothing stops it (a killed runner).
MAX_LOAD_S = 4 * 3600.0
#: The load each run of this process started, by run directory: probes of the run call the same endpoint.
_ACTIVE: dict[str, LoadSpec] = {}
#: The watch on each run's load processes (chaoslib_ext.load.health), by run directory.
_HEALTH: dict[str, LoadHealth] = {}


def effective_load(run: RunContext, spec: LoadSpec) -> LoadSpec:
    """``spec`` completed from the target's gateway (address, endpoint path, model, headers, TLS) when
    it names no url of its own; raises TargetError when the target cannot be read."""
    if spec.url:
        return spec
    return spec.with_target(run.target().service("gateway"))


def active_load(run: RunContext) -> LoadSpec | None:
    """The load ``begin_load`` started for ``run`` in this process, if any."""
    return _ACTIVE.get(str(run.run_dir.path))


def warmup_s(spec: LoadSpec) -> float:
    """The spec's warmup, else long enough for every user (an open loop: every sender) to have started,
    plus two seconds."""
    if spec.warmup_s is not None:
        return spec.warmup_s
    profile = spec.profile()  # an open loop starts one sender per process at once
    return float(math.ceil(profile.users / profile.spawn_rate)) + 2.0


def begin_load(run: RunContext, spec: LoadSpec, max_run_s: float = MAX_LOAD_S, trace: str | None = None) -> str:
    """Start the load, wait until requests succeed, let the warmup pass; returns the URL loaded.
    ``trace``: ``<trace id>:<share>``, the share of requests that carry a traceparent in that trace.

    Raises LoadError (recorded in the timeline as ``load_failed``) when it cannot reach the target.
    """
    try:
        spec = effective_load(run, spec)
        if spec.rate_share is not None:
            raise SpecError("rate", f"{spec.rate_share.text!r} was not resolved to requests/s (chaoslib_ext.sweep)")
        url = spec.endpoint_url()
        _ACTIVE[str(run.run_dir.path)] = spec
        load = start_load(spec, run.run_dir.samples, run.run_dir.load, max_run_s, trace=trace)
        if spec.workers:
            load.wait_workers(spec.workers, spec.worker_timeout_s)
        _watch_health(run, spec)
        load.wait_flowing()
    except (ChaosLLMError, SpecError) as exc:
        run.timeline.record_load_failed(str(exc))
        end_load(run)
        raise LoadError(str(exc)) from exc
    warmup = warmup_s(spec)
    run.timeline.record_load_started(url, spec.users, warmup)
    log.info("load flowing against %s; warming up for %gs", url, warmup)
    time.sleep(warmup)
    return url


def _watch_health(run: RunContext, spec: LoadSpec) -> None:
    """From now on a load process that dies stops the run (see chaoslib_ext.load.health)."""

    def died(verdict: Verdict) -> None:
        log.error("load process %s died: %s; stopping the run", verdict.process, verdict.error)
        run.timeline.record_load_died(verdict.process, verdict.error, verdict.last_beat_at)
        run.stop("load", verdict.error, process=verdict.process)

    health = LoadHealth(run.run_dir.load / HEARTBEATS, expected_processes(spec.processes, spec.workers), died)
    _HEALTH[str(run.run_dir.path)] = health
    health.start()


def end_load(run: RunContext) -> None:
    """Stop the run's Locust if it runs (users finish the request in hand); marks ``load_stopped``."""
    _ACTIVE.pop(str(run.run_dir.path), None)  # the run's probes are over: Chaos Toolkit ran them before this
    health = _HEALTH.pop(str(run.run_dir.path), None)
    if health is not None:
        health.stop()
    load = LoadProcess.find(run.run_dir.load, run.run_dir.samples)
    if load is None:
        return
    if run.timeline.has("load_started") and not run.timeline.has("load_stopped"):
        run.timeline.record_load_stopped()
    load.stop()
