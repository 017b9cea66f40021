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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Arguments, Configuration
from chaoslib_ext.exceptions import ChaosLLMError, FaultError, FaultInjectionError, FaultRemovalError
from chaoslib_ext.faults.driver import FaultDriver, PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.expiry import ttl_s
from chaoslib_ext.faults.removers import driver_class
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.ledger import LedgerEntry

__all__ = [
    "CANNOT_EXTEND",
    "action_arguments",
    "apply",
    "extend",
    "inject",
    "plan_context",
    "remove",
    "run_planned",
    "sweep",
    "verify_gone",
]

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
        entry = run.ledger.update(fault_id, hold_until=time.time() + hold_s)
        _hold(run, fault_id)
        result["removed_at"] = remove(run, entry).removed_at
    return result


def _hold(run: RunContext, fault_id: str, slice_s: float = 0.2) -> None:
    """Keep the fault until its ``hold_until`` (an extension moves it), or until it is removed meanwhile
    (a rollback of one fault, a trip's or an abort's sweep) or the run is stopped."""
    while not run.stopped:
        entry = run.ledger.get(fault_id)
        if entry is None or not entry.outstanding or entry.hold_until is None:
            return
        left = entry.hold_until - time.time()
        if left <= 0:
            return
        time.sleep(min(slice_s, left))


#: why a driver's faults cannot be lengthened in place (a driver with ``extend`` can)
CANNOT_EXTEND = {
    "chaos-mesh": "a Chaos Mesh object's duration cannot change once it is created: roll it back and inject it again",
    "redis": "the Redis server (or our helper) holds the fault's own deadline, which cannot be moved",
    "process": "a watchdog process holds the fault's deadline, which cannot be moved",
    "kafka-cluster": "a watchdog process holds the fault's deadline, which cannot be moved",
}


def extend(run: RunContext, fault_id: str, by_s: float) -> LedgerEntry:
    """Hold fault ``fault_id`` ``by_s`` longer, its backend's TTL moved with it, in place; raises FaultError
    when it is not in force, has no duration, or its backend cannot (CANNOT_EXTEND says why)."""
    entry = run.ledger.get(fault_id)
    if entry is None or not entry.outstanding:
        raise FaultError(f"fault {fault_id!r} is not in force")
    if entry.hold_until is None:
        raise FaultError(f"fault {fault_id!r} has no duration: it stays until it is rolled back")
    extender = getattr(driver_class(entry.driver), "extend", None)
    if extender is None:
        why = CANNOT_EXTEND.get(entry.driver, "its backend has no way to")
        raise FaultError(f"fault {fault_id!r} cannot be extended in place: {why}")
    until = entry.hold_until + by_s
    extender(entry.undo, ttl_s(until - time.time(), WATCHDOG_GRACE_S))
    entry = run.ledger.update(fault_id, hold_until=until)
    run.timeline.record_fault_extended(fault_id, by_s, until)
    return entry


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


def sweep(run: RunContext, at_once: bool = False) -> tuple[list[str], list[str]]:
    """Remove every outstanding fault of the run (``at_once``: all at the same time, one thread each);
    returns (removed ids, ids that could not be removed)."""
    entries = run.ledger.outstanding()

    def one(entry: LedgerEntry) -> bool:
        try:
            remove(run, entry)
        except FaultRemovalError as exc:
            log.error("%s", exc)
            return False
        return True

    if at_once and len(entries) > 1:
        with ThreadPoolExecutor(len(entries), thread_name_prefix="chaosllm-remove") as pool:
            done = list(pool.map(one, entries))
    else:
        done = [one(entry) for entry in entries]
    removed = [e.id for e, ok in zip(entries, done, strict=True) if ok]
    return removed, [e.id for e, ok in zip(entries, done, strict=True) if not ok]


def verify_gone(entry: LedgerEntry) -> str | None:
    """Ask the fault's backend whether it is gone: a second removal finds nothing to remove (the driver
    contract: it changes nothing and says False). None when gone, else why it cannot be said to be."""
    try:
        found = driver_class(entry.driver).remove(entry.undo)
    except Exception as exc:  # whatever a backend raises: not verified, and why
        return f"could not check: {exc}" if isinstance(exc, ChaosLLMError) else f"could not check: {exc!r}"
    return "was still in place: removed now" if found else None
