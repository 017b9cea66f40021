"""Which driver applies a network fault: the target decides, not the experiment."""

from __future__ import annotations

from chaoslib_ext.faults.chaosmesh.driver import ChaosMeshDriver
from chaoslib_ext.faults.chaosmesh.network import network_chaos_objects
from chaoslib_ext.faults.driver import FaultDriver
from chaoslib_ext.faults.network.proxy import ProxyNetworkDriver, proxy_fault
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.target import Target

__all__ = ["network_driver"]


def network_driver(target: Target, spec: NetworkFaultSpec, run_id: str, fault_id: str) -> FaultDriver:
    """The fault proxy on a local target, Chaos Mesh on a cluster target; raises TargetError when the
    target cannot apply ``spec`` (an unknown link, a namespace outside the allowlist, ...)."""
    if target.backend == "chaos-mesh":
        settings = target.require_chaos_mesh()
        manifests = network_chaos_objects(spec, target, settings, run_id, fault_id)
        where = f"link {spec.link}" if spec.link else "selected pods"
        return ChaosMeshDriver(settings, manifests, f"NetworkChaos {spec.action} on {where}")
    return ProxyNetworkDriver(target, spec.link, proxy_fault(spec))
