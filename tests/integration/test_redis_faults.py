"""Redis faults against a real primary and replica: each is observed from a client, removed, and
the server is found exactly as it was."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chaoslib_ext.faults.redis import actions, probes
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from tests.integration.helpers import proxy_faults


@pytest.fixture
def config(redis_pair, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return {RUN_DIR_KEY: str(run_dir), TARGET_KEY: str(redis_pair["target"])}


def client(url, timeout=0.5):
    return redis.Redis.from_url(url, socket_timeout=timeout, retry=Retry(NoBackoff(), 0))


def in_background(fn, **kwargs):
    """Run a holding action in a thread; returns a join function that re-raises its error."""
    box = {}

    def run():
        try:
            box["result"] = fn(**kwargs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()

    def join():
        thread.join(30)
        if "error" in box:
            raise box["error"]
        return box["result"]

    return join


def test_a_write_pause_makes_writes_time_out_but_not_reads(redis_pair, config):
    c = client(redis_pair["primary"])
    c.set("k", "before")
    join = in_background(actions.pause_clients, duration="2s", mode="WRITE", configuration=config)
    time.sleep(0.3)
    assert c.get("k") == b"before"
    with pytest.raises(redis.TimeoutError):
        client(redis_pair["primary"]).set("k", "during")
    join()
    [entry] = RunContext.from_configuration(config).ledger.entries()
    # the server's own count of the calls made while paused: the read, and the write it held (served at
    # the removal, before or after the count is read)
    assert 1 <= entry.details["evidence"]["calls"] <= 2
    # the replica served none of the clients' calls: all of them went through the fault
    assert entry.details["evidence"]["calls_all"] == entry.details["evidence"]["calls"]
    assert client(redis_pair["primary"]).set("k", "after")
    assert entry.state == "removed"


def test_blocking_the_server_stalls_every_command_until_removed(redis_pair, config):
    join = in_background(actions.block_server, duration="1500ms", slice="300ms", configuration=config)
    ledger, deadline = RunContext.from_configuration(config).ledger, time.monotonic() + 10
    while not [e for e in ledger.entries() if e.state == "injected"] and time.monotonic() < deadline:
        time.sleep(0.01)  # injected: the driver saw the server stop answering
    waits, pinger = [], client(redis_pair["primary"], timeout=5)
    while len(waits) < 3:  # each call waits for the 300 ms slice in progress, from a random point in it
        start = time.perf_counter()
        pinger.get("blocked")
        waits.append(time.perf_counter() - start)
    assert max(waits) >= 0.1, waits
    result = join()
    [entry] = RunContext.from_configuration(config).ledger.entries()
    assert entry.details["evidence"]["calls"] >= 3  # the calls it held (its DEBUG SLEEPs, PINGs left out)
    assert probes.redis_latency_ms(configuration=config) < 50
    assert result["removed_at"] > result["injected_at"]
    blocker = list((RunContext.from_configuration(config).run_dir.path / "faults").glob("*.blocker.json"))
    assert blocker  # the helper was recorded, and is gone
    from chaoslib_ext._jsonfile import read_json
    from chaoslib_ext._processes import ProcessRecord, alive

    assert not alive(ProcessRecord.from_json(read_json(blocker[0])))


def test_killing_clients_drops_their_connections_at_once(redis_pair, config):
    host, port = redis_pair["primary"].split("//")[1].split("/")[0].split(":")
    raw = socket.create_connection((host, int(port)), timeout=2)
    raw.sendall(b"PING\r\n")
    assert raw.recv(64) == b"+PONG\r\n"
    pooled = client(redis_pair["primary"])
    before = pooled.client_id()
    actions.kill_clients(configuration=config)
    assert raw.recv(64) == b""  # the server closed it
    raw.close()
    # redis-py replaces a connection the server closed when it is next checked out
    assert pooled.client_id() != before
    assert RunContext.from_configuration(config).ledger.entries()[0].state == "removed"


def test_memory_pressure_evicts_and_the_exact_settings_come_back(redis_pair, config):
    c = client(redis_pair["primary"])
    before = {k: probes.redis_config(k, configuration=config) for k in ("maxmemory", "maxmemory-policy")}
    for i in range(300):
        c.set(f"fill:{i}", "x" * 2048)
    evicted = probes.redis_evictions(configuration=config)
    actions.memory_pressure(maxmemory="512kb", policy="allkeys-lru", duration="500ms", configuration=config)
    assert probes.redis_evictions(configuration=config) > evicted
    assert {k: probes.redis_config(k, configuration=config) for k in before} == before
    [entry] = RunContext.from_configuration(config).ledger.entries()
    assert entry.details["evidence"] == {"calls": 0, "calls_all": 0}  # nobody called it: no effect to show


def test_failover_hands_the_primary_role_over_and_back(redis_pair, config):
    assert probes.redis_role(configuration=config) == "master"
    join = in_background(actions.failover, duration="1s", configuration=config)
    deadline = time.monotonic() + 10
    while probes.redis_role(service="redis-replica", configuration=config) != "master":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert probes.redis_role(configuration=config) == "slave"
    join()
    # no counters: which server's calls a failover touched is not one number
    assert "evidence" not in RunContext.from_configuration(config).ledger.entries()[0].details
    assert probes.redis_role(configuration=config) == "master"
    assert probes.redis_role(service="redis-replica", configuration=config) == "slave"


def test_fifteen_percent_of_calls_time_out_through_the_network_layer(redis_pair, config):
    join = in_background(actions.call_failures, percent=15, duration="6s", configuration=config)
    try:
        time.sleep(0.2)
        # A raw RESP client: one call per request. (redis-py also sends two CLIENT SETINFO calls on every
        # new connection, so after a timeout its next GET is exposed three times: 1 - 0.85^3 = 39 %.)
        host, port = redis_pair["via_proxy"].split("//")[1].split("/")[0].split(":")
        failures, calls = 0, 200
        sock = socket.create_connection((host, int(port)), timeout=0.1)
        for _ in range(calls):
            try:
                sock.sendall(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
                if not sock.recv(64):
                    raise ConnectionError
            except (TimeoutError, ConnectionError):
                failures += 1
                sock.close()
                sock = socket.create_connection((host, int(port)), timeout=0.1)  # a timed-out connection is dropped
        sock.close()
        assert 0.07 <= failures / calls <= 0.25
    finally:
        join()
    assert proxy_faults(redis_pair["control_url"]) == {}
    c = client(redis_pair["via_proxy"], timeout=0.5)
    assert all(c.ping() for _ in range(50))


def test_latency_through_the_network_layer(redis_pair, config):
    c = client(redis_pair["via_proxy"], timeout=2)
    c.ping()  # connected before the fault: a new connection also pays redis-py's handshake round trips
    join = in_background(actions.latency, latency="100ms", duration="1500ms", configuration=config)
    try:
        time.sleep(0.2)
        start = time.perf_counter()
        c.ping()
        assert 0.09 <= time.perf_counter() - start <= 0.3
    finally:
        join()
    start = time.perf_counter()
    c.ping()
    assert time.perf_counter() - start < 0.05
