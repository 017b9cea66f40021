"""NetworkChaos objects for a network fault spec on a cluster target, meaning what the fault means on
the local fault proxy (one link, one direction), or refused by name where Chaos Mesh cannot say it.

- A link with client services: each client service gets one object (``selector`` its pods, ``target``
  the server's pods, ``direction`` as in the spec: to = client -> server).
- ``bandwidth`` is one limit shared by all of a link's traffic, as on the proxy: server -> clients
  (``from``) is one object on the server's pods, shaping their egress; clients -> server only when the
  link has one client service (Chaos Mesh shapes a pod's egress: several clients cannot share one limit).
- A link whose clients are outside the cluster (the gateway) names their addresses
  (``external_clients``): what the server sends them (``from``) is one object on the server's pods with
  ``externalTargets``, so its own calls (Redis, Kafka) are untouched; what they send it (``to``) cannot
  be told apart on the server's ingress and is refused. A link with neither clients nor external
  clients is refused: a fault on all of the server's traffic would not mean the same as on the proxy.
- Explicit ``selector``/``target``/``externalTargets`` in the spec override the link.
"""

from __future__ import annotations

from typing import Any

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.objects import API_VERSION, chaos_duration, labels, object_name
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.target import ChaosMeshSettings, Target

__all__ = ["network_chaos_objects"]


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
) -> list[tuple[str | None, dict[str, Any], dict[str, Any] | None, str, tuple[str, ...]]]:
    """(part name, selector, target selector or None, Chaos Mesh direction, externalTargets) per object."""
    if spec.selector is not None:
        peer = spec.target.selector if spec.target else None
        return [(None, spec.selector, peer, spec.direction, ())]
    assert spec.link is not None
    link = target.cluster_link(spec.link)
    server = target.pods(link.server)
    if spec.target is not None:
        server = spec.target.selector
    if link.clients and spec.action == "bandwidth":
        return [_shared_bandwidth(spec, target, link.clients, server)]
    if link.clients:
        return [
            (client if len(link.clients) > 1 else None, target.pods(client), server, spec.direction, ())
            for client in link.clients
        ]
    if not link.external_clients:
        raise TargetError(
            f"link {spec.link!r} names no clients: on Chaos Mesh a fault on it would hit everything the "
            f"{link.server} pods send and receive (their own calls included), not the link; name them "
            f"(accepted: links.{spec.link}.clients: [services with pods], or "
            f"links.{spec.link}.external_clients: [the clients' IPs or CIDRs])"
        )
    if spec.direction != "from":
        raise TargetError(
            f"link {spec.link!r} has clients outside the cluster: Chaos Mesh can fault what {link.server} sends "
            f"them (direction from), not {spec.direction!r} (its ingress cannot be told apart) (accepted: from)"
        )
    return [(None, server, None, "to", link.external_clients)]


def _shared_bandwidth(
    spec: NetworkFaultSpec, target: Target, clients: tuple[str, ...], server: dict[str, Any]
) -> tuple[str | None, dict[str, Any], dict[str, Any] | None, str, tuple[str, ...]]:
    """One bandwidth limit for the whole link, as the proxy's: on the side that sends."""
    if spec.direction == "from":
        return (None, server, None, "to", ())  # the server's egress: everything it sends its clients
    if spec.direction == "to" and len(clients) == 1:
        return (None, target.pods(clients[0]), server, "to", ())
    raise TargetError(
        f"bandwidth {spec.direction!r} on link {spec.link!r}: Chaos Mesh limits a pod's egress, so "
        f"{len(clients)} client services cannot share one limit of what they send (accepted: from, the "
        "server's egress; or to on a link with one client service)"
    )


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
    for part, selector, peer, direction, external in _pairs(spec, target):
        body = {**_spec_body(spec), "selector": selector, "direction": direction}
        if external:
            body["externalTargets"] = list(external)
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
