"""Kafka faults against the sandbox's real broker (Tansu) and its multi-broker mock cluster: each is
observed from a client, removed, and the broker is seen to recover."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext._processes import ProcessRecord, alive
from chaoslib_ext.faults.kafka import actions, probes
from chaoslib_ext.faults.kafka.cluster import current_leader
from chaoslib_ext.load.probes import stream_once
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from chaoslib_ext.target import sandbox_state_file
from tests.integration.helpers import proxy_faults, wait_settled


@pytest.fixture
def config(sandbox, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return {RUN_DIR_KEY: str(run_dir), TARGET_KEY: "sandbox"}


def broker(sandbox) -> ProcessRecord:
    state = read_json(sandbox_state_file())
    return ProcessRecord.from_json(next(p for p in state["processes"] if p["name"] == "tansu"))


def background(fn, **kwargs):
    box = {}
    thread = threading.Thread(target=lambda: box.update(result=fn(**kwargs)))
    thread.start()
    return lambda: (thread.join(60), box.get("result"))[1]


def wait_gateway_streams(sandbox, within_s: float) -> float:
    """Seconds until a streamed completion succeeds end to end again."""
    start = time.monotonic()
    while not stream_once(sandbox["services"]["gateway"]["address"], timeout_s=3):
        assert time.monotonic() - start < within_s, "the gateway did not recover"
        time.sleep(0.5)
    return time.monotonic() - start


def test_a_paused_broker_stalls_produces_then_resumes(sandbox, config):
    producer = Producer({"bootstrap.servers": sandbox["services"]["kafka"]["real"], "message.timeout.ms": 20000})
    join = background(actions.broker_pause, duration="3s", configuration=config)
    try:
        time.sleep(0.5)
        state = Path(f"/proc/{broker(sandbox).pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state == "T"  # stopped
        delivered = []
        producer.produce("pause-probe", b"x", on_delivery=lambda err, msg: delivered.append(err))
        producer.poll(1.0)
        assert delivered == []  # nothing can be acknowledged while the broker is frozen
    finally:
        result = join()
    producer.flush(15)
    assert delivered == [None]  # acknowledged once it resumed
    # held its duration, never less; removal (SIGCONT, ledger and timeline writes) ran 0.7 s late once on a loaded CI
    assert 2.99 <= result["removed_at"] - result["injected_at"] < 5.0
    watchdog = read_json(next((RunContext.from_configuration(config).run_dir.path / "faults").glob("*.watchdog.json")))
    assert not alive(ProcessRecord.from_json(watchdog))
    wait_gateway_streams(sandbox, 30)


def test_a_restarted_broker_comes_back_and_the_stack_recovers(sandbox, config):
    before = broker(sandbox)
    host, port = sandbox["services"]["kafka"]["real"].split(":")
    join = background(actions.broker_restart, down_for="2s", configuration=config)
    try:
        time.sleep(0.7)
        assert not alive(before)
        with socket.socket() as s:
            assert s.connect_ex((host, int(port))) != 0  # nothing listens while it is down
    finally:
        join()
    after = broker(sandbox)
    assert after.pid != before.pid
    assert alive(after)
    assert wait_gateway_streams(sandbox, 60) < 60
    wait_settled()  # the next tests measure rates: let crashed clients be restarted first


def produce_steadily(bootstrap: str, topic: str, count: int, per_s: float) -> threading.Thread:
    """A producer thread sending ``count`` 500-byte records, one batch each, at ``per_s``."""

    def run() -> None:
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        for i in range(count):
            producer.produce(topic, json.dumps({"i": i}).encode().ljust(500))
            producer.poll(0)
            time.sleep(1 / per_s)
        producer.flush(10)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_consumer_throttled_to_50_messages_per_s_gets_no_more_than_55(sandbox, config):
    real, via_proxy = sandbox["services"]["kafka"]["real"], sandbox["services"]["kafka"]["address"]
    topic = f"throttle-{int(time.time())}"
    admin = AdminClient({"bootstrap.servers": real})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    # Produced live at twice the limit. The throttle is the kafka link's bandwidth, shared with the
    # sandbox's own consumers (idle fetches every 10 ms), and Tansu ignores a fetch's max bytes, so
    # this consumer gets its share of the 50 msg/s in bursts that double: each fetch returns all that
    # was produced while the last one crawled through. The consumer is connected before the throttle
    # and the producer start, so its first burst is small (a slow first fetch made it last > 8 s in CI).
    consumer = Consumer({"bootstrap.servers": via_proxy, "group.id": topic, "enable.auto.commit": False})
    consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)  # connected through the proxy
    consumer.assign([TopicPartition(topic, 0, 0)])
    join = background(actions.throttle, messages_per_s=50, message_bytes=500, duration="9s", configuration=config)
    try:
        time.sleep(0.3)
        producing = produce_steadily(real, topic, 800, per_s=100)
        arrivals: list[float] = []
        start = time.monotonic()
        while time.monotonic() - start < 8.0:
            msg = consumer.poll(0.1)
            if msg is not None and not msg.error():
                arrivals.append(time.monotonic())
        rate = len(arrivals) / (time.monotonic() - start)
    finally:
        join()
    # unthrottled it would be ~100/s (the producer's pace, and the backlog on top)
    assert 5 <= rate <= 55, f"{rate:.1f} records/s in {len(arrivals)} arrivals"
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
    start, more = time.monotonic(), 0
    while len(arrivals) + more < 800 and time.monotonic() - start < 20:
        msg = consumer.poll(0.2)
        more += msg is not None and not msg.error()
    consumer.close()
    producing.join(15)
    assert len(arrivals) + more == 800
    after = more / (time.monotonic() - start)
    assert after > 55, f"{after:.1f} records/s after removal"  # unthrottled: the backlog and the producer's pace


def test_a_partition_leader_moves_and_moves_back(sandbox, config):
    bootstraps = sandbox["services"]["kafka-cluster"]["real"]

    def leader():
        return (
            AdminClient({"bootstrap.servers": bootstraps})
            .list_topics("orders", timeout=5)
            .topics["orders"]
            .partitions[0]
            .leader
        )

    before = leader()
    other = 1 if before != 1 else 2
    producer = Producer({"bootstrap.servers": bootstraps, "linger.ms": 0})
    join = background(
        actions.leader_move, topic="orders", partition=0, broker=other, duration="1500ms", configuration=config
    )
    time.sleep(0.4)
    assert leader() == other
    for i in range(20):  # one produce request each, to the new leader (after a refresh of the metadata)
        producer.produce("orders", str(i).encode(), partition=0)
        producer.flush(5)
    result = join()
    assert result["previous_leader"] == before
    assert leader() == before
    # the cluster's own log of what the new leader served while it led
    [entry] = RunContext.from_configuration(config).ledger.entries()
    evidence = entry.details["evidence"]
    assert evidence["calls"] >= 19
    assert evidence["calls_all"] >= evidence["calls"]


def test_a_broker_down_makes_partitions_offline_and_under_replicated(sandbox, config):
    def counts():
        return (
            probes.live_brokers(service="kafka-cluster", configuration=config),
            probes.offline_partitions("orders", service="kafka-cluster", configuration=config),
            probes.under_replicated_partitions("orders", service="kafka-cluster", configuration=config),
        )

    assert counts() == (3, 0, 0)
    # the broker leading orders-0 now (earlier faults may have moved leaders around)
    broker = current_leader(sandbox["services"]["kafka-cluster"]["real"], "orders", 0)
    producer = Producer({"bootstrap.servers": sandbox["services"]["kafka-cluster"]["real"], "linger.ms": 0})
    for i in range(10):  # traffic the broker carries just before it goes down: the fault's evidence
        producer.produce("orders", str(i).encode(), partition=0)
        producer.flush(5)
    join = background(actions.broker_down, broker=broker, duration="1500ms", configuration=config)
    time.sleep(0.7)
    live, offline, under = counts()
    join()
    assert live == 2
    assert under == 3  # every partition has a replica on every broker
    assert offline >= 1  # at least orders-0, which it led
    assert counts() == (3, 0, 0)
    evidence = RunContext.from_configuration(config).ledger.entries()[0].details["evidence"]
    assert evidence["calls"] >= 10
    assert evidence["calls_all"] >= evidence["calls"]


def test_consumer_lag_counts_what_a_group_has_not_committed(sandbox, config):
    real = sandbox["services"]["kafka"]["real"]
    topic = f"lag-{int(time.time())}"
    admin = AdminClient({"bootstrap.servers": real})  # kept alive until the topic exists
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": real})
    for i in range(30):
        producer.produce(topic, str(i).encode())
    producer.flush(10)
    consumer = Consumer({"bootstrap.servers": real, "group.id": "lagging", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = [m for m in (consumer.poll(2) for _ in range(10)) if m is not None and not m.error()]
    consumer.commit(message=seen[-1], asynchronous=False)
    consumer.close()
    assert probes.consumer_lag("lagging", topic, configuration=config) == 30 - len(seen)
