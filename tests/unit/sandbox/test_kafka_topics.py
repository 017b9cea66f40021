"""The epoch-topic roller must outlive any broker fault: once its thread dies no topic is created
again and every message sent after the last one it made is lost (seen in a full test session)."""

from __future__ import annotations

import time

from confluent_kafka import KafkaException

from chaoslib_ext.sandbox.kafka_topics import TopicRoller, epoch_of, topic_name


def test_the_roller_keeps_rolling_through_timeouts_and_broker_errors(monkeypatch):
    roller = TopicRoller("127.0.0.1:1", ("llm.tokens",))  # never contacted: roll() is replaced
    failures = [TimeoutError(), KafkaException("broker paused"), RuntimeError("partitioned")]
    calls = []

    def roll(timeout_s: float = 5.0) -> None:
        calls.append(time.monotonic())
        if failures:
            raise failures.pop(0)

    monkeypatch.setattr(roller, "roll", roll)
    roller._thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert roller._thread.is_alive()
        assert len(calls) >= 4  # three failures, then it rolled again
    finally:
        roller.stop()
    assert not roller._thread.is_alive()


def test_topic_names_follow_five_second_epochs():
    assert epoch_of(10.0) == epoch_of(14.9) == 2
    assert topic_name("llm.tokens", 2) == "llm.tokens.2"
