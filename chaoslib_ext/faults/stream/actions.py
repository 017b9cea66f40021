"""Chaos Toolkit actions for faults inside the token stream (``module: chaoslib_ext.faults.stream.actions``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.access import CHAT_PATH
from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.exceptions import FaultError, SpecError, TargetError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.faults.chaosmesh.driver import ChaosMeshDriver
from chaoslib_ext.faults.chaosmesh.http import NEW_CONNECTIONS_ONLY, gateway_port, http_chaos_objects
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
    port: int | None = None,
    path: str | None = None,
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
    if target.backend == "chaos-mesh" and spec.link not in target.links:
        return _plan_http_chaos(spec, target, ctx)  # a link the fault proxy carries takes every action instead
    if spec.port is not None or spec.path is not None:
        field = "port" if spec.port is not None else "path"
        raise TargetError(f"{field} applies on a Chaos Mesh target only: the fault proxy acts on every request of "
                          f"link {spec.link!r}")  # fmt: skip
    if spec.link in target.links and not _http(target.links[spec.link]):
        http = ", ".join(sorted(n for n, link in target.links.items() if _http(link))) or "none"
        raise TargetError(f"link {spec.link!r} of target {target.name!r} is not an HTTP link (its HTTP links: {http})")
    fault = ProxyFault(Direction.FROM, ttl_s(spec.duration_s, FAULT_GRACE_S), stream=spec.fault)
    fault_id = ctx.unique(spec.fault_id)
    return PlannedFault(fault_id, "stream", ProxyNetworkDriver(target, spec.link, fault), spec.to_json(),
                        spec.duration_s)  # fmt: skip


def _plan_http_chaos(spec: StreamFaultSpec, target: Target, ctx: PlanContext) -> PlannedFault:
    """HTTPChaos on the link's server pods (chaoslib_ext.faults.chaosmesh.http)."""
    settings = target.require_chaos_mesh()
    port = gateway_port(target, spec.link, spec.port)
    server = target.service(target.cluster_link(spec.link).server)
    path = spec.path or (server.endpoint.path if server.endpoint else None) or CHAT_PATH
    fault_id = ctx.unique(spec.fault_id)
    manifests = http_chaos_objects(spec, target, settings, ctx.run_id, fault_id, port, path)
    description = f"{server.name} pods, {spec.action} on port {port} {path} ({NEW_CONNECTIONS_ONLY})"
    recorded = {**spec.to_json(), "port": port, "path": path}
    return PlannedFault(
        fault_id, "stream", ChaosMeshDriver(settings, manifests, description), recorded, spec.duration_s
    )


def _http(link: Mapping[str, Any]) -> bool:
    """An HTTP link: the proxy says so, or (a run's own proxy, not started yet) its upstream is a URL."""
    return bool(link.get("http")) or str(link.get("upstream", "")).startswith(("http://", "https://"))


#: How the validator checks each action's arguments before anything runs.
ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {"stream_fault": StreamFaultSpec.parse}
#: The driver each fault-injecting action would use, for ``chaosllm run --dry-run``.
PLANNERS: dict[str, Planner] = {"stream_fault": _plan_stream_fault}
