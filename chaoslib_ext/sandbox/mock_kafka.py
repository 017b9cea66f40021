"""librdkafka's mock Kafka cluster, through ctypes on the librdkafka that confluent-kafka bundles.

The mock cluster speaks the Kafka protocol on real loopback ports, with several brokers, and has a C
API for faults Tansu (single broker) cannot have: moving a partition's leader, taking a broker down.
"""

from __future__ import annotations

import ctypes
import importlib.util
from pathlib import Path

from chaoslib_ext.exceptions import TargetError

__all__ = ["MockCluster"]

_PRODUCER = 0
#: the cluster's request log is cleared when it holds this many (each read copies all of it)
_CLEAR_AFTER = 20_000


def _library() -> ctypes.CDLL:
    spec = importlib.util.find_spec("confluent_kafka")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("confluent-kafka is not installed")
    libs = sorted((Path(spec.origin).parent.parent / "confluent_kafka.libs").glob("librdkafka*.so*"))
    if not libs:
        raise FileNotFoundError("confluent-kafka's bundled librdkafka was not found")
    lib = ctypes.CDLL(str(libs[0]))
    vp, cp, i32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32
    signatures = {
        "rd_kafka_conf_new": ([], vp),
        "rd_kafka_conf_set": ([vp, cp, cp, cp, ctypes.c_size_t], ctypes.c_int),
        "rd_kafka_new": ([ctypes.c_int, vp, cp, ctypes.c_size_t], vp),
        "rd_kafka_destroy": ([vp], None),
        "rd_kafka_mock_cluster_new": ([vp, ctypes.c_int], vp),
        "rd_kafka_mock_cluster_destroy": ([vp], None),
        "rd_kafka_mock_cluster_bootstraps": ([vp], cp),
        "rd_kafka_mock_topic_create": ([vp, cp, ctypes.c_int, ctypes.c_int], ctypes.c_int),
        "rd_kafka_mock_partition_set_leader": ([vp, cp, i32, i32], ctypes.c_int),
        "rd_kafka_mock_broker_set_down": ([vp, i32], ctypes.c_int),
        "rd_kafka_mock_broker_set_up": ([vp, i32], ctypes.c_int),
        "rd_kafka_mock_start_request_tracking": ([vp], None),
        "rd_kafka_mock_get_requests": ([vp, ctypes.POINTER(ctypes.c_size_t)], ctypes.POINTER(vp)),
        "rd_kafka_mock_clear_requests": ([vp], None),
        "rd_kafka_mock_request_id": ([vp], i32),
        "rd_kafka_mock_request_api_key": ([vp], ctypes.c_int16),
        "rd_kafka_mock_request_timestamp": ([vp], ctypes.c_int64),
        "rd_kafka_mock_request_destroy_array": ([ctypes.POINTER(vp), ctypes.c_size_t], None),
    }
    for name, (args, result) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = result
    return lib


class MockCluster:
    """A running mock cluster of ``brokers`` brokers (ids 1..brokers); raises RuntimeError on failures."""

    def __init__(self, brokers: int) -> None:
        self._lib = _library()
        err = ctypes.create_string_buffer(512)
        conf = self._lib.rd_kafka_conf_new()
        self._rk = self._lib.rd_kafka_new(_PRODUCER, conf, err, len(err))
        if not self._rk:
            raise TargetError(f"rd_kafka_new: {err.value.decode()}")
        self._cluster = self._lib.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._cluster:
            raise TargetError("rd_kafka_mock_cluster_new failed")
        self.brokers = brokers
        self.down: set[int] = set()
        self._lib.rd_kafka_mock_start_request_tracking(self._cluster)
        self._seen = 0  # requests of the cluster's log already handed out by take_requests

    @property
    def bootstraps(self) -> str:
        return str(self._lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode())

    def _check(self, what: str, code: int) -> None:
        if code != 0:
            raise TargetError(f"{what}: librdkafka error {code}")

    def create_topic(self, name: str, partitions: int, replication: int) -> None:
        self._check(
            f"create topic {name}",
            self._lib.rd_kafka_mock_topic_create(self._cluster, name.encode(), partitions, replication),
        )

    def set_leader(self, topic: str, partition: int, broker: int) -> None:
        self._check(
            f"move leader of {topic}[{partition}]",
            self._lib.rd_kafka_mock_partition_set_leader(self._cluster, topic.encode(), partition, broker),
        )

    def set_broker(self, broker: int, up: bool) -> None:
        fn = self._lib.rd_kafka_mock_broker_set_up if up else self._lib.rd_kafka_mock_broker_set_down
        self._check(f"set broker {broker} {'up' if up else 'down'}", fn(self._cluster, broker))
        (self.down.discard if up else self.down.add)(broker)

    def take_requests(self) -> list[tuple[int, int, float]]:
        """The requests the brokers served since the last call: (broker, API key, CLOCK_MONOTONIC seconds).
        The cluster's log is cleared once long; a request logged between reading and clearing it (a
        window of microseconds) is lost."""
        count = ctypes.c_size_t()
        requests = self._lib.rd_kafka_mock_get_requests(self._cluster, ctypes.byref(count))
        try:
            lib = self._lib
            new = [
                (
                    int(lib.rd_kafka_mock_request_id(requests[i])),
                    int(lib.rd_kafka_mock_request_api_key(requests[i])),
                    lib.rd_kafka_mock_request_timestamp(requests[i]) / 1e6,
                )
                for i in range(self._seen, count.value)
            ]
        finally:
            if requests:
                self._lib.rd_kafka_mock_request_destroy_array(requests, count.value)
        self._seen = count.value
        if self._seen >= _CLEAR_AFTER:
            self._lib.rd_kafka_mock_clear_requests(self._cluster)
            self._seen = 0
        return new

    def close(self) -> None:
        self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
        self._lib.rd_kafka_destroy(self._rk)
