"""The remover of each driver, by the name the ledger stores: sweeping needs nothing else."""

from __future__ import annotations

from chaoslib_ext.exceptions import FaultRemovalError
from chaoslib_ext.faults.chaosmesh.driver import remove_chaos_mesh_objects
from chaoslib_ext.faults.driver import Remover
from chaoslib_ext.faults.kafka.cluster import remove_cluster_fault
from chaoslib_ext.faults.network.proxy import remove_proxy_fault
from chaoslib_ext.faults.pod.process import remove_process_fault
from chaoslib_ext.faults.redis.driver import remove_redis_fault

__all__ = ["remover"]

_REMOVERS: dict[str, Remover] = {
    "proxy": remove_proxy_fault,
    "chaos-mesh": remove_chaos_mesh_objects,
    "redis": remove_redis_fault,
    "process": remove_process_fault,
    "kafka-cluster": remove_cluster_fault,
}


def remover(driver: str) -> Remover:
    if driver not in _REMOVERS:
        raise FaultRemovalError(f"no remover for driver {driver!r} (accepted: {', '.join(_REMOVERS)})")
    return _REMOVERS[driver]
