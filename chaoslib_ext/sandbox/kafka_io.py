"""Kafka plumbing shared by the gateway and the worker: a producer and a consumer that follow epoch
topics (see kafka_topics for why), handing decoded JSON batches to the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from chaoslib_ext.sandbox.kafka_topics import EPOCH_S, epoch_of, topic_name

__all__ = ["REQUESTS_TOPIC", "TOKENS_TOPIC", "ConsumerThread", "make_producer", "send"]

log = logging.getLogger("chaoslib_ext.sandbox")

REQUESTS_TOPIC = "llm.requests"
TOKENS_TOPIC = "llm.tokens"

# Tansu has no long-poll wake-up: a fetch returns after fetch.wait.max.ms, so that bounds each hop's latency.
_LIVE_FETCH_WAIT_MS = 10
_LATE_FETCH_WAIT_MS = 250
#: The live consumer keeps the previous epoch this long after it ended, for messages sent just before.
_LIVE_GRACE_S = 1.0
#: The late consumer keeps an epoch this long after it ended: longer than the gateway's timeouts, so a
#: message delayed by a Kafka fault is still delivered while someone can use it.
_LATE_GRACE_S = 45.0


def make_producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 1,
            "acks": 1,
            "enable.idempotence": False,
            "socket.nagle.disable": True,
            "message.timeout.ms": 30000,
            # Never let the broker auto-create a topic (Tansu makes 4 partitions; consumers read one): after a
            # broker restart with memory storage, messages wait until the roller has created their topic.
            "allow.auto.create.topics": False,
        }
    )


def send(producer: Producer, base: str, value: dict[str, Any]) -> None:
    """Produce ``value`` as JSON to the current epoch's topic; raises BufferError when the queue is full."""
    topic = topic_name(base, epoch_of(time.time()))
    producer.produce(topic, json.dumps(value, separators=(",", ":")).encode())
    producer.poll(0)


def _consumer(bootstrap: str, group: str, fetch_wait_ms: int) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,  # partitions are assigned by hand: Tansu's first group join takes ~20 s
            "enable.auto.commit": False,
            "fetch.wait.max.ms": fetch_wait_ms,
            "fetch.error.backoff.ms": 10,
            "socket.nagle.disable": True,
        }
    )


class ConsumerThread:
    """Reads one logical topic from now on and hands each batch of decoded values to ``on_batch`` on
    the event loop. A live consumer follows the current epochs; each epoch it leaves is handed, at the
    exact offset reached, to a slow late consumer that keeps it for ``_LATE_GRACE_S``."""

    def __init__(
        self, bootstrap: str, base: str, loop: asyncio.AbstractEventLoop, on_batch: Callable[[list[Any]], None]
    ) -> None:
        self._base = base
        self._loop = loop
        self._on_batch = on_batch
        self._stop = threading.Event()
        self._live = _consumer(bootstrap, f"chaosllm-{base}", _LIVE_FETCH_WAIT_MS)
        self._late = _consumer(bootstrap, f"chaosllm-{base}-late", _LATE_FETCH_WAIT_MS)
        self._handoff: queue.SimpleQueue[TopicPartition] = queue.SimpleQueue()
        self._live_epochs: set[int] = set()
        self._threads = [
            threading.Thread(target=self._run_live, name=f"consume-{base}", daemon=True),
            threading.Thread(target=self._run_late, name=f"consume-{base}-late", daemon=True),
        ]

    def start(self, timeout_s: float = 10.0) -> None:
        """Assign the live epochs: the current ones from their end (nothing older is read), later ones
        from their beginning. The epoch topics must exist (a TopicRoller creates them)."""
        now = epoch_of(time.time())
        assignment = []
        for epoch in sorted(self._wanted(time.time())):
            tp = TopicPartition(topic_name(self._base, epoch), 0)
            if epoch <= now:
                _, high = self._live.get_watermark_offsets(tp, timeout=timeout_s)
                tp.offset = high
            else:
                tp.offset = OFFSET_BEGINNING
            assignment.append(tp)
        self._live.assign(assignment)
        self._live_epochs = {e for e in self._wanted(time.time())}
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._live.close()
        self._late.close()

    @staticmethod
    def _wanted(at: float) -> set[int]:
        return {epoch_of(at - _LIVE_GRACE_S), epoch_of(at), epoch_of(at) + 1}

    def _run_live(self) -> None:
        while not self._stop.is_set():
            with self._survive("follow epochs"):
                self._follow_epochs()
            self._consume(self._live, 0.05)

    @contextlib.contextmanager
    def _survive(self, what: str) -> Iterator[None]:
        """A broker fault must not end a consumer thread: log, pause a little, and go on."""
        try:
            yield
        except (KafkaException, RuntimeError) as exc:
            log.warning("%s %s: %s", what, self._base, exc)
            self._stop.wait(0.25)

    def _follow_epochs(self) -> None:
        wanted = self._wanted(time.time())
        if wanted == self._live_epochs:
            return
        added = [TopicPartition(topic_name(self._base, e), 0, OFFSET_BEGINNING) for e in wanted - self._live_epochs]
        retired = [TopicPartition(topic_name(self._base, e), 0) for e in self._live_epochs - wanted]
        if added:
            self._live.incremental_assign(added)
        if retired:
            positions = self._live.position(retired)
            self._live.incremental_unassign(retired)
            for tp in positions:
                if tp.offset < 0:  # nothing read yet: the late consumer starts at the beginning
                    tp.offset = OFFSET_BEGINNING
                self._handoff.put(tp)
        self._live_epochs = wanted

    def _run_late(self) -> None:
        late: dict[str, int] = {}  # topic -> epoch
        while not self._stop.is_set():
            taken = []
            while not self._handoff.empty():
                tp = self._handoff.get()
                late[tp.topic] = int(tp.topic.rsplit(".", 1)[1])
                taken.append(tp)
            expired_before = epoch_of(time.time() - _LATE_GRACE_S - EPOCH_S)
            expired = [t for t, e in late.items() if e < expired_before]
            with self._survive("late assignment"):
                if taken:
                    self._late.incremental_assign(taken)
                if expired:
                    self._late.incremental_unassign([TopicPartition(t, 0) for t in expired])
            for t in expired:
                del late[t]
            if late:
                self._consume(self._late, 0.25)
            else:
                self._stop.wait(0.25)

    def _consume(self, consumer: Consumer, timeout_s: float) -> None:
        try:
            # consume(n, timeout) waits for n messages or the timeout: wait for one, then drain.
            first = consumer.poll(timeout_s)
            if first is None:
                return
            messages = [first, *consumer.consume(num_messages=499, timeout=0)]
        except KafkaException as exc:
            log.warning("consume %s: %s", self._base, exc)
            return
        batch = []
        for msg in messages:
            value = msg.value()
            if msg.error() or value is None:
                continue
            batch.append(json.loads(value))
        if batch:
            self._loop.call_soon_threadsafe(self._on_batch, batch)
