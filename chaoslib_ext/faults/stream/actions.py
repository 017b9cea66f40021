"""Chaos Toolkit actions for faults inside the token stream (``module: chaoslib_ext.faults.stream.actions``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.exceptions import FaultError, SpecError, TargetError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.faults.driver import PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.expiry import ttl_s
from chaoslib_ext.faults.network.proxy import FAULT_GRACE_S, ProxyNetworkDriver
from chaoslib_ext.faults.stream.spec import StreamFaultSpec
from chaoslib_ext.proxy.faults import Direction, ProxyFault
from chaoslib_ext.target import Target

__all__ = ["stream_fault"]


def stream_fault(
    action: str,
    link: str | None = None,
    percent: float = 100.0,
    seed: int = 0,
    duration: str | None = None,
    name: str | None = None,
    status: int | None = None,
    retry_after: str | None = None,
    body: str | None = None,
    after_events: int | None = None,
    hold: str | None = None,
    probability: float | None = None,
    delay: str | None = None,
    jitter: str | None = None,
    distribution: str | None = None,
    rate: float | None = None,
    corrupt: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Inject a fault into the token streams of an HTTP link (see faults.stream.spec); with a
    ``duration``, hold it that long and remove it before returning.

    Raises FaultInjectionError when it cannot be injected (nothing is left in place).
    """
    return lifecycle.run_planned(_plan_stream_fault, lifecycle.action_arguments(locals()), configuration)


def _parse(raw: Mapping[str, Any]) -> StreamFaultSpec:
    try:
        return StreamFaultSpec.parse(raw)
    except SpecError as exc:
        raise FaultError(f"bad stream fault: {exc}") from exc


def _plan_stream_fault(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> PlannedFault:
    spec = _parse(raw)
    if target.backend == "chaos-mesh":
        raise TargetError(
            f"stream fault {spec.action!r} acts per SSE event, which Chaos Mesh's HTTPChaos cannot express, "
            "and this release does not deploy the fault proxy into a cluster: run it on a local target "
            "(the sandbox, or a target whose link goes through the fault proxy)"
        )
    if spec.link in target.links and not _http(target.links[spec.link]):
        http = ", ".join(sorted(n for n, link in target.links.items() if _http(link))) or "none"
        raise TargetError(f"link {spec.link!r} of target {target.name!r} is not an HTTP link (its HTTP links: {http})")
    fault = ProxyFault(Direction.FROM, ttl_s(spec.duration_s, FAULT_GRACE_S), stream=spec.fault)
    fault_id = ctx.unique(spec.fault_id)
    return PlannedFault(fault_id, "stream", ProxyNetworkDriver(target, spec.link, fault), spec.to_json(),
                        spec.duration_s)  # fmt: skip


def _http(link: Mapping[str, Any]) -> bool:
    """An HTTP link: the proxy says so, or (a run's own proxy, not started yet) its upstream is a URL."""
    return bool(link.get("http")) or str(link.get("upstream", "")).startswith(("http://", "https://"))


#: How the validator checks each action's arguments before anything runs.
ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {"stream_fault": StreamFaultSpec.parse}
#: The driver each fault-injecting action would use, for ``chaosllm run --dry-run``.
PLANNERS: dict[str, Planner] = {"stream_fault": _plan_stream_fault}
