"""HTTPChaos objects for a stream fault on a cluster target, where Chaos Mesh can say what the fault
proxy does, or refused by name where it cannot.

HTTPChaos acts on whole requests and responses of the pods it selects (a sidecar proxy on ``port``),
never on single SSE events, and selects pods, not a share of requests. So on a cluster:

- ``http-error``: the gateway's responses to ``path`` get ``replace.code`` (its status), the error body
  and a Retry-After header. Unlike the fault proxy, the gateway still serves the request; its answer
  is replaced;
- ``slow-first-token``: the requests to ``path`` are held ``delay`` before the gateway sees them: the
  delay comes before the first token and nothing after it, as the proxy's;
- every other action (stall, cut, slow-tokens, corrupt-event, drop-done) acts per SSE event and is
  refused, and so is a ``percent`` under 100 (HTTPChaos has no per-request share), naming the way that
  can: a proxy link of the target (``proxy.links.gateway.upstream``), the run's own fault proxy in front
  of the gateway's Service, which carries every stream fault of that link (chaoslib_ext.faults.stream).

HTTPChaos touches only connections opened after it is injected (a stream already open passes
untouched); the fault's description in the ledger and the report says so. Its coverage is unknown
(Chaos Mesh keeps no counters).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.objects import API_VERSION, chaos_duration, labels, object_name
from chaoslib_ext.faults.stream.spec import StreamFaultSpec
from chaoslib_ext.proxy.http import error_body
from chaoslib_ext.target import ChaosMeshSettings, Target

__all__ = ["HTTP_CHAOS_ACTIONS", "NEW_CONNECTIONS_ONLY", "gateway_port", "http_chaos_objects"]

#: the stream actions HTTPChaos can express
HTTP_CHAOS_ACTIONS = ("http-error", "slow-first-token")
NEW_CONNECTIONS_ONLY = "HTTPChaos touches only connections opened after its injection"
#: how a cluster target puts the run's fault proxy in front of a link's service (which then carries every action)
_PROXY_LINK = "proxy: {{links: {{{link}: {{upstream: <the service's URL>}}}}}} in the target"


def _rule(spec: StreamFaultSpec) -> dict[str, Any]:
    fault = spec.fault
    if spec.action == "http-error":
        replace: dict[str, Any] = {"code": fault.status, "body": base64.b64encode(error_body(fault)).decode()}
        headers = {"Content-Type": "application/json"}
        if fault.retry_after_s is not None:
            headers["Retry-After"] = f"{fault.retry_after_s:g}"
        return {"target": "Response", "replace": {**replace, "headers": headers}}
    return {"target": "Request", "delay": f"{fault.delay_ms:g}ms"}


def _refuse(spec: StreamFaultSpec) -> None:
    if spec.action not in HTTP_CHAOS_ACTIONS:
        raise TargetError(
            f"stream fault {spec.action!r} acts per SSE event, which Chaos Mesh's HTTPChaos cannot express "
            f"(it acts on whole requests and responses): accepted on a Chaos Mesh target: "
            f"{', '.join(HTTP_CHAOS_ACTIONS)}; for every action, put the run's fault proxy in front of the "
            f"gateway: {_PROXY_LINK.format(link=spec.link)}"
        )
    if spec.fault.percent < 100.0:
        raise TargetError(
            f"percent {spec.fault.percent:g}: HTTPChaos has no per-request share (its mode selects pods, not "
            f"requests) (accepted on a Chaos Mesh target: 100; for a share, put the run's fault proxy in front "
            f"of the gateway: {_PROXY_LINK.format(link=spec.link)})"
        )


def gateway_port(target: Target, link: str, port: int | None) -> int:
    """The port HTTPChaos proxies on the gateway's pods: ``port`` when given, else the port of the
    gateway's address; raises TargetError when neither says."""
    if port is not None:
        return port
    service = target.service(target.cluster_link(link).server)
    parts = urlsplit(service.address if "//" in service.address else f"//{service.address}")
    if parts.port is None:
        default = {"http": 80, "https": 443}.get(parts.scheme)
        if default is None:
            raise TargetError(f"the address of {service.name!r} names no port: give the stream fault a port")
        return default
    return parts.port


def http_chaos_objects(
    spec: StreamFaultSpec, target: Target, settings: ChaosMeshSettings, run_id: str, fault_id: str, port: int, path: str
) -> list[dict[str, Any]]:
    """The HTTPChaos manifest that applies ``spec`` on the link's server pods; raises TargetError when
    HTTPChaos cannot express it."""
    _refuse(spec)
    server = target.cluster_link(spec.link).server
    body = {
        "mode": "all",
        "selector": target.pods(server),
        "port": port,
        "path": path,
        "method": "POST",
        **_rule(spec),
        "duration": chaos_duration(spec.duration_s),
    }
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "HTTPChaos",
            "metadata": {
                "name": object_name(fault_id, run_id),
                "namespace": settings.namespace,
                "labels": labels(run_id, fault_id),
            },
            "spec": body,
        }
    ]
