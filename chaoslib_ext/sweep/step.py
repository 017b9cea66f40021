"""One step of a sweep: an open loop at one rate, in its own run directory, judged against the SLOs.

A step is ``chaosllm load`` at that rate (the same Locust, samples, summary.json and report.md), and
then: each SLO's one-sided bootstrap bound (compare's Poisson bootstrap over 1-second groups of
requests, starved seconds of the load generator left out) and the step's saturation. A step is
*saturated* when the server fell behind its offered rate: completions below ``saturation`` x the
arrivals due in the step (those of its last median E2EL, at most 10 % of it, left out; the offered
rate counts the arrivals still in flight when the step's load stopped), arrivals refused by a full
``max_concurrency``, TTFT from the scheduled send time climbing through the step (the median of its
last third over twice that of its first third, and 50 ms more), or, seen live, more than
``BACKLOG_S`` seconds of arrivals in flight (the step then ends early).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from chaoslib_ext.compare.arms import load_side
from chaoslib_ext.compare.bootstrap import interval
from chaoslib_ext.compare.verdict import Settings, estimates
from chaoslib_ext.exceptions import LoadError
from chaoslib_ext.load.arrivals import Arrivals
from chaoslib_ext.load.session import begin_load, end_load
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.metrics.record import PhaseMetrics
from chaoslib_ext.report.write import write_text_reports
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from chaoslib_ext.run.rundir import RunDir
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.sweep.spec import Slo, SweepPlan
from chaoslib_ext.verdict.judge import judge_run, measure

__all__ = ["BACKLOG_S", "SloCheck", "StepResult", "run_step", "step_spec"]

#: live: arrivals in flight beyond this many seconds' worth end a step as saturated
BACKLOG_S = 10.0
_WATCH_S = 1.0


@dataclass(frozen=True)
class SloCheck:
    slo: str
    estimate: float | None
    bound: float | None  # the one-sided bound at the plan's confidence
    met: bool


@dataclass(frozen=True)
class StepResult:
    number: int
    rate_rps: float
    run_dir: str
    offered_rps: float | None
    achieved_rps: float | None  # requests sent per second
    completed_rps: float | None  # requests completed per second
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    itl_p99_ms: float | None
    ttft_sched_p99_ms: float | None
    error_rate: float | None
    checks: tuple[SloCheck, ...]
    saturated: str | None  # why, or None
    ended_early: bool

    @property
    def passed(self) -> bool:
        return self.saturated is None and all(c.met for c in self.checks)

    def to_json(self) -> dict[str, object]:
        out = {k: v for k, v in vars(self).items() if k != "checks"}
        return {**out, "passed": self.passed, "checks": [vars(c) for c in self.checks]}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> StepResult:
        fields = {k: v for k, v in raw.items() if k not in ("passed", "checks")}
        checks = tuple(SloCheck(**c) for c in raw["checks"])  # type: ignore[attr-defined]
        return cls(**fields, checks=checks)  # type: ignore[arg-type]


def step_spec(base: LoadSpec, rate: float, plan: SweepPlan) -> LoadSpec:
    """``base`` as an open loop at ``rate`` for one step (its arrival kind and seed kept)."""
    arrivals = base.arrivals or Arrivals(rate_rps=rate)
    arrivals = replace(arrivals, rate_rps=rate, max_concurrency=arrivals.max_concurrency or plan.max_concurrency)
    return replace(base, arrivals=arrivals, warmup_s=plan.warmup_s, duration_s=plan.warmup_s + plan.step_s + 5.0)


def run_step(base: LoadSpec, rate: float, plan: SweepPlan, number: int, root: Path, target: str | None) -> StepResult:
    """Run step ``number`` at ``rate`` under ``root``; raises LoadError when the load cannot start."""
    spec = step_spec(base, rate, plan)
    run_dir = RunDir(root / f"step-{number:02d}-{rate:.4g}rps")
    run_dir.path.mkdir(parents=True, exist_ok=True)
    run = RunContext.from_configuration({RUN_DIR_KEY: str(run_dir.path), TARGET_KEY: target})
    backlog = None
    try:
        begin_load(run, spec, max_run_s=spec.duration_s or plan.step_s + 60.0)
        backlog = _watch(run, rate, plan.step_s)
    finally:
        end_load(run)
    samples = measure(run, ())
    summary = judge_run(
        run, samples, (), title=f"sweep step {number}: {rate:g} req/s", journal=None, load=spec.to_json()
    )
    write_text_reports(run, summary)
    baseline = summary.phases["baseline"]
    checks = _checks(run_dir.path, plan)
    none = None if baseline.completed else "no request completed in the step"
    saturated = backlog or none or _saturated(baseline, samples.table, plan)
    return _result(number, rate, run_dir.path, baseline, checks, saturated, backlog is not None)


def _watch(run: RunContext, rate: float, step_s: float) -> str | None:
    """Wait out the step; end it early (returning why) when arrivals pile up in flight."""
    deadline = time.monotonic() + step_s
    while time.monotonic() < deadline:
        if not run.wait(min(_WATCH_S, deadline - time.monotonic())):
            raise LoadError(f"the load stopped during the step: {run.stopped}")
        in_flight = _in_flight(run.run_dir.samples)
        if in_flight > rate * BACKLOG_S + 10:
            return f"{in_flight} requests in flight, over {BACKLOG_S:g} s of arrivals: the server fell behind"
    return None


def _in_flight(samples_dir: Path) -> int:
    """Arrivals due by now (the runner's schedule) minus those finished or refused; reads the records
    only (the gaps stay on disk)."""
    table = SampleTable.from_directory(samples_dir)
    due = int((table.scheduled_at <= time.time()).sum())
    return due - len(table.records) - int(table.not_sent_at.size)


def _checks(run_dir: Path, plan: SweepPlan) -> tuple[SloCheck, ...]:
    phase = load_side(run_dir).phases.get("baseline")
    if phase is None or not phase.requests:
        return tuple(SloCheck(s.text, None, None, False) for s in plan.slos)
    settings = Settings(metrics=tuple(s.metric for s in plan.slos), confidence=plan.confidence)
    [(point, reps)] = estimates([phase], list(settings.metrics), settings, np.random.default_rng(0))
    return tuple(_check(s, point[s.metric.key], reps[s.metric.key], plan.confidence) for s in plan.slos)


def _check(slo: Slo, point: float, reps: np.ndarray, confidence: float) -> SloCheck:
    """The one-sided ``confidence`` bound: an edge of the two-sided interval at 2 x confidence - 1."""
    two_sided = interval(float(point), reps, 2.0 * confidence - 1.0)
    bound = two_sided.high if slo.op == "<=" else two_sided.low
    return SloCheck(slo.text, two_sided.estimate, bound, slo.met(bound))


def _saturated(phase: PhaseMetrics, table: SampleTable, plan: SweepPlan) -> str | None:
    arrivals = phase.arrivals
    if arrivals is None or not arrivals.offered_rate_rps:
        return None
    if arrivals.not_sent:
        return f"{arrivals.not_sent} arrivals refused: max_concurrency {plan.max_concurrency} was full"
    completed = phase.request_throughput_rps or 0.0
    # the arrivals of the step's last E2EL cannot have completed in it: leave that edge out (at most 10 %)
    e2el_s = (arrivals.e2el_sched_ms.stat("p50") or 0.0) / 1000.0
    edge = 1.0 - min(e2el_s, 0.1 * phase.duration_s) / phase.duration_s if phase.duration_s > 0 else 1.0
    due = arrivals.offered_rate_rps * edge
    if completed < plan.saturation * due:
        return f"completed {completed:.3g} req/s of {due:.3g} offered and due (< {plan.saturation:.0%})"
    return _climbing(table, phase)


def _climbing(table: SampleTable, phase: PhaseMetrics) -> str | None:
    """TTFT from the scheduled time, first third of the step against its last third."""
    if phase.start_at is None or phase.end_at is None:
        return None
    third = (phase.end_at - phase.start_at) / 3.0
    sched_ttft = table.ttft_ms + (table.start_at - table.sched_at) * 1000.0
    ok = table.ok & np.isfinite(sched_ttft)
    first = sched_ttft[ok & (table.sched_at >= phase.start_at) & (table.sched_at < phase.start_at + third)]
    last = sched_ttft[ok & (table.sched_at >= phase.end_at - third) & (table.sched_at < phase.end_at)]
    if first.size < 5 or last.size < 5:
        return None
    a, b = float(np.median(first)), float(np.median(last))
    if b > 2.0 * a + 50.0:
        return f"TTFT from the schedule climbed within the step: median {a:.0f} ms -> {b:.0f} ms"
    return None


def _result(
    number: int,
    rate: float,
    run_dir: Path,
    phase: PhaseMetrics,
    checks: tuple[SloCheck, ...],
    saturated: str | None,
    ended_early: bool,
) -> StepResult:
    arrivals = phase.arrivals
    return StepResult(
        number=number,
        rate_rps=rate,
        run_dir=str(run_dir),
        offered_rps=arrivals.offered_rate_rps if arrivals else None,
        achieved_rps=arrivals.achieved_rate_rps if arrivals else None,
        completed_rps=phase.request_throughput_rps,
        ttft_p50_ms=phase.value("ttft_ms.p50"),
        ttft_p99_ms=phase.value("ttft_ms.p99"),
        itl_p99_ms=phase.value("itl_ms.p99"),
        ttft_sched_p99_ms=phase.value("ttft_sched_ms.p99"),
        error_rate=phase.error_rate,
        checks=checks,
        saturated=saturated,
        ended_early=ended_early,
    )
