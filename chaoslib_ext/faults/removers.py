"""Every fault driver by the name the ledger stores: sweeping a ledger needs nothing else."""

from __future__ import annotations

from chaoslib_ext.exceptions import FaultRemovalError
from chaoslib_ext.faults.chaosmesh.driver import ChaosMeshDriver
from chaoslib_ext.faults.driver import FaultDriver
from chaoslib_ext.faults.kafka.cluster import MockClusterDriver
from chaoslib_ext.faults.network.proxy import ProxyNetworkDriver
from chaoslib_ext.faults.pod.process import ProcessDriver
from chaoslib_ext.faults.redis.driver import RedisDriver

__all__ = ["DRIVERS", "driver_class"]

DRIVERS: dict[str, type[FaultDriver]] = {
    d.name: d for d in (ProxyNetworkDriver, ChaosMeshDriver, RedisDriver, ProcessDriver, MockClusterDriver)
}


def driver_class(name: str) -> type[FaultDriver]:
    """The driver a ledger entry names; FaultRemovalError for a name this release does not know."""
    if name not in DRIVERS:
        raise FaultRemovalError(f"no fault driver {name!r} (accepted: {', '.join(DRIVERS)})")
    return DRIVERS[name]
