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

from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.exceptions import FaultError, SpecError, TargetError
from chaoslib_ext.faults.driver import PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.kafka.cluster import BrokerDown, LeaderMove, MockClusterDriver
from chaoslib_ext.faults.lifecycle import action_arguments, run_planned
from chaoslib_ext.faults.network.backends import network_driver
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.faults.pod.actions import plan_pod_fault
from chaoslib_ext.faults.pod.spec import PodFaultSpec
from chaoslib_ext.fields import Fields
from chaoslib_ext.target import Target

__all__ = ["broker_down", "broker_pause", "broker_restart", "leader_move", "throttle"]


def _spec_error(family: str, exc: SpecError) -> FaultError:
    return FaultError(f"bad Kafka fault ({family}): {exc}")


# --- the broker process (pod faults) ------------------------------------------------------------


def _pause_as_pod(raw: Mapping[str, Any]) -> ActivityResult:
    f = Fields(raw, ["duration", "service", "name"])
    return {
        "action": "pod-failure",
        "service": f.string("service", "kafka"),
        "duration": f.raw.get("duration"),
        "name": f.string("name", "kafka-broker-pause"),
    }


def _restart_as_pod(raw: Mapping[str, Any]) -> ActivityResult:
    f = Fields(raw, ["down_for", "service", "name"])
    down_for = f.raw.get("down_for")
    return {
        "action": "pod-kill",
        "service": f.string("service", "kafka"),
        "name": f.string("name", "kafka-broker-restart"),
        **({"duration": down_for} if down_for not in (None, "0", "0s") else {}),
    }


def broker_pause(
    duration: str, service: str = "kafka", name: str | None = None, configuration: Configuration | None = None
) -> ActivityResult:
    """Freeze the broker for ``duration`` (SIGSTOP / PodChaos pod-failure), then let it go on."""
    return run_planned(_pod(_pause_as_pod), action_arguments(locals()), configuration)


def broker_restart(
    down_for: str = "0s", service: str = "kafka", name: str | None = None, configuration: Configuration | None = None
) -> ActivityResult:
    """Kill the broker and start it again after ``down_for`` (SIGKILL / PodChaos pod-kill)."""
    return run_planned(_pod(_restart_as_pod), action_arguments(locals()), configuration)


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


def _plan_throttle(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> PlannedFault:
    try:
        spec = _throttle_spec(raw)
    except SpecError as exc:
        raise _spec_error("throttle", exc) from exc
    fault_id = ctx.unique(spec.fault_id)
    recorded = {**spec.to_json(), "messages_per_s": raw.get("messages_per_s")}
    return PlannedFault(
        fault_id, "kafka", network_driver(target, spec, ctx.run_id, fault_id), recorded, spec.duration_s
    )


def throttle(
    messages_per_s: float,
    direction: str = "consumer",
    message_bytes: int = 512,
    duration: str | None = None,
    link: str = "kafka",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Limit consumer (or producer) throughput to ``messages_per_s`` messages of ``message_bytes``."""
    return run_planned(_plan_throttle, action_arguments(locals()), configuration)


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
    def plan(raw: Mapping[str, Any], target: Target, ctx: PlanContext) -> PlannedFault:
        try:
            op, service, duration_s, name = _cluster_op(raw, kind)
        except SpecError as exc:
            raise _spec_error(kind, exc) from exc
        svc = target.service(service)
        if not svc.control:
            raise TargetError(
                f"service {service!r} of target {target.name!r} has no fault control API: "
                f"{kind} needs the sandbox's multi-broker cluster (kafka-cluster); on Kubernetes "
                "use pod_fault pod-failure on the broker's pod"
            )
        driver: MockClusterDriver = (
            LeaderMove(svc.control, svc.real, op["topic"], op["partition"], op["broker"])
            if kind == "leader-move"
            else BrokerDown(svc.control, svc.real, op["broker"])
        )
        return PlannedFault(ctx.unique(name), "kafka", driver, op, duration_s)

    return plan


def leader_move(
    topic: str,
    partition: int,
    broker: int,
    duration: str | None = None,
    service: str = "kafka-cluster",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Make ``broker`` the leader of ``topic[partition]``; on removal the previous leader leads again."""
    return run_planned(_plan_cluster("leader-move"), action_arguments(locals()), configuration)


def broker_down(
    broker: int,
    duration: str | None = None,
    service: str = "kafka-cluster",
    name: str | None = None,
    configuration: Configuration | None = None,
) -> ActivityResult:
    """Take ``broker`` down (its partitions lose their leader or a replica); on removal it comes back."""
    return run_planned(_plan_cluster("broker-down"), action_arguments(locals()), configuration)


def _pod(convert: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Planner:
    return lambda raw, target, ctx: plan_pod_fault(convert(raw), target, ctx, family="kafka")


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
