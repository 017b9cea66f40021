"""Run a sweep: steps one after another (chaoslib_ext.sweep.search picks each rate), ``sweep.json``
rewritten after each, the report written at the end, the knee recorded in the history.

After a failed step the server may still hold its backlog (the sandbox's decoder, like any server
that does not abort a request whose client left, finishes every queued one), which would fail the
next step whatever its rate. So before the next step the sweep waits, up to ``DRAIN_LIMIT_S``, until
one probe request takes no more than twice what it took before the sweep began, plus 50 ms.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from chaoslib_ext.exceptions import LoadError
from chaoslib_ext.history.store import History
from chaoslib_ext.load.probes import stream_check
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.sweep.result import SweepResult, sweep_identity
from chaoslib_ext.sweep.search import Stopped, next_rate
from chaoslib_ext.sweep.spec import SweepPlan
from chaoslib_ext.sweep.step import StepResult, run_step

__all__ = ["StepRunner", "run_sweep"]

log = logging.getLogger("chaoslib_ext.sweep")
#: run one step: (rate, step number) -> its result; raises LoadError
StepRunner = Callable[[float, int], StepResult]
#: the longest a sweep waits for a server to drain the backlog of a failed step
DRAIN_LIMIT_S = 120.0


def run_sweep(
    spec: LoadSpec,
    plan: SweepPlan,
    out: Path,
    target: str | None,
    history: History | None,
    runner: StepRunner | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SweepResult:
    """Step the rate of ``spec`` until the knee is resolved or a limit is reached. ``runner`` stands in
    for the real steps (tests); ``clock`` measures the time limit."""
    endpoint, model = sweep_identity(spec)
    steps_dir = out / "steps"

    def real_step(rate: float, number: int) -> StepResult:
        return run_step(spec, rate, plan, number, steps_dir, target)

    step = runner or real_step
    idle_s = None if runner else _probe_s(spec)
    began, started_at = clock(), time.time()
    steps: list[StepResult] = []
    stopped: Stopped | None = None
    while True:
        decision = next_rate(plan, steps, clock() - began)
        if decision.rate_rps is None:
            stopped = decision.stopped
            break
        if idle_s is not None and steps and not steps[-1].passed:
            _drain(spec, idle_s)
        print(f"sweep: step {len(steps) + 1} at {decision.rate_rps:.4g} req/s", flush=True)
        try:
            done = step(decision.rate_rps, len(steps) + 1)
        except KeyboardInterrupt:
            stopped = "interrupted"
            break
        except LoadError as exc:
            log.error("sweep stopped: %s", exc)
            print(f"sweep: stopped: {exc}", flush=True)
            stopped = "load_failed"
            break
        steps.append(done)
        print(f"sweep: {_line(done)}", flush=True)
        SweepResult(endpoint, model, plan.to_json(), tuple(steps), started_at, None, None).write(out)
    result = SweepResult(endpoint, model, plan.to_json(), tuple(steps), started_at, time.time(), stopped)
    result.write(out)
    if history is not None:
        history.record_sweep(result.entry(out))
    return result


def _line(step: StepResult) -> str:
    verdict = "pass" if step.passed else "FAIL"
    why = f" ({step.saturated})" if step.saturated else ""
    checks = ", ".join(f"{c.slo} bound {_num(c.bound)}" for c in step.checks)
    return f"{step.rate_rps:.4g} req/s: {verdict}{why}; {checks}; completed {_num(step.completed_rps)} req/s"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _probe_s(spec: LoadSpec) -> float:
    """Seconds one probe request takes (a failed one counts as the drain limit)."""
    began = time.monotonic()
    ok, _ = stream_check(spec, timeout_s=30.0)
    return time.monotonic() - began if ok else DRAIN_LIMIT_S


def _drain(spec: LoadSpec, idle_s: float) -> None:
    """Wait until a probe takes at most twice its idle time + 50 ms, or DRAIN_LIMIT_S have passed."""
    deadline = time.monotonic() + DRAIN_LIMIT_S
    began = time.monotonic()
    while time.monotonic() < deadline:
        took = _probe_s(spec)
        if took <= 2.0 * idle_s + 0.05:
            print(f"sweep: the server drained in {time.monotonic() - began:.1f} s", flush=True)
            return
        time.sleep(1.0)
    print(f"sweep: the server was still slow after {DRAIN_LIMIT_S:g} s; stepping on", flush=True)
