"""Each logical topic is a series of short topics, one per epoch: ``llm.tokens.<epoch>``.

Why: Tansu's ``memory://`` engine scans a partition's whole log on every fetch, so its latency grows
with the topic's length (measured on one partition, 5 ms fetches: 2.5 ms empty, 12 ms at 5,000
messages; at 150 msg/s, 4 ms -> 470 ms within a minute, a core saturated). Its DeleteRecords panics;
DeleteTopics works. So producers write to the topic of the current epoch, consumers follow the
epochs, and old epoch topics are deleted once no late message can matter any more.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

__all__ = ["EPOCH_S", "RETAIN_S", "TopicRoller", "epoch_of", "topic_name"]

log = logging.getLogger("chaoslib_ext.sandbox")

EPOCH_S = 5.0
#: How far ahead epoch topics are created, so a producer never writes to a topic that is missing.
_AHEAD_EPOCHS = 3
#: Epoch topics are deleted this long after their epoch ended (longer than any consumer keeps them).
RETAIN_S = 90.0


def epoch_of(at: float) -> int:
    return int(at // EPOCH_S)


def topic_name(base: str, epoch: int) -> str:
    return f"{base}.{epoch}"


class TopicRoller:
    """Keeps the coming epochs' topics created and deletes expired ones, once a second, in a thread.

    Every process that uses the topics runs one; creating and deleting are idempotent.
    """

    def __init__(self, bootstrap: str, bases: tuple[str, ...]) -> None:
        self._admin = AdminClient({"bootstrap.servers": bootstrap})
        self._bases = bases
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="topic-roller", daemon=True)

    def start(self, timeout_s: float = 10.0) -> None:
        """Create the current and coming epochs' topics now, then keep rolling in the background."""
        self.roll(timeout_s)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def roll(self, timeout_s: float = 5.0) -> None:
        """Create the epoch topics the broker lacks, delete the expired ones it still has. The broker's
        own topic list decides, not a cache: a restarted broker (memory storage) comes back empty."""
        existing = set(self._admin.list_topics(timeout=timeout_s).topics)
        now = epoch_of(time.time())
        wanted = [topic_name(b, e) for b in self._bases for e in range(now - 1, now + _AHEAD_EPOCHS + 1)]
        missing = [t for t in wanted if t not in existing]
        if missing:
            futures = self._admin.create_topics(
                [NewTopic(t, num_partitions=1, replication_factor=1) for t in missing], request_timeout=timeout_s
            )
            for future in futures.values():
                try:
                    future.result(timeout=timeout_s)
                except KafkaException as exc:
                    if "already exists" not in str(exc).lower():
                        raise
        expired_before = epoch_of(time.time() - RETAIN_S)
        epochs = {t: _epoch(t, self._bases) for t in existing}
        expired = [t for t, epoch in epochs.items() if epoch is not None and epoch < expired_before]
        if expired:
            log.info("deleting expired epoch topics: %s", ", ".join(sorted(expired)))
            for future in self._admin.delete_topics(expired, request_timeout=timeout_s).values():
                with contextlib.suppress(KafkaException):  # another process deleted it first
                    future.result(timeout=timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.roll()
            except (KafkaException, RuntimeError, TimeoutError) as exc:  # a paused, partitioned or slow broker
                # the thread must outlive any broker fault: once it dies no epoch topic is created
                # again, and every request and token sent after the last one it made is lost
                log.warning("topic roller: %s", exc or type(exc).__name__)


def _epoch(topic: str, bases: tuple[str, ...]) -> int | None:
    base, _, epoch = topic.rpartition(".")
    return int(epoch) if base in bases and epoch.isdigit() else None
