"""Inject and remove faults through their drivers, keeping the ledger and the timeline true.

The order is what makes rollback trustworthy: the undo is written to the ledger, *then* the fault is
injected; a failed injection is undone at once; a removal is retried with backoff and a failure is
reported and left in the ledger for the next sweep, never dropped. A driver's ``remove`` is found by
the name the ledger stores (``faults.removers.DRIVERS``): sweeping needs nothing but the ledger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Arguments, Configuration
from chaoslib_ext.exceptions import ChaosLLMError, FaultInjectionError, FaultRemovalError
from chaoslib_ext.faults.driver import FaultDriver, PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.expiry import ttl_s
from chaoslib_ext.faults.removers import driver_class
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.ledger import LedgerEntry

__all__ = ["action_arguments", "apply", "inject", "plan_context", "remove", "run_planned", "sweep"]

log = logging.getLogger("chaoslib_ext.faults")

#: A watched fault with a duration is removed this long after it should have been (see faults.expiry).
WATCHDOG_GRACE_S = 30.0


def inject(
    run: RunContext, driver: FaultDriver, fault_id: str, family: str, spec: dict[str, Any], hold_s: float | None = None
) -> LedgerEntry:
    """Record the undo, inject, record the injection; raises FaultInjectionError with nothing left behind.
    A fault its backend would not end by itself gets a watchdog that removes it at its TTL."""
    if run.stopped:
        raise FaultInjectionError(f"fault {fault_id!r} not injected: the run was stopped ({run.stop_reason()})")
    entry = LedgerEntry(fault_id, family, driver.name, driver.target(), spec, driver.undo(fault_id))
    run.ledger.add(entry)
    if not driver.expires_by_itself:
        from chaoslib_ext.faults.watchdog import start_watchdog

        start_watchdog(run, fault_id, time.time() + ttl_s(hold_s, WATCHDOG_GRACE_S))
    try:
        injected = driver.inject(fault_id)
    except ChaosLLMError as exc:
        _undo_quietly(entry)
        run.ledger.update(fault_id, state="failed", error=str(exc))
        run.timeline.record_fault_failed(fault_id, str(exc), family)
        raise FaultInjectionError(f"fault {fault_id!r} could not be injected: {exc}") from exc
    at, details = injected.at, injected.details
    entry = run.ledger.update(fault_id, state="injected", injected_at=at, details=details)
    run.timeline.record_fault_injected(fault_id, family, entry.target, spec, details, at=at)
    log.info("fault %s injected on %s", fault_id, entry.target)
    return entry


def plan_context(run: RunContext) -> PlanContext:
    """Planning inside a run: ids unique in its ledger, driver files in ``<run>/faults``."""
    state_dir = run.run_dir.path / "faults"
    state_dir.mkdir(parents=True, exist_ok=True)
    return PlanContext(run.run_dir.run_id, state_dir, run.ledger.unique_id)


def action_arguments(local: Mapping[str, Any]) -> Arguments:
    """An action's arguments from its ``locals()``: the ones given, without Chaos Toolkit's configuration."""
    return {k: v for k, v in local.items() if k != "configuration" and v is not None}


def run_planned(planner: Planner, arguments: Mapping[str, Any], configuration: Configuration | None) -> ActivityResult:
    """An action's whole life: plan its fault once on the run's target, inject it, hold it, remove it."""
    run = RunContext.from_configuration(configuration)
    planned: PlannedFault = planner(arguments, run.target(), plan_context(run))
    return apply(run, planned.driver, planned.fault_id, planned.family, planned.spec, planned.hold_s)


def apply(
    run: RunContext, driver: FaultDriver, fault_id: str, family: str, spec: dict[str, Any], hold_s: float | None
) -> ActivityResult:
    """Inject; with ``hold_s``, keep the fault that long and remove it (0: at once, for faults that are
    a single blow, like killing connections). What an action returns."""
    entry = inject(run, driver, fault_id, family, spec, hold_s)
    result: dict[str, Any] = {
        "fault": fault_id,
        "target": entry.target,
        "injected_at": entry.injected_at,
        **entry.details,
    }
    if hold_s is not None:
        run.wait(hold_s)  # cut short when a safeguard trips (it has removed the fault already)
        result["removed_at"] = remove(run, entry).removed_at
    return result


def _undo_quietly(entry: LedgerEntry) -> None:
    try:
        driver_class(entry.driver).remove(entry.undo)
    except ChaosLLMError as exc:
        log.warning("undo of failed fault %s: %s", entry.id, exc)


def remove(run: RunContext, entry: LedgerEntry, attempts: int = 4, backoff_s: float = 0.25) -> LedgerEntry:
    """Remove one fault, retrying with exponential backoff; raises FaultRemovalError after the last try."""
    current = run.ledger.get(entry.id)
    if current is not None and current.state == "removed":
        return current  # removed meanwhile (a safeguard's sweep)
    error = ""
    for attempt in range(attempts):
        try:
            driver_class(entry.driver).remove(entry.undo)
        except Exception as exc:  # whatever a remover raises, the fault stays listed and is retried
            error = str(exc) if isinstance(exc, ChaosLLMError) else f"{type(exc).__name__}: {exc}"
            log.warning("removing fault %s (attempt %d/%d): %s", entry.id, attempt + 1, attempts, error)
            run.timeline.record_removal_retried(entry.id, attempt + 1, error)
            if attempt + 1 < attempts:
                time.sleep(backoff_s * 2**attempt)
            continue
        now = time.time()
        evidence = _evidence(entry)
        details = entry.details if evidence is None else {**entry.details, "evidence": evidence}
        entry = run.ledger.update(entry.id, state="removed", removed_at=now, error=None, details=details)
        run.timeline.record_fault_removed(entry.id, at=now)
        log.info("fault %s removed", entry.id)
        return entry
    run.ledger.update(entry.id, error=error)
    run.timeline.record_removal_failed(entry.id, error)
    raise FaultRemovalError(f"fault {entry.id!r} could not be removed after {attempts} attempts: {error}")


def _evidence(entry: LedgerEntry) -> dict[str, Any] | None:
    """What a removed fault's own counters say it did (the drivers that keep counters have ``evidence``);
    None when it keeps none or they cannot be read: the report then says coverage unknown."""
    reader = getattr(driver_class(entry.driver), "evidence", None)
    if reader is None:
        return None
    try:
        found = reader(entry.undo, entry.details)
    except Exception as exc:  # evidence is a report's detail: never a reason for a removal to fail
        log.warning("reading the counters of fault %s: %s", entry.id, exc)
        return None
    return dict(found) if found is not None else None


def sweep(run: RunContext) -> tuple[list[str], list[str]]:
    """Remove every outstanding fault of the run; returns (removed ids, ids that could not be removed)."""
    removed, failed = [], []
    for entry in run.ledger.outstanding():
        try:
            remove(run, entry)
            removed.append(entry.id)
        except FaultRemovalError as exc:
            log.error("%s", exc)
            failed.append(entry.id)
    return removed, failed
