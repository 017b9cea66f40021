"""The driver of multi-broker faults on the sandbox's mock Kafka cluster (its control API): move a
partition's leader, take a broker down. The undo (the leader before the move, the broker up) is read
from the cluster's metadata before anything changes.

Evidence (chaoslib_ext.verdict.evidence, ``calls``), from the cluster's request log (its control API's
``/requests``), produce and fetch requests only:

- a leader move: ``calls`` = the requests the new leader served while it led, ``calls_all`` = every
  broker's. The log names brokers, not partitions: the new leader's other partitions count too;
- a broker down: ``calls`` = the requests the broker served in as long a time just before it went
  down (what the fault took away: it serves none while down), ``calls_all`` = every broker's then.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import requests
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.driver import Injected
from chaoslib_ext.faults.kafka.clients import client_config

__all__ = ["BrokerDown", "LeaderMove", "MockClusterDriver"]


def _put(control_url: str, path: str, body: dict[str, Any]) -> None:
    try:
        resp = requests.put(control_url.rstrip("/") + path, json=body, timeout=5)
    except requests.RequestException as exc:
        raise TargetError(f"Kafka cluster control API at {control_url} is unreachable: {exc}") from exc
    if resp.status_code != 200:
        raise TargetError(f"Kafka cluster refused {path}: {resp.text.strip()}")


def current_leader(bootstraps: str, topic: str, partition: int) -> int:
    try:
        meta = AdminClient(client_config(bootstraps)).list_topics(topic, timeout=5)
    except KafkaException as exc:
        raise TargetError(f"Kafka metadata for {topic}: {exc}") from exc
    found = meta.topics.get(topic)
    if found is None or found.error is not None or partition not in found.partitions:
        accepted = ", ".join(str(p) for p in sorted(found.partitions)) if found and not found.error else "none"
        raise TargetError(f"no partition {partition} in topic {topic!r} (accepted: {accepted})")
    return int(found.partitions[partition].leader)


_COUNTED = ("produce", "fetch")


def _requests(control_url: str, since: float, until: float) -> dict[str, int]:
    """The produce and fetch requests each broker served between two unix times, by broker id."""
    try:
        resp = requests.get(control_url.rstrip("/") + "/requests", params={"since": since, "until": until}, timeout=5)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise TargetError(f"Kafka cluster control API at {control_url}: /requests: {exc}") from exc
    return {b: sum(int(c.get(api, 0)) for api in _COUNTED) for b, c in resp.json()["brokers"].items()}


def _brokers(control_url: str) -> dict[str, Any]:
    try:
        resp = requests.get(control_url.rstrip("/") + "/brokers", timeout=5)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise TargetError(f"Kafka cluster control API at {control_url} is unreachable: {exc}") from exc
    found: dict[str, Any] = resp.json()
    return found


class MockClusterDriver:
    """The faults of the sandbox's multi-broker cluster, one subclass a kind; ``remove`` works for
    every kind from its undo record, and changes nothing when the cluster is already as it was."""

    name: ClassVar[str] = "kafka-cluster"
    expires_by_itself = False  # a broker stays down, a leader stays moved, until someone undoes it

    def __init__(self, control_url: str, bootstraps: str) -> None:
        self._control = control_url
        self._bootstraps = bootstraps

    def target(self) -> str:
        return f"kafka cluster {self._bootstraps}"

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [{"kind": "KafkaClusterFault", "control": self._control, **self._operation()}]

    def _operation(self) -> dict[str, Any]:
        raise NotImplementedError

    def undo(self, fault_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def inject(self, fault_id: str) -> Injected:
        raise NotImplementedError

    @staticmethod
    def evidence(undo: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, float] | None:
        """The produce and fetch requests that went through the faulted broker (see the module's docstring)."""
        since, broker = details.get("since"), details.get("counted_broker")
        if not isinstance(since, int | float) or not isinstance(broker, int):
            return None
        now = time.time()
        if undo["kind"] == "broker-up":  # it served nothing while down: what it served just before
            since, now = 2 * since - now, since
        counts = _requests(str(undo["control_url"]), float(since), now)
        return {"calls": counts.get(str(broker), 0), "calls_all": sum(counts.values())}

    @staticmethod
    def remove(undo: Mapping[str, Any]) -> bool:
        """Move the leader back (``leader-move``) or bring the broker up (``broker-up``); False when
        it already leads, or is already up."""
        control = str(undo["control_url"])
        cluster = _brokers(control)
        if undo["kind"] == "leader-move":
            topic, partition, broker = str(undo["topic"]), int(undo["partition"]), int(undo["broker"])
            if current_leader(str(cluster["bootstraps"]), topic, partition) == broker:
                return False
            _put(control, f"/topics/{topic}/partitions/{partition}/leader", {"broker": broker})
            return True
        broker = int(undo["broker"])
        if any(b["id"] == broker and b["up"] for b in cluster["brokers"]):
            return False
        _put(control, f"/brokers/{broker}", {"up": True})
        return True


class LeaderMove(MockClusterDriver):
    """Make ``broker`` the leader of ``topic[partition]``; the leader before the move is the undo."""

    def __init__(self, control_url: str, bootstraps: str, topic: str, partition: int, broker: int) -> None:
        super().__init__(control_url, bootstraps)
        self._topic, self._partition, self._broker = topic, partition, broker
        self._previous: int | None = None

    def target(self) -> str:
        return f"{super().target()}: {self._topic}[{self._partition}]"

    def _operation(self) -> dict[str, Any]:
        return {"kind": "leader-move", "topic": self._topic, "partition": self._partition, "broker": self._broker}

    def undo(self, fault_id: str) -> dict[str, Any]:
        self._previous = current_leader(self._bootstraps, self._topic, self._partition)
        return {"control_url": self._control, "kind": "leader-move", "topic": self._topic,
                "partition": self._partition, "broker": self._previous}  # fmt: skip

    def inject(self, fault_id: str) -> Injected:
        _put(self._control, f"/topics/{self._topic}/partitions/{self._partition}/leader", {"broker": self._broker})
        now = time.time()
        return Injected(now, {"previous_leader": self._previous, "since": now, "counted_broker": self._broker})


class BrokerDown(MockClusterDriver):
    """Take ``broker`` down; bringing it up is the undo."""

    def __init__(self, control_url: str, bootstraps: str, broker: int) -> None:
        super().__init__(control_url, bootstraps)
        self._broker = broker

    def target(self) -> str:
        return f"{super().target()}: broker {self._broker}"

    def _operation(self) -> dict[str, Any]:
        return {"kind": "broker-down", "broker": self._broker}

    def undo(self, fault_id: str) -> dict[str, Any]:
        return {"control_url": self._control, "kind": "broker-up", "broker": self._broker}

    def inject(self, fault_id: str) -> Injected:
        _put(self._control, f"/brokers/{self._broker}", {"up": False})
        now = time.time()
        return Injected(now, {"since": now, "counted_broker": self._broker})
