"""The verdict stage: a run's samples measured per phase, every hypothesis judged, the outcome decided,
into one :class:`~chaoslib_ext.verdict.summary.RunSummary`. Reports only render what this made."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from chaoslib_ext._jsonfile import JsonObject, read_json
from chaoslib_ext.ctk import Journal
from chaoslib_ext.metrics import Window, distribution, phase_windows, window_metrics
from chaoslib_ext.metrics.gaps import GapIndex, bucket_grid
from chaoslib_ext.metrics.goodput import GoodputSLO
from chaoslib_ext.metrics.record import PhaseMetrics
from chaoslib_ext.metrics.recovery import (
    DEFAULT_RECOVERY,
    RecoveryPolicy,
    RecoveryTime,
    recovery_time,
    recovery_windows,
)
from chaoslib_ext.metrics.server import Scrape, read_scrapes, server_view
from chaoslib_ext.metrics.validity import DEFAULT_POLICY, Validity, ValidityPolicy, run_validity
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.environment import environment
from chaoslib_ext.run.ledger import LedgerEntry
from chaoslib_ext.samples.host import STARVED_STEAL, read_host
from chaoslib_ext.samples.lag import read_lag
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.verdict.cluster import cluster_recovery
from chaoslib_ext.verdict.evaluate import Verdict, evaluate, no_data, not_measurable
from chaoslib_ext.verdict.evidence import fault_evidence
from chaoslib_ext.verdict.outcome import decide
from chaoslib_ext.verdict.score import resilience_score
from chaoslib_ext.verdict.spec import Hypothesis
from chaoslib_ext.verdict.summary import FaultRecord, LoadHost, RunSummary

__all__ = ["RunSamples", "judge_run", "measure"]


@dataclass(frozen=True)
class RunSamples:
    """The raw samples of a run and the windows they are measured in."""

    table: SampleTable
    window: tuple[float, float] | None  # load start + warmup, load stop
    windows: dict[str, Window]  # per phase; empty when the load never ran
    index: GapIndex  # the gaps of every phase and hypothesis window, and tokens per time bucket
    buckets: tuple[float, float, int]  # (start, width, count) of the time series
    removed_at: float | None = None  # the last fault's removal: recovery times count from it
    scrapes: tuple[Scrape, ...] = ()  # the server's own metrics, scraped during the run (metrics.server)
    #: prometheus hypotheses' values per phase (or why none), fetched after the run: ``prometheus.json``
    queried: JsonObject = field(default_factory=dict)


def measure(run: RunContext, hypotheses: Sequence[Hypothesis]) -> RunSamples:
    """Read the samples and index their gaps in one pass for every window the verdict will ask about."""
    table = SampleTable.from_directory(run.run_dir.samples)
    window = run.timeline.measure_window()
    faults = run.timeline.fault_intervals()
    windows = phase_windows(window[0], window[1], faults) if window else {}
    asked = list(windows.values()) + [
        windows[h.phase].after(h.after_s) for h in hypotheses if h.after_s and h.phase in windows
    ]
    removed_at = max((f.removed_at for f in faults if f.removed_at is not None), default=None)
    policies = [DEFAULT_RECOVERY, *(h.recovery for h in hypotheses if h.recovery is not None)]
    asked += recovery_windows(removed_at, window[1] if window else None, policies)
    buckets = bucket_grid(*window) if window else (0.0, 1.0, 0)
    scrapes = tuple(read_scrapes(run.run_dir.server_metrics))
    queried = read_json(run.run_dir.queries) if run.run_dir.queries.is_file() else {}
    index = GapIndex(table, asked, buckets)
    return RunSamples(table, window, windows, index, buckets, removed_at, scrapes, dict(queried))


def judge_run(
    run: RunContext,
    samples: RunSamples,
    hypotheses: Sequence[Hypothesis],
    *,
    title: str,
    journal: Journal | None,
    goodput: GoodputSLO | None = None,
    load: JsonObject | None = None,
    policy: ValidityPolicy = DEFAULT_POLICY,
) -> RunSummary:
    """Measure every phase, judge every hypothesis and decide the outcome of ``run``; a hypothesis on a
    phase the load client could not measure (``policy``, chaoslib_ext.metrics.validity) is an error."""
    measured: _Measured = {}  # the recovery windows' metrics: every recovered metric reads the same windows
    phases, verdicts = _judge(samples, hypotheses, goodput, measured)
    recovery = _recoveries(samples, phases, goodput, measured) if samples.window else {}
    directory = run.run_dir.samples
    validity = run_validity(samples.windows, read_host(directory), read_lag(directory), policy)
    verdicts = _void(verdicts, validity)
    events = run.timeline.events()
    overhead = samples.table.ttft_ms - samples.table.server_ttft_ms
    faults = tuple(_fault_record(e, samples.table) for e in run.ledger.entries())
    missed = [reason for f in faults if (reason := f.missed) is not None]
    return RunSummary(
        run_id=run.run_dir.run_id,
        title=title,
        experiment=title,
        target=run.target_ref,
        started_at=float(events[0]["at"]) if events else None,
        written_at=time.time(),
        outcome=decide(events, verdicts, journal, missed),
        load=load,
        window=samples.window,
        phases=phases,
        hypotheses=verdicts,
        faults=faults,
        client_overhead_ms=distribution(overhead) if np.any(~np.isnan(overhead)) else None,
        load_host=_load_host(run, samples.windows),
        validity=validity if validity.phases else None,
        resilience=resilience_score(phases),
        recovery=recovery,
        environment=environment(run.run_dir.environment),
        cluster=cluster_recovery(events, samples.removed_at),
    )


#: window -> its metrics, measured once for every metric whose recovery reads it
_Measured = dict[Window, PhaseMetrics]


def _judge(
    samples: RunSamples, hypotheses: Sequence[Hypothesis], goodput: GoodputSLO | None, measured: _Measured
) -> tuple[dict[str, PhaseMetrics], tuple[Verdict, ...]]:
    if samples.window is None:
        return {}, tuple(no_data(h, "load never ran: nothing was measured") for h in hypotheses)
    table, windows, index = samples.table, samples.windows, samples.index
    phases = {name: window_metrics(table, w, goodput, index) for name, w in windows.items()}
    if samples.scrapes:  # the server's own view of each phase, beside the client's
        phases = {n: replace(p, server=server_view(samples.scrapes, windows[n].intervals)) for n, p in phases.items()}

    def trimmed(phase: str, after_s: float) -> PhaseMetrics:
        return window_metrics(table, windows[phase].after(after_s), goodput, index)

    def recovered(h: Hypothesis) -> RecoveryTime:
        metric, policy = h.recovered_metric, h.recovery
        assert metric is not None
        assert policy is not None
        return _recovery(samples, phases, goodput, measured, metric, policy)

    def queried(h: Hypothesis, phase: str) -> float | str:
        found = samples.queried.get(h.name)
        value = found.get(phase) if isinstance(found, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return str(value.get("error")) if isinstance(value, dict) else "not queried (see prometheus.json)"

    return phases, tuple(evaluate(h, phases, trimmed, recovered, queried) for h in hypotheses)


#: the recovery times every summary reports (with the default windows)
RECOVERY_METRICS = ("ttft_ms.p99", "itl_ms.p99", "output_throughput_tps")


def _recoveries(
    samples: RunSamples, phases: dict[str, PhaseMetrics], goodput: GoodputSLO | None, measured: _Measured
) -> dict[str, RecoveryTime]:
    if samples.removed_at is None:
        return {}
    return {m: _recovery(samples, phases, goodput, measured, m, DEFAULT_RECOVERY) for m in RECOVERY_METRICS}


def _recovery(
    samples: RunSamples, phases: dict[str, PhaseMetrics], goodput: GoodputSLO | None, measured: _Measured,
    metric: str, policy: RecoveryPolicy,
) -> RecoveryTime:  # fmt: skip
    """``metric``'s recovery time after the last removal, judged against its baseline phase value."""
    baseline = phases["baseline"].value(metric) if "baseline" in phases else None
    end_at = samples.window[1] if samples.window else None

    def value_in(window: Window) -> float | None:
        if window not in measured:
            measured[window] = window_metrics(samples.table, window, goodput, samples.index)
        return measured[window].value(metric)

    return recovery_time(metric, baseline, value_in, samples.removed_at, end_at, policy)


def _fault_record(entry: LedgerEntry, table: SampleTable) -> FaultRecord:
    evidence = fault_evidence(table, entry.injected_at, entry.removed_at, entry.details, entry.spec)
    return FaultRecord.of(entry, evidence)


def _void(verdicts: tuple[Verdict, ...], validity: Validity) -> tuple[Verdict, ...]:
    """The verdicts, those on a phase (or against a reference phase) that was not measurable voided."""
    bad = validity.not_measurable()

    def judged(v: Verdict) -> Verdict:
        phase = next((p for p in (v.phase, v.reference_phase) if p in bad), None)
        return v if phase is None or v.status == "no-data" else not_measurable(v, phase, bad[phase])

    return tuple(judged(v) for v in verdicts)


def _load_host(run: RunContext, windows: dict[str, Window]) -> LoadHost | None:
    """The load generator's CPU per phase; None when it was not recorded."""
    series = read_host(run.run_dir.samples)
    if series is None:
        return None
    return LoadHost(STARVED_STEAL, {name: series.during(w.intervals).summary() for name, w in windows.items()})
