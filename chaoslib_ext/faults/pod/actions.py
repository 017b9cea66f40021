"""Chaos Toolkit actions for pod faults (``module: chaoslib_ext.faults.pod.actions``).

On a Chaos Mesh target: a PodChaos object. On the sandbox: the service's process is stopped
(``pod-failure``, for ``duration``) or killed and started again (``pod-kill``/``container-kill``, after
``duration``, default at once, as a controller would restart it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.exceptions import FaultError, SpecError
from chaoslib_ext.faults.chaosmesh.driver import ChaosMeshDriver
from chaoslib_ext.faults.chaosmesh.pod import pod_chaos_objects
from chaoslib_ext.faults.driver import FaultDriver, PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.lifecycle import action_arguments, run_planned
from chaoslib_ext.faults.pod.process import process_driver
from chaoslib_ext.faults.pod.spec import PodFaultSpec
from chaoslib_ext.target import Target

__all__ = ["pod_fault"]


def parse_pod_fault(raw: Mapping[str, Any]) -> PodFaultSpec:
    try:
        return PodFaultSpec.parse(raw)
    except SpecError as exc:
        raise FaultError(f"bad pod fault: {exc}") from exc


def pod_driver(target: Target, spec: PodFaultSpec, ctx: PlanContext, fault_id: str) -> FaultDriver:
    """PodChaos on a cluster target, the service's process on the sandbox."""
    if target.backend == "chaos-mesh":
        settings = target.require_chaos_mesh()
        manifests = pod_chaos_objects(spec, target, settings, ctx.run_id, fault_id)
        return ChaosMeshDriver(settings, manifests, f"PodChaos {spec.action} on {spec.service or 'selected pods'}")
    return process_driver(target, spec, ctx.state_dir)


def plan_pod_fault(raw: Mapping[str, Any], target: Target, ctx: PlanContext, family: str = "pod") -> PlannedFault:
    """``raw`` (a PodFaultSpec's fields), held for its duration (kills: removed, i.e. restarted, at once)."""
    spec = parse_pod_fault(raw)
    fault_id = ctx.unique(spec.fault_id)
    return PlannedFault(
        fault_id, family, pod_driver(target, spec, ctx, fault_id), spec.to_json(), spec.duration_s or 0.0
    )


def pod_fault(
    action: str,
    service: str | None = None,
    mode: str = "one",
    value: str | None = None,
    duration: str | None = None,
    gracePeriod: int | None = None,  # noqa: N803 - Chaos Mesh's own field name
    containerNames: list[str] | None = None,  # noqa: N803
    selector: dict[str, Any] | None = None,
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Kill, fail or restart the pods (or sandbox process) of a service; see the module docstring."""
    return run_planned(plan_pod_fault, action_arguments(locals()), configuration)


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {"pod_fault": PodFaultSpec.parse}
PLANNERS: dict[str, Planner] = {"pod_fault": plan_pod_fault}
