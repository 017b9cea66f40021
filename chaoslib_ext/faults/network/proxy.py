"""The local backend of network faults: the fault proxy in front of each service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.proxy.client import ProxyClient
from chaoslib_ext.proxy.faults import Delay, Direction, ProxyFault
from chaoslib_ext.target import Target

__all__ = ["UNBOUNDED_TTL_S", "ProxyNetworkDriver", "remove_proxy_fault"]

#: A fault without a duration still expires in the proxy after this long, should nothing remove it.
UNBOUNDED_TTL_S = 900.0
#: A fault with a duration expires this long after it should have been removed.
_TTL_GRACE_S = 30.0


class ProxyNetworkDriver:
    name = "proxy"

    def __init__(self, target: Target, spec: NetworkFaultSpec) -> None:
        self._control_url = target.require_link(spec.link)
        self._upstream = target.links[spec.link].get("upstream", "?")
        self._spec = spec

    def target(self) -> str:
        return f"proxy link {self._spec.link} (-> {self._upstream})"

    def proxy_fault(self) -> ProxyFault:
        spec = self._spec
        ttl = spec.duration_s + _TTL_GRACE_S if spec.duration_s else UNBOUNDED_TTL_S
        delay = None
        if spec.delay is not None:
            delay = Delay(
                spec.delay.latency_s * 1000.0, spec.delay.jitter_s * 1000.0, spec.delay.correlation_pct / 100.0
            )
        return ProxyFault(Direction.parse(spec.direction), ttl, delay=delay)

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [
            {
                "kind": "ProxyFault",
                "proxy": self._control_url,
                "link": self._spec.link,
                "name": fault_id,
                "fault": self.proxy_fault().to_json(),
            }
        ]

    def undo(self, fault_id: str) -> dict[str, Any]:
        return {"control_url": self._control_url, "link": self._spec.link, "fault": fault_id}

    def inject(self, fault_id: str) -> float:
        return ProxyClient(self._control_url).set_fault(self._spec.link, fault_id, self.proxy_fault())


def remove_proxy_fault(undo: Mapping[str, Any]) -> bool:
    return ProxyClient(str(undo["control_url"])).remove_fault(str(undo["link"]), str(undo["fault"]))
