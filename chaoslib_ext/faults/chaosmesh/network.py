"""NetworkChaos objects for a network fault spec on a cluster target.

A link binds client services to a server service. With clients, each client service gets one object:
``selector`` its pods, ``target`` the server's pods, ``direction`` as in the spec (to = client -> server).
A link with no client in the cluster (the gateway, whose clients are outside) can only be faulted on
the server's pods: what reaches the server (``to``) needs Chaos Mesh's ``from`` without a target, which
its webhook refuses except for ``partition``; ``from`` (responses) is the server's egress, ``to``.
Explicit ``selector``/``target``/``externalTargets`` in the spec override the link.
"""

from __future__ import annotations

from typing import Any

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.objects import API_VERSION, chaos_duration, labels, object_name
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.target import ChaosMeshSettings, Target

__all__ = ["network_chaos_objects"]

_INVERSE = {"to": "from", "from": "to", "both": "both"}


def _spec_body(spec: NetworkFaultSpec) -> dict[str, Any]:
    action = spec.action
    body: dict[str, Any] = {"action": action, "mode": spec.mode}
    if spec.value is not None:
        body["value"] = spec.value
    for part in ("delay", "loss", "duplicate", "corrupt"):
        params = getattr(spec, part)
        if params is not None:
            body[part] = params.to_chaos_mesh()
    if spec.bandwidth is not None:
        if action == "bandwidth":
            body["bandwidth"] = spec.bandwidth.to_chaos_mesh()
        else:
            body["rate"] = {"rate": spec.bandwidth.rate}
    if spec.external_targets:
        body["externalTargets"] = list(spec.external_targets)
    body["duration"] = chaos_duration(spec.duration_s)
    return body


def _pairs(
    spec: NetworkFaultSpec, target: Target
) -> list[tuple[str | None, dict[str, Any], dict[str, Any] | None, str]]:
    """(part name, selector, target selector or None, Chaos Mesh direction) for each object."""
    if spec.selector is not None:
        peer = spec.target.selector if spec.target else None
        return [(None, spec.selector, peer, spec.direction)]
    assert spec.link is not None
    link = target.cluster_link(spec.link)
    server = target.pods(link.server)
    if spec.target is not None:
        server = spec.target.selector
    if link.clients:
        return [
            (client if len(link.clients) > 1 else None, target.pods(client), server, spec.direction)
            for client in link.clients
        ]
    direction = _INVERSE[spec.direction]
    if direction in ("from", "both") and spec.action != "partition":
        raise TargetError(
            f"link {spec.link!r} has no client pods: Chaos Mesh can fault only what its server "
            f"sends (direction from), not {spec.direction!r} (accepted: from; or give the link clients)"
        )
    return [(None, server, None, direction)]


def network_chaos_objects(
    spec: NetworkFaultSpec, target: Target, settings: ChaosMeshSettings, run_id: str, fault_id: str
) -> list[dict[str, Any]]:
    """The NetworkChaos manifests that apply ``spec``; raises TargetError when the target cannot."""
    if spec.local_only:
        raise TargetError(
            f"action {spec.action!r} exists only on the local fault proxy (Chaos Mesh has no "
            f"equivalent): accepted on a cluster: delay, loss, duplicate, corrupt, bandwidth, "
            f"partition, netem"
        )
    objects = []
    for part, selector, peer, direction in _pairs(spec, target):
        body = {**_spec_body(spec), "selector": selector, "direction": direction}
        if peer is not None:
            target_spec: dict[str, Any] = {"mode": spec.target.mode if spec.target else "all", "selector": peer}
            if spec.target is not None and spec.target.value is not None:
                target_spec["value"] = spec.target.value
            body["target"] = target_spec
        objects.append(
            {
                "apiVersion": API_VERSION,
                "kind": "NetworkChaos",
                "metadata": {
                    "name": object_name(fault_id, run_id, part),
                    "namespace": settings.namespace,
                    "labels": labels(run_id, fault_id),
                },
                "spec": body,
            }
        )
    return objects
