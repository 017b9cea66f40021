"""The local backend of network faults: the fault proxy in front of each service.

A spec's ``link`` is the proxy link; ``direction`` is the proxy's (to = client -> server). Packet
faults become what an application over TCP sees (see chaoslib_ext.proxy.faults): ``corrupt`` is a
loss (the kernel drops a corrupt segment and it is sent again); ``duplicate`` has no effect an
application can see, so the local backend refuses it rather than pretend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.driver import Injected
from chaoslib_ext.faults.expiry import ttl_s
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.proxy.client import ProxyClient
from chaoslib_ext.proxy.faults import Bandwidth, Delay, Direction, Loss, ProxyFault, SlowClose, Timeout
from chaoslib_ext.proxy.local import gone
from chaoslib_ext.target import Target

__all__ = ["FAULT_GRACE_S", "ProxyNetworkDriver"]

#: A fault with a duration expires this long after it should have been removed (see faults.expiry).
FAULT_GRACE_S = 30.0


def proxy_fault(spec: NetworkFaultSpec) -> ProxyFault:
    """The proxy fault that emulates ``spec``; raises TargetError for what the proxy cannot emulate."""
    if spec.duplicate is not None:
        raise TargetError(
            "duplicate has no effect an application over TCP can see (the kernel drops duplicate "
            "segments): the local fault proxy cannot emulate it; use it on a Chaos Mesh target"
        )
    if spec.selector is not None or spec.target is not None or spec.external_targets:
        raise TargetError(
            "selector, target and externalTargets need a Chaos Mesh target; the local backend "
            "applies faults to a proxy link (use link)"
        )
    losses = [p.percent for p in (spec.loss, spec.corrupt) if p is not None]
    # two independent loss sources: a chunk gets through only if neither hits it
    keep = 1.0
    for percent in losses:
        keep *= 1.0 - percent / 100.0
    correlation = max([p.correlation for p in (spec.loss, spec.corrupt) if p is not None], default=0.0)
    return ProxyFault(
        Direction.parse(spec.direction),
        ttl_s(spec.duration_s, FAULT_GRACE_S),
        delay=Delay(spec.delay.latency_s * 1000.0, spec.delay.jitter_s * 1000.0, spec.delay.correlation / 100.0)
        if spec.delay is not None
        else None,
        loss=Loss((1.0 - keep) * 100.0, correlation / 100.0) if losses else None,
        bandwidth=Bandwidth(spec.bandwidth.rate_bytes_s) if spec.bandwidth is not None else None,
        partition=spec.action == "partition",
        reset=spec.action == "reset",
        slow_close=SlowClose(spec.slow_close_s * 1000.0) if spec.slow_close_s is not None else None,
        timeout=Timeout(spec.timeout_percent, spec.timeout_close_after_s * 1000.0)
        if spec.timeout_percent is not None
        else None,
    )


class ProxyNetworkDriver:
    name: ClassVar[str] = "proxy"
    expires_by_itself = True  # the proxy's TTL

    def __init__(self, target: Target, link: str | None, fault: ProxyFault) -> None:
        if link is None:
            raise TargetError("the local backend needs a link (the fault proxy's link to fault)")
        self._link = link
        self._control_url = target.require_link(link)
        self._upstream = target.links[link].get("upstream", "?")
        self._proxy_process = target.proxy_process
        self._fault = fault

    def target(self) -> str:
        return f"proxy link {self._link} (-> {self._upstream})"

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [
            {
                "kind": "ProxyFault",
                "proxy": self._control_url,
                "link": self._link,
                "name": fault_id,
                "fault": self._fault.to_json(),
            }
        ]

    def undo(self, fault_id: str) -> dict[str, Any]:
        undo = {"control_url": self._control_url, "link": self._link, "fault": fault_id}
        return {**undo, "proxy_process": self._proxy_process} if self._proxy_process else undo

    def inject(self, fault_id: str) -> Injected:
        at, mark = ProxyClient(self._control_url).set_fault(self._link, fault_id, self._fault)
        return Injected(at, {} if mark is None else {"mark": mark})

    @staticmethod
    def evidence(undo: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, float] | None:
        """The fault's counters, read from the proxy (in force or removed: chaoslib_ext.proxy.link's
        ByteCounters, or a stream fault's); None when the proxy is gone or forgot it."""
        try:
            return ProxyClient(str(undo["control_url"])).counters(str(undo["link"]), str(undo["fault"]))
        except TargetError:
            return None

    @staticmethod
    def extend(undo: Mapping[str, Any], ttl_s: float) -> None:
        """The fault's TTL set to ``ttl_s`` from now, in place on the proxy; raises TargetError."""
        ProxyClient(str(undo["control_url"])).extend_fault(str(undo["link"]), str(undo["fault"]), ttl_s)

    @staticmethod
    def remove(undo: Mapping[str, Any]) -> bool:
        """Remove the fault; one on a run's own proxy that has exited went with it (False: nothing to do)."""
        try:
            return ProxyClient(str(undo["control_url"])).remove_fault(str(undo["link"]), str(undo["fault"]))
        except TargetError:
            if undo.get("proxy_process") and gone(str(undo["proxy_process"])):
                return False
            raise
