"""Chaos Toolkit probes on Redis (``module: chaoslib_ext.faults.redis.probes``): reachability, latency,
evictions, role and a configuration value, read from the target's Redis (not through the proxy)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import redis

from chaoslib_ext.ctk import Configuration
from chaoslib_ext.faults.redis.server import RedisServer
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import target_for

__all__ = ["redis_config", "redis_evictions", "redis_latency_ms", "redis_reachable", "redis_role"]


def _server(configuration: Configuration | None, service: str = "redis") -> RedisServer:
    return RedisServer.of(target_for(configuration), service)


def redis_reachable(timeout: float = 2.0, service: str = "redis", configuration: Configuration | None = None) -> bool:
    """True when Redis answers PING within ``timeout`` seconds."""
    client = _server(configuration, service).client(timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def redis_latency_ms(samples: int = 5, service: str = "redis", configuration: Configuration | None = None) -> float:
    """The median PING round trip in ms over ``samples`` pings (raises when Redis does not answer)."""
    client = _server(configuration, service).client()
    try:
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            client.ping()
            times.append((time.perf_counter() - start) * 1000.0)
        return statistics.median(times)
    finally:
        client.close()


def _info(section: str, configuration: Configuration | None, service: str) -> dict[str, Any]:
    client = _server(configuration, service).client()
    try:
        info: dict[str, Any] = client.info(section)
        return info
    finally:
        client.close()


def redis_evictions(service: str = "redis", configuration: Configuration | None = None) -> int:
    """Keys evicted since the server started (INFO stats evicted_keys)."""
    return int(_info("stats", configuration, service)["evicted_keys"])


def redis_role(service: str = "redis", configuration: Configuration | None = None) -> str:
    """``master`` or ``slave`` (INFO replication role)."""
    return str(_info("replication", configuration, service)["role"])


def redis_config(parameter: str, service: str = "redis", configuration: Configuration | None = None) -> str:
    """One CONFIG GET value, e.g. ``maxmemory``, to check a fault restored it exactly."""
    client = _server(configuration, service).client()
    try:
        return str(client.config_get(parameter)[parameter])
    finally:
        client.close()


def _service_only(*extra: str) -> Callable[[Mapping[str, Any]], object]:
    return lambda raw: Fields(raw, ["service", *extra])


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "redis_reachable": _service_only("timeout"),
    "redis_latency_ms": _service_only("samples"),
    "redis_evictions": _service_only(),
    "redis_role": _service_only(),
    "redis_config": lambda raw: Fields(raw, ["parameter", "service"]).string("parameter"),
}
