"""Chaos Toolkit actions for Kafka faults (``module: chaoslib_ext.faults.kafka.actions``).

- ``broker_pause`` and ``broker_restart``: pod faults on the broker (``service: kafka``): on the
  sandbox SIGSTOP/SIGCONT of Tansu, or SIGKILL and a restart after ``down_for``; on a cluster PodChaos
  pod-failure / pod-kill on the broker pods.
- ``throttle``: consumer (broker -> clients) or producer (clients -> broker) throughput limited to
  ``messages_per_s`` of ``message_bytes`` each, as network bandwidth on the ``kafka`` link (the proxy
  locally, NetworkChaos bandwidth on a cluster). Record framing makes the real rate a little lower.
  Neither Tansu nor the mock cluster supports client quotas, so quotas are not used.
- ``leader_move`` and ``broker_down``: on the sandbox's multi-broker cluster (``service: kafka-cluster``,
  librdkafka's mock cluster). On Kubernetes a broker down is ``pod_fault`` pod-failure on its pod.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.exceptions import FaultError, SpecError, TargetError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.faults.driver import FaultDriver, PlanContext, Planner
from chaoslib_ext.faults.kafka.cluster import MockClusterDriver
from chaoslib_ext.faults.network.backends import network_driver
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.faults.pod.actions import apply_pod_fault, plan_pod_fault
from chaoslib_ext.faults.pod.spec import PodFaultSpec
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.target import Target

__all__ = ["broker_down", "broker_pause", "broker_restart", "leader_move", "throttle"]


def _spec_error(family: str, exc: SpecError) -> FaultError:
    return FaultError(f"bad Kafka fault ({family}): {exc}")


def _args(local: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in local.items() if k != "configuration" and v is not None}


# --- the broker process (pod faults) ------------------------------------------------------------


def _pause_as_pod(raw: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(raw, ["duration", "service", "name"])
    return {
        "action": "pod-failure",
        "service": f.string("service", "kafka"),
        "duration": f.raw.get("duration"),
        "name": f.string("name", "kafka-broker-pause"),
    }


def _restart_as_pod(raw: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(raw, ["down_for", "service", "name"])
    down_for = f.raw.get("down_for")
    return {
        "action": "pod-kill",
        "service": f.string("service", "kafka"),
        "name": f.string("name", "kafka-broker-restart"),
        **({"duration": down_for} if down_for not in (None, "0", "0s") else {}),
    }


def broker_pause(
    duration: str, service: str = "kafka", name: str | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Freeze the broker for ``duration`` (SIGSTOP / PodChaos pod-failure), then let it go on."""
    return apply_pod_fault(_pause_as_pod(_args(locals())), configuration, family="kafka")


def broker_restart(
    down_for: str = "0s", service: str = "kafka", name: str | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Kill the broker and start it again after ``down_for`` (SIGKILL / PodChaos pod-kill)."""
    return apply_pod_fault(_restart_as_pod(_args(locals())), configuration, family="kafka")


# --- throughput (network bandwidth) -------------------------------------------------------------


def _throttle_spec(raw: Mapping[str, Any]) -> NetworkFaultSpec:
    f = Fields(raw, ["direction", "messages_per_s", "message_bytes", "duration", "link", "name"])
    direction = f.string("direction", "consumer", choices=("consumer", "producer"))
    rate = int(f.number("messages_per_s", minimum=0.001) * f.integer("message_bytes", 512, minimum=1))
    return NetworkFaultSpec.parse(
        {
            "action": "bandwidth",
            "link": f.string("link", "kafka"),
            "direction": "from" if direction == "consumer" else "to",
            "bandwidth": {"rate": f"{max(rate, 1)}bps"},
            "name": f.string("name", f"kafka-{direction}-throttle"),
            **({"duration": f.raw["duration"]} if f.has("duration") else {}),
        }
    )


def _plan_throttle(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> tuple[str, FaultDriver]:
    try:
        spec = _throttle_spec(raw)
    except SpecError as exc:
        raise _spec_error("throttle", exc) from exc
    fault_id = ctx.unique(spec.fault_id)
    return fault_id, network_driver(target, spec, ctx.run_id, fault_id)


def throttle(
    messages_per_s: float,
    direction: str = "consumer",
    message_bytes: int = 512,
    duration: str | None = None,
    link: str = "kafka",
    name: str | None = None,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Limit consumer (or producer) throughput to ``messages_per_s`` messages of ``message_bytes``."""
    raw = _args(locals())
    run = RunContext.from_configuration(configuration)
    fault_id, driver = _plan_throttle(raw, run.target(), lifecycle.plan_context(run))
    spec = _throttle_spec(raw)
    return lifecycle.apply(
        run, driver, fault_id, "kafka", {**spec.to_json(), "messages_per_s": messages_per_s}, spec.duration_s
    )


# --- the multi-broker cluster ----------------------------------------------------------------------


def _cluster_op(raw: Mapping[str, Any], kind: str) -> tuple[dict[str, Any], str, float | None, str]:
    if kind == "leader-move":
        f = Fields(raw, ["topic", "partition", "broker", "duration", "service", "name"])
        op = {
            "kind": kind,
            "topic": f.string("topic"),
            "partition": f.integer("partition", minimum=0),
            "broker": f.integer("broker", minimum=1),
        }
        default_name = f"kafka-leader-move-{op['topic']}-{op['partition']}"
    else:
        f = Fields(raw, ["broker", "duration", "service", "name"])
        op = {"kind": kind, "broker": f.integer("broker", minimum=1)}
        default_name = f"kafka-broker-{op['broker']}-down"
    return (
        op,
        f.string("service", "kafka-cluster"),
        f.duration("duration", None, positive=True),
        f.string("name", default_name),
    )


def _plan_cluster(kind: str) -> Planner:
    def plan(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> tuple[str, FaultDriver]:
        try:
            op, service, _, name = _cluster_op(raw, kind)
        except SpecError as exc:
            raise _spec_error(kind, exc) from exc
        svc = target.service(service)
        if not svc.control:
            raise TargetError(
                f"service {service!r} of target {target.name!r} has no fault control API: "
                f"{kind} needs the sandbox's multi-broker cluster (kafka-cluster); on Kubernetes "
                "use pod_fault pod-failure on the broker's pod"
            )
        return ctx.unique(name), MockClusterDriver(svc.control, svc.real, op)

    return plan


def _run_cluster(kind: str, raw: dict[str, Any], configuration: dict[str, Any] | None) -> dict[str, Any]:
    run = RunContext.from_configuration(configuration)
    fault_id, driver = _plan_cluster(kind)(raw, run.target(), lifecycle.plan_context(run))
    op, _, duration_s, _ = _cluster_op(raw, kind)
    return lifecycle.apply(run, driver, fault_id, "kafka", op, duration_s)


def leader_move(
    topic: str,
    partition: int,
    broker: int,
    duration: str | None = None,
    service: str = "kafka-cluster",
    name: str | None = None,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Make ``broker`` the leader of ``topic[partition]``; on removal the previous leader leads again."""
    return _run_cluster("leader-move", _args(locals()), configuration)


def broker_down(
    broker: int,
    duration: str | None = None,
    service: str = "kafka-cluster",
    name: str | None = None,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Take ``broker`` down (its partitions lose their leader or a replica); on removal it comes back."""
    return _run_cluster("broker-down", _args(locals()), configuration)


def _pod(convert: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Planner:
    return lambda raw, target, ctx: plan_pod_fault(convert(raw), target, ctx)


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "broker_pause": lambda raw: PodFaultSpec.parse(_pause_as_pod(raw)),
    "broker_restart": lambda raw: PodFaultSpec.parse(_restart_as_pod(raw)),
    "throttle": _throttle_spec,
    "leader_move": lambda raw: _cluster_op(raw, "leader-move"),
    "broker_down": lambda raw: _cluster_op(raw, "broker-down"),
}
PLANNERS: dict[str, Planner] = {
    "broker_pause": _pod(_pause_as_pod),
    "broker_restart": _pod(_restart_as_pod),
    "throttle": _plan_throttle,
    "leader_move": _plan_cluster("leader-move"),
    "broker_down": _plan_cluster("broker-down"),
}
