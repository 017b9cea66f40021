"""The driver of multi-broker faults on the sandbox's mock Kafka cluster (its control API): move a
partition's leader, take a broker down. The undo (the leader before the move, the broker up) is read
from the cluster's metadata before anything changes."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.kafka.clients import client_config

__all__ = ["MockClusterDriver", "remove_cluster_fault"]


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


class MockClusterDriver:
    name = "kafka-cluster"
    expires_by_itself = False  # a broker stays down until someone brings it up

    def __init__(self, control_url: str, bootstraps: str, operation: dict[str, Any]) -> None:
        self._control = control_url
        self._bootstraps = bootstraps
        self._op = operation
        self.details: dict[str, Any] = {}

    def target(self) -> str:
        if self._op["kind"] == "leader-move":
            return f"kafka cluster {self._bootstraps}: {self._op['topic']}[{self._op['partition']}]"
        return f"kafka cluster {self._bootstraps}: broker {self._op['broker']}"

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [{"kind": "KafkaClusterFault", "control": self._control, **self._op}]

    def undo(self, fault_id: str) -> dict[str, Any]:
        if self._op["kind"] == "leader-move":
            previous = current_leader(self._bootstraps, self._op["topic"], self._op["partition"])
            self.details = {"previous_leader": previous}
            return {
                "control_url": self._control,
                "kind": "leader-move",
                "topic": self._op["topic"],
                "partition": self._op["partition"],
                "broker": previous,
            }
        return {"control_url": self._control, "kind": "broker-up", "broker": self._op["broker"]}

    def inject(self, fault_id: str) -> float:
        if self._op["kind"] == "leader-move":
            _put(
                self._control,
                f"/topics/{self._op['topic']}/partitions/{self._op['partition']}/leader",
                {"broker": self._op["broker"]},
            )
        else:
            _put(self._control, f"/brokers/{self._op['broker']}", {"up": False})
        return time.time()


def remove_cluster_fault(undo: Mapping[str, Any]) -> bool:
    if undo["kind"] == "leader-move":
        _put(
            str(undo["control_url"]),
            f"/topics/{undo['topic']}/partitions/{undo['partition']}/leader",
            {"broker": undo["broker"]},
        )
    else:
        _put(str(undo["control_url"]), f"/brokers/{undo['broker']}", {"up": True})
    return True
