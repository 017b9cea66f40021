"""The chaosllm control: what makes a Chaos Toolkit run a chaosllm run, under ``chaos run`` and
``chaosllm run`` alike (one code path).

    controls:
      - name: chaosllm
        provider: {type: python, module: chaoslib_ext.controls.run}

- before the experiment: opens the run directory (refused while the abort lock is held:
  controls/lock.py), opens the run's session (its control endpoint, the gate between steps, the watch
  on the abort lock: controls/session.py), starts the load and waits until it flows, then lets the
  warmup pass (a failure interrupts the run: Chaos Toolkit only stops on InterruptExecution), and arms
  the watch (signals recorded, SIGUSR1 aborts, the deadline, the safeguards: controls/watch.py);
- before each activity of the method: once a safeguard has tripped or the run was aborted, the method
  ends here (rollbacks still run); else the gate may hold the step for a decision, or skip it;
- after each activity: a fault activity that failed interrupts the run, so nothing is measured
  under a fault that is not there;
- after the experiment: after a trip or an abort, lets the load measure the recovery; stops the load,
  removes any fault the ledger still lists, computes the per-phase metrics and verdicts, writes
  summary.json and report.md, closes the session, and marks the journal deviated when the outcome is
  not a pass (so plain ``chaos run`` exits 1 too).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaoslib.exceptions import InterruptExecution
from chaoslib.types import Dry

from chaoslib_ext import secrets as secret_values
from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext._processes import ProcessRecord, start_ticks
from chaoslib_ext.controls import lock, watch
from chaoslib_ext.controls.queries import fetch_queries
from chaoslib_ext.controls.session import close_session, open_session, session_of
from chaoslib_ext.ctk import Configuration, Secrets
from chaoslib_ext.exceptions import ChaosLLMError, LoadError, SpecError, TargetError
from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.history import History, history_path
from chaoslib_ext.load.session import begin_load, effective_load, end_load
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.proxy.local import start_local_proxy, stop_local_proxy
from chaoslib_ext.registry import register_run
from chaoslib_ext.report.write import write_reports
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from chaoslib_ext.run.rundir import DEFAULT_ROOT, RunDir
from chaoslib_ext.safeguards.spec import RECOVERY_S
from chaoslib_ext.sweep.result import resolve_rate
from chaoslib_ext.target import SANDBOX, load_target

__all__ = [
    "after_activity_control",
    "after_experiment_control",
    "before_activity_control",
    "before_experiment_control",
]

log = logging.getLogger("chaoslib_ext")


def before_experiment_control(
    context: dict[str, Any],
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
    **_: Any,
) -> None:
    if configuration is None:
        raise InterruptExecution("chaosllm needs the experiment's configuration; none was given")
    secret_values.register_named(secrets or {})  # every value registered, each name resolvable
    secret_values.guard((), logging.getLogger("chaostoolkit"), log)
    try:
        plan = Plan.from_experiment(context, _variables(configuration, secrets))
    except SpecError as exc:
        raise InterruptExecution(f"invalid chaosllm extension: {exc}") from exc
    run = _open_run(context, configuration)
    log.info("run directory: %s", run.run_dir.path)
    _refuse_if_locked(run)
    recovery_s = plan.safeguards.recovery_s if plan.safeguards is not None else RECOVERY_S
    watch.arm(run, plan.deadline_s, list(context.get("rollbacks") or []), recovery_s)
    try:
        session = open_session(
            run, list(context.get("method") or []), configuration, plan.hypotheses, str(context.get("title", ""))
        )
    except (SpecError, OSError) as exc:
        run.timeline.record_load_failed(f"the control endpoint could not start: {exc}")
        raise InterruptExecution(f"the control endpoint could not start: {exc}") from exc
    _start_local_proxy(run)
    if plan.load is not None:
        try:
            load = _resolved_rate(run, plan.load)
        except (SpecError, TargetError) as exc:
            run.timeline.record_load_failed(str(exc))
            raise InterruptExecution(f"load could not start: {exc}") from exc
        tracer = session.tracer
        trace = f"{tracer.trace_id}:{tracer.spec.sample:g}" if tracer is not None and tracer.spec.sample else None
        try:
            begin_load(run, load, trace=trace)
        except LoadError as exc:
            raise InterruptExecution(f"load could not start: {exc}") from exc
    if plan.safeguards is not None:
        watch.watch_safeguards(run, plan.safeguards)
    names = ", ".join(c.name for c in plan.safeguards.conditions) if plan.safeguards is not None else ""
    armed = f"armed: {names}" if names else "none declared: only an abort removes a fault before its time"
    run.timeline.record_preflight("stop conditions", "safeguards", bool(names), armed, blocking=False)
    gameday = session.record.roles if session.record is not None else None
    if gameday is not None and plan.load is not None and not session.baseline_preflight(gameday.preflight_window_s):
        raise InterruptExecution(run.stop_reason() or "the run was stopped before its first step")


def _refuse_if_locked(run: RunContext) -> None:
    """While the abort lock is held (here, or on the target's cluster) nothing starts: exit 3. A cluster
    whose lock cannot be read stops the run too, as a failed preflight (exit 2): nothing starts unchecked."""
    try:
        target = load_target(run.target_ref)
    except ChaosLLMError:
        target = None  # the activities say what is wrong with it; this machine's lock still counts
    try:
        found = lock.held(target)
    except ChaosLLMError as exc:
        run.timeline.record_preflight("abort lock", "the target's cluster", False, f"cannot be read: {exc}")
        raise InterruptExecution(f"the abort lock cannot be read: {exc}") from exc
    if found is not None:
        run.timeline.record_interrupted(f"refused: {found.describe()}", "operator_abort")
        raise InterruptExecution(f"refused: {found.describe()}")


def _start_local_proxy(run: RunContext) -> None:
    """The fault proxy a target asks for in front of its services (chaoslib_ext.proxy.local)."""
    try:
        target = load_target(run.target_ref)
    except TargetError:
        return  # the activities say why, at their place
    if not target.needs_local_proxy:
        return
    try:
        ready = start_local_proxy(target, run.run_dir.proxy, os.getpid())
    except TargetError as exc:
        run.timeline.record_fault_failed("(the run's fault proxy)", str(exc))
        raise InterruptExecution(f"the fault proxy could not start: {exc}") from exc
    run.timeline.record_proxy_started(ready["control_url"], ready["links"])
    log.info(
        "fault proxy for this run: %s",
        ", ".join(f"{n} {i['listen']} -> {i['upstream']}" for n, i in ready["links"].items()),
    )


def before_activity_control(context: dict[str, Any], configuration: Configuration | None = None, **_: Any) -> None:
    if not configuration or not configuration.get(RUN_DIR_KEY):
        return
    run = RunContext.from_configuration(configuration)
    session = session_of(run)
    if session is not None and session.tracer is not None:
        session.tracer.activity_started(context)
    if watch.is_rollback(str(configuration[RUN_DIR_KEY]), context):
        return
    watch.interrupt_if_stopped(run)
    if session is not None and session.gate.before_step(context) == "skip":
        context["dry"] = Dry.ACTIVITIES  # Chaos Toolkit reads it after this control: the step does not run
    watch.interrupt_if_stopped(run)  # aborted while the step waited


def _variables(configuration: Mapping[str, Any], resolved: Mapping[str, Any] | None) -> dict[str, Any]:
    """What ``${name}`` in our extension may name: the configuration, then every secret (any scope)."""
    out = dict(configuration)
    for scope in (resolved or {}).values():
        if isinstance(scope, Mapping):
            out.update(scope)
    return out


def _open_run(experiment: Mapping[str, Any], configuration: dict[str, Any]) -> RunContext:
    if not configuration.get(RUN_DIR_KEY):
        root = Path(str(configuration.get("chaosllm_reports_dir") or DEFAULT_ROOT))
        configuration[RUN_DIR_KEY] = str(RunDir.create(root, str(experiment.get("title", "run"))).path)
    configuration.setdefault(TARGET_KEY, SANDBOX)
    ref = str(configuration[TARGET_KEY])
    if ref != SANDBOX and Path(ref).is_file():  # read again from anywhere (a cleanup in another folder)
        configuration[TARGET_KEY] = str(Path(ref).resolve())
    run = RunContext.from_configuration(configuration)
    run.run_dir.path.mkdir(parents=True, exist_ok=True)
    register_run(run.run_dir.path)
    pid = os.getpid()
    write_json_atomic(
        run.run_dir.owner, ProcessRecord("chaosllm-run", pid, start_ticks(pid), tuple(sys.argv), "").to_json()
    )
    write_json_atomic(
        run.run_dir.experiment,
        {
            "experiment": _redact_secrets(experiment),
            "configuration": {k: v for k, v in configuration.items() if k != RUN_DIR_KEY},
        },
    )
    return run


def _redact_secrets(experiment: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(experiment)
    if isinstance(out.get("secrets"), Mapping):
        hidden = secret_values.REDACTED
        out["secrets"] = {
            scope: {k: hidden for k in values} if isinstance(values, Mapping) else hidden
            for scope, values in out["secrets"].items()
        }
    out.pop("dry", None)
    return out


def after_activity_control(
    context: dict[str, Any], state: dict[str, Any] | None = None, configuration: Configuration | None = None, **_: Any
) -> None:
    if context.pop("dry", None) is not None and state is not None:  # a step the gate skipped
        state.get("activity", {}).pop("dry", None)
        state["chaosllm_skipped"] = True
    session = session_of(RunContext.from_configuration(configuration)) if configuration else None
    if session is not None and session.tracer is not None:
        session.tracer.activity_ended(context, (state or {}).get("status"))
    provider = context.get("provider") or {}
    if not str(provider.get("module", "")).startswith("chaoslib_ext.faults"):
        return
    if not state or state.get("status") != "failed":
        return
    error = (state.get("exception") or ["unknown error"])[-1].strip()
    name = context.get("name", "?")
    run = RunContext.from_configuration(configuration)
    watch.interrupt_if_stopped(run)  # refused because a safeguard tripped: an abort, not a broken fault
    if not any(e["kind"] in ("fault_failed", "removal_failed") for e in run.timeline.events()):
        run.timeline.record_fault_failed(name, error)
    raise InterruptExecution(f"fault activity {name!r} failed, stopping the run: {error}")


def after_experiment_control(
    context: dict[str, Any], state: dict[str, Any] | None = None, configuration: Configuration | None = None, **_: Any
) -> None:
    if not configuration or not configuration.get(RUN_DIR_KEY):
        return
    run = RunContext.from_configuration(configuration)
    watch.disarm(run)
    end_load(run)
    session = session_of(run)
    if session is not None:
        session.stop_scraping()
    removed, _not_removed = lifecycle.sweep(run)  # what could not be removed is in the timeline
    if removed:
        log.warning("faults removed at the end of the run (a rollback missed them): %s", ", ".join(removed))
    stop_local_proxy(run.run_dir.proxy)
    try:
        plan = Plan.from_experiment(context, configuration)
    except SpecError:
        plan = Plan(None, ())
    fetch_queries(run, plan.hypotheses)  # the prometheus hypotheses' values, now that the phases are known
    summary = write_reports(run, plan, str(context.get("title", "")), state)
    close_session(run, summary)
    if state is not None:
        state["chaosllm"] = {"run_dir": str(run.run_dir.path), **summary.outcome.to_json()}
        if summary.outcome.exit_code != 0:
            state["deviated"] = True


def _resolved_rate(run: RunContext, spec: LoadSpec) -> LoadSpec:
    """The load with ``rate: N% of sweep`` (or of a sweep directory) as requests/s, from the history
    beside the run directories; raises SpecError when no matching sweep found a knee."""
    if spec.rate_share is None:
        return spec
    return resolve_rate(effective_load(run, spec), History(history_path(run.run_dir.path.parent)))
