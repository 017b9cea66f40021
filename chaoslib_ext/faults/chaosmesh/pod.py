"""PodChaos objects for a pod fault spec on a cluster target: the service's pods (or an explicit selector)."""

from __future__ import annotations

from typing import Any

from chaoslib_ext.faults.chaosmesh.objects import API_VERSION, chaos_duration, labels, object_name
from chaoslib_ext.faults.pod.spec import PodFaultSpec
from chaoslib_ext.target import ChaosMeshSettings, Target

__all__ = ["pod_chaos_objects"]


def pod_chaos_objects(
    spec: PodFaultSpec, target: Target, settings: ChaosMeshSettings, run_id: str, fault_id: str
) -> list[dict[str, Any]]:
    """The PodChaos manifest that applies ``spec``; raises TargetError when the service has no pods."""
    selector = spec.selector
    if selector is None:
        assert spec.service is not None
        selector = target.pods(spec.service)
    body: dict[str, Any] = {
        "action": spec.action,
        "mode": spec.mode,
        "selector": selector,
        "duration": chaos_duration(spec.duration_s),
    }
    if spec.value is not None:
        body["value"] = spec.value
    if spec.grace_period is not None:
        body["gracePeriod"] = spec.grace_period
    if spec.container_names:
        body["containerNames"] = list(spec.container_names)
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "PodChaos",
            "metadata": {
                "name": object_name(fault_id, run_id),
                "namespace": settings.namespace,
                "labels": labels(run_id, fault_id),
            },
            "spec": body,
        }
    ]
