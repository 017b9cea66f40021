"""Chaos Toolkit probes on Kafka (``module: chaoslib_ext.faults.kafka.probes``), from the broker's own
metadata and offsets (``services.<service>.real``, not through the fault proxy).

Partitions are judged against the live brokers: offline when their leader is not live (or is -1),
under-replicated when fewer of their in-sync replicas are live than they have replicas.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from chaoslib_ext.ctk import Configuration
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.kafka.clients import service_config
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import target_for

__all__ = ["consumer_lag", "live_brokers", "offline_partitions", "under_replicated_partitions"]

_TIMEOUT_S = 5.0


def _config(configuration: Configuration | None, service: str, **extra: Any) -> dict[str, Any]:
    target = target_for(configuration)
    return service_config(target, service, **extra)


def _metadata(configuration: Configuration | None, service: str, topic: str | None) -> Any:
    try:
        return AdminClient(_config(configuration, service)).list_topics(topic, timeout=_TIMEOUT_S)
    except KafkaException as exc:
        raise TargetError(f"Kafka metadata from {service}: {exc}") from exc


def _partitions(meta: Any, topic: str | None) -> list[Any]:
    topics = [meta.topics[topic]] if topic else [t for name, t in meta.topics.items() if not name.startswith("__")]
    return [p for t in topics if t.error is None for p in t.partitions.values()]


def live_brokers(service: str = "kafka", configuration: Configuration | None = None) -> int:
    """How many brokers the cluster's metadata lists."""
    return len(_metadata(configuration, service, None).brokers)


def offline_partitions(
    topic: str | None = None, service: str = "kafka", configuration: Configuration | None = None
) -> int:
    """Partitions whose leader is not a live broker."""
    meta = _metadata(configuration, service, topic)
    live = set(meta.brokers)
    return sum(1 for p in _partitions(meta, topic) if p.leader not in live)


def under_replicated_partitions(
    topic: str | None = None, service: str = "kafka", configuration: Configuration | None = None
) -> int:
    """Partitions with fewer live in-sync replicas than replicas."""
    meta = _metadata(configuration, service, topic)
    live = set(meta.brokers)
    return sum(1 for p in _partitions(meta, topic) if len(set(p.isrs) & live) < len(p.replicas))


def consumer_lag(group: str, topic: str, service: str = "kafka", configuration: Configuration | None = None) -> int:
    """Messages of ``topic`` the consumer group has not committed yet (summed over partitions).

    The high watermarks come from a fetch at the committed offsets, not from ListOffsets: Tansu (the
    sandbox broker) answers ListOffsets with the last batch's base offset + 1, which undercounts.
    The fetch asks for one byte per partition, so on Kafka it moves at most one batch each.
    """
    consumer = Consumer(
        _config(
            configuration,
            service,
            **{
                "group.id": group,
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "max.partition.fetch.bytes": 1,
            },
        )
    )
    try:
        meta = consumer.list_topics(topic, timeout=_TIMEOUT_S)
        if topic not in meta.topics or meta.topics[topic].error is not None:
            raise TargetError(f"topic {topic!r} does not exist on {service}")
        partitions = [TopicPartition(topic, p) for p in sorted(meta.topics[topic].partitions)]
        committed = consumer.committed(partitions, timeout=_TIMEOUT_S)
        high = _fetched_high_watermarks(consumer, committed)
        lag = 0
        for tp in committed:
            start = tp.offset if tp.offset >= 0 else consumer.get_watermark_offsets(tp, cached=True)[0]
            lag += high[tp.partition] - start
        return lag
    except KafkaException as exc:
        raise TargetError(f"Kafka offsets of group {group!r}: {exc}") from exc
    finally:
        consumer.close()


def _fetched_high_watermarks(consumer: Consumer, committed: list[TopicPartition]) -> dict[int, int]:
    """Each partition's high watermark from a fetch at its committed offset (or its beginning)."""
    consumer.assign(
        [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING) for tp in committed]
    )
    pending = {tp.partition for tp in committed}
    deadline = time.monotonic() + _TIMEOUT_S
    while pending and time.monotonic() < deadline:
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        error = msg.error()
        if error is not None and error.code() != KafkaError._PARTITION_EOF:
            raise TargetError(f"Kafka fetch of {msg.topic()}[{msg.partition()}]: {error.str()}")
        pending.discard(msg.partition())
    if pending:
        raise TargetError(f"no fetch answer for partitions {sorted(pending)} within {_TIMEOUT_S:g}s")
    return {tp.partition: consumer.get_watermark_offsets(tp, cached=True)[1] for tp in committed}


def _fields(*names: str) -> Callable[[Mapping[str, Any]], object]:
    return lambda raw: Fields(raw, list(names))


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "live_brokers": _fields("service"),
    "offline_partitions": _fields("topic", "service"),
    "under_replicated_partitions": _fields("topic", "service"),
    "consumer_lag": lambda raw: Fields(raw, ["group", "topic", "service"]).string("group"),
}
