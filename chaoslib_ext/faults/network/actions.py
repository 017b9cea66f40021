"""Chaos Toolkit actions for network faults (``module: chaoslib_ext.faults.network.actions``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.exceptions import FaultError, SpecError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.faults.network.proxy import ProxyNetworkDriver
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.fields import Fields
from chaoslib_ext.runcontext import RunContext

__all__ = ["network_fault", "remove_network_fault"]


def network_fault(
    link: str,
    action: str = "delay",
    delay: dict[str, Any] | None = None,
    direction: str = "to",
    duration: str | None = None,
    name: str | None = None,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Inject a network fault; with a ``duration``, hold it that long and remove it before returning.

    Raises FaultInjectionError when it cannot be injected (nothing is left in place).
    """
    given = {"link": link, "action": action, "delay": delay, "direction": direction, "duration": duration, "name": name}
    spec = _parse(NetworkFaultSpec.parse, {k: v for k, v in given.items() if v is not None})
    run = RunContext.from_configuration(configuration)
    driver = ProxyNetworkDriver(run.target(), spec)
    fault_id = run.ledger.unique_id(spec.fault_id)
    entry = lifecycle.inject(run, driver, fault_id, "network", spec.to_json())
    result: dict[str, Any] = {"fault": fault_id, "target": entry.target, "injected_at": entry.injected_at}
    if spec.duration_s:
        time.sleep(spec.duration_s)
        result["removed_at"] = lifecycle.remove(run, entry).removed_at
    return result


def remove_network_fault(name: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove a fault injected earlier in this run, by name; raises FaultError if there is none."""
    run = RunContext.from_configuration(configuration)
    entry = run.ledger.get(name)
    if entry is None:
        known = ", ".join(e.id for e in run.ledger.entries()) or "none"
        raise FaultError(f"no fault named {name!r} in this run (faults: {known})")
    if entry.outstanding:
        entry = lifecycle.remove(run, entry)
    return {"fault": name, "removed_at": entry.removed_at}


def _parse_remove(raw: Mapping[str, Any]) -> str:
    return str(Fields(raw, ["name"]).string("name"))


def _parse(parse: Callable[[Mapping[str, Any]], NetworkFaultSpec], raw: Mapping[str, Any]) -> NetworkFaultSpec:
    try:
        return parse(raw)
    except SpecError as exc:
        raise FaultError(f"bad network fault: {exc}") from exc


#: How the validator checks each action's arguments before anything runs.
ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "network_fault": NetworkFaultSpec.parse,
    "remove_network_fault": _parse_remove,
}
