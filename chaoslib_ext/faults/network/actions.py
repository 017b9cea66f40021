"""Chaos Toolkit actions for network faults (``module: chaoslib_ext.faults.network.actions``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.exceptions import FaultError, SpecError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.faults.driver import PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.network.backends import network_driver
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.target import Target

__all__ = ["network_fault", "remove_network_fault"]


def network_fault(
    action: str = "delay",
    link: str | None = None,
    direction: str = "to",
    duration: str | None = None,
    name: str | None = None,
    delay: dict[str, Any] | None = None,
    loss: dict[str, Any] | None = None,
    duplicate: dict[str, Any] | None = None,
    corrupt: dict[str, Any] | None = None,
    bandwidth: dict[str, Any] | None = None,
    rate: dict[str, Any] | None = None,
    slow_close: dict[str, Any] | None = None,
    timeout: dict[str, Any] | None = None,
    mode: str = "all",
    value: str | None = None,
    selector: dict[str, Any] | None = None,
    target: dict[str, Any] | None = None,
    externalTargets: list[str] | None = None,  # noqa: N803 - Chaos Mesh's own field name
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Inject a network fault (Chaos Mesh NetworkChaos vocabulary, see network.spec) through the
    target's backend; with a ``duration``, hold it that long and remove it before returning.

    Raises FaultInjectionError when it cannot be injected (nothing is left in place).
    """
    return lifecycle.run_planned(_plan_network_fault, lifecycle.action_arguments(locals()), configuration)


def remove_network_fault(name: str, configuration: Configuration | None = None) -> ActivityResult:
    """Remove a fault injected earlier in this run, by name; raises FaultError if there is none."""
    run = RunContext.from_configuration(configuration)
    entry = run.ledger.get(name)
    if entry is None:
        known = ", ".join(e.id for e in run.ledger.entries()) or "none"
        raise FaultError(f"no fault named {name!r} in this run (faults: {known})")
    if entry.outstanding:
        entry = lifecycle.remove(run, entry)
    return {"fault": name, "removed_at": entry.removed_at}


def _parse(raw: Mapping[str, Any]) -> NetworkFaultSpec:
    try:
        return NetworkFaultSpec.parse(raw)
    except SpecError as exc:
        raise FaultError(f"bad network fault: {exc}") from exc


def _plan_network_fault(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> PlannedFault:
    spec = _parse(raw)
    fault_id = ctx.unique(spec.fault_id)
    driver = network_driver(target, spec, ctx.run_id, fault_id)
    return PlannedFault(fault_id, "network", driver, spec.to_json(), spec.duration_s)


def _parse_remove(raw: Mapping[str, Any]) -> str:
    return str(Fields(raw, ["name"]).string("name"))


#: How the validator checks each action's arguments before anything runs.
ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "network_fault": NetworkFaultSpec.parse,
    "remove_network_fault": _parse_remove,
}
#: The driver each fault-injecting action would use, for ``chaosllm run --dry-run``.
PLANNERS: dict[str, Planner] = {"network_fault": _plan_network_fault}
