"""Chaos Toolkit actions for Redis faults (``module: chaoslib_ext.faults.redis.actions``).

Admin faults run commands against the Redis the target names (``services.redis.real``: never through
the fault proxy): ``pause_clients`` (CLIENT PAUSE, lifted by Redis itself when it ends),
``block_server`` (DEBUG SLEEP in slices), ``kill_clients``, ``memory_pressure`` (maxmemory + policy,
the exact prior values restored) and ``failover`` (to ``services.redis-replica``, and back).

Network faults on the link to Redis (``link: redis`` by default) go through the target's network
backend: ``latency``, ``partition`` and ``call_failures``. Locally a call failure is a request that is
never answered (its connection goes silent, the client times out) or, with ``kind: reset``, a
connection reset. Chaos Mesh cannot make a share of calls go unanswered nor reset them: on a cluster
``call_failures`` is refused unless the experiment says what to run there instead,
``on_cluster: packet-loss`` (that share of packets lost: a call that loses one waits for TCP's
retransmission, 200 ms or more on Linux, and times out only if the client's timeout is shorter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.exceptions import FaultError, SpecError
from chaoslib_ext.faults.driver import PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.lifecycle import action_arguments, run_planned
from chaoslib_ext.faults.network.backends import network_driver
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.faults.redis.driver import redis_driver
from chaoslib_ext.faults.redis.server import RedisServer
from chaoslib_ext.faults.redis.spec import RedisFault
from chaoslib_ext.fields import Fields
from chaoslib_ext.target import Target

__all__ = [
    "block_server",
    "call_failures",
    "failover",
    "kill_clients",
    "latency",
    "memory_pressure",
    "partition",
    "pause_clients",
]

_KINDS = ("timeout", "reset")
_ON_CLUSTER = ("packet-loss",)


def _parse(parse: Callable[[Mapping[str, Any]], Any], raw: Mapping[str, Any]) -> Any:
    try:
        return parse(raw)
    except SpecError as exc:
        raise FaultError(f"bad Redis fault: {exc}") from exc


# --- admin faults -----------------------------------------------------------------------------------


def _admin(parse: Callable[[Mapping[str, Any]], RedisFault], hold_s: float | None = None) -> Planner:
    """The planner of an admin fault; held for its duration, or ``hold_s`` (0: a single blow)."""

    def plan(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> PlannedFault:
        fault: RedisFault = _parse(parse, raw)
        replica = RedisServer.of(target, "redis-replica") if "redis-replica" in target.services else None
        driver = redis_driver(RedisServer.of(target), fault, replica, ctx.state_dir)
        hold = fault.duration_s if hold_s is None else hold_s
        return PlannedFault(ctx.unique(fault.fault_id), "redis", driver, fault.to_json(), hold)

    return plan


def pause_clients(
    duration: str, mode: str = "WRITE", name: str | None = None, configuration: Configuration | None = None
) -> ActivityResult:
    """CLIENT PAUSE for ``duration``: WRITE stops writes, ALL every command."""
    return run_planned(_admin(RedisFault.pause_clients), action_arguments(locals()), configuration)


def block_server(
    duration: str,
    slice: str = "500ms",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Block the server's main thread for ``duration``, one DEBUG SLEEP ``slice`` after another."""
    return run_planned(_admin(RedisFault.block_server), action_arguments(locals()), configuration)


def kill_clients(
    type: str = "normal",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Close every client connection of ``type`` at once (CLIENT KILL); clients must reconnect."""
    return run_planned(_admin(RedisFault.kill_clients, hold_s=0.0), action_arguments(locals()), configuration)


def memory_pressure(
    maxmemory: str,
    policy: str = "allkeys-lru",
    duration: str | None = None,
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Lower maxmemory (and set the eviction policy); the exact prior settings come back on removal."""
    return run_planned(_admin(RedisFault.memory_pressure), action_arguments(locals()), configuration)


def failover(
    duration: str | None = None, name: str | None = None, configuration: Configuration | None = None
) -> ActivityResult:
    """Hand the primary role to the replica (FAILOVER); on removal, hand it back."""
    return run_planned(_admin(RedisFault.failover), action_arguments(locals()), configuration)


# --- network faults on the link to Redis ---------------------------------------------------------------


def _network_spec(raw: Mapping[str, Any], kind: str, cluster: bool = False) -> NetworkFaultSpec:
    """The network fault a Redis network action stands for (on a cluster when ``cluster``)."""
    if kind == "latency":
        f = Fields(raw, ["latency", "jitter", "duration", "name", "link"])
        net: dict[str, Any] = {
            "action": "delay",
            "delay": {"latency": f.raw.get("latency"), "jitter": f.raw.get("jitter", "0ms")},
        }
    elif kind == "partition":
        f = Fields(raw, ["direction", "duration", "name", "link"])
        net = {"action": "partition", "direction": f.string("direction", "both", choices=("to", "from", "both"))}
    else:
        f = Fields(raw, ["percent", "kind", "on_cluster", "duration", "name", "link"])
        percent = f.number("percent", 15.0, minimum=0.0, maximum=100.0)
        kind_of = f.string("kind", "timeout", choices=_KINDS)
        reset = kind_of == "reset"
        on_cluster = f.string("on_cluster", None, choices=_ON_CLUSTER)
        if cluster and on_cluster is None:
            raise SpecError(
                "on_cluster",
                f"Chaos Mesh cannot make {percent:g} % of calls {'be reset' if reset else 'go unanswered'} "
                "(NetworkChaos loses packets; it does not fail calls): say what to run on a cluster instead",
                "packet-loss (that share of packets lost: a call that loses one waits for a TCP "
                "retransmission, >= 200 ms)",
            )
        if cluster:
            net = {"action": "loss", "loss": {"loss": f"{percent:g}"}}
        else:
            net = {"action": "timeout", "timeout": {"percent": percent, **({"close_after": "1ms"} if reset else {})}}
    net.update({k: f.raw[k] for k in ("duration", "name") if k in f.raw})
    net["link"] = f.raw.get("link", "redis")
    net.setdefault("name", f"redis-{kind}")
    return NetworkFaultSpec.parse(net)


def _network(kind: str) -> Planner:
    def plan(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> PlannedFault:
        spec: NetworkFaultSpec = _parse(lambda r: _network_spec(r, kind, target.backend == "chaos-mesh"), raw)
        fault_id = ctx.unique(spec.fault_id)
        driver = network_driver(target, spec, ctx.run_id, fault_id)
        return PlannedFault(fault_id, "redis", driver, spec.to_json(), spec.duration_s)

    return plan


def latency(
    latency: str,
    jitter: str = "0ms",
    duration: str | None = None,
    link: str = "redis",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Delay every call to Redis (the network layer, client -> Redis)."""
    return run_planned(_network("latency"), action_arguments(locals()), configuration)


def partition(
    duration: str | None = None,
    direction: str = "both",
    link: str = "redis",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Cut Redis off from its clients (the network layer)."""
    return run_planned(_network("partition"), action_arguments(locals()), configuration)


def call_failures(
    percent: float = 15.0,
    kind: str = "timeout",
    on_cluster: str | None = None,
    duration: str | None = None,
    link: str = "redis",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Make ``percent`` of calls to Redis fail: time out (default) or be reset; on a cluster only what
    ``on_cluster`` says (``packet-loss``)."""
    return run_planned(_network("call-failures"), action_arguments(locals()), configuration)


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "pause_clients": RedisFault.pause_clients,
    "block_server": RedisFault.block_server,
    "kill_clients": RedisFault.kill_clients,
    "memory_pressure": RedisFault.memory_pressure,
    "failover": RedisFault.failover,
    "latency": lambda raw: _network_spec(raw, "latency"),
    "partition": lambda raw: _network_spec(raw, "partition"),
    "call_failures": lambda raw: _network_spec(raw, "call-failures"),
}
PLANNERS: dict[str, Planner] = {
    "pause_clients": _admin(RedisFault.pause_clients),
    "block_server": _admin(RedisFault.block_server),
    "kill_clients": _admin(RedisFault.kill_clients, hold_s=0.0),
    "memory_pressure": _admin(RedisFault.memory_pressure),
    "failover": _admin(RedisFault.failover),
    "latency": _network("latency"),
    "partition": _network("partition"),
    "call_failures": _network("call-failures"),
}
