"""The fault proxy in front of a real echo server: faults take effect, come off, and expire."""

from __future__ import annotations

import socket
import statistics
import time

import pytest
import requests

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.proxy import Delay, Direction, ProxyClient, ProxyFault
from chaoslib_ext.proxy.faults import Bandwidth, Loss, SlowClose, Timeout


def rtts_ms(sock: socket.socket, n: int = 10) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        sock.sendall(b"x" * 64)
        got = 0
        while got < 64:
            got += len(sock.recv(64 - got))
        out.append((time.perf_counter() - start) * 1000)
    return out


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_delay_applies_to_a_live_connection_and_comes_off(proxy):
    client = ProxyClient(proxy["control_url"])
    with connect(proxy["port"]) as sock:
        before = statistics.median(rtts_ms(sock))
        client.set_fault("echo", "d", ProxyFault(Direction.TO, 30, delay=Delay(100)))
        during = statistics.median(rtts_ms(sock))
        assert client.remove_fault("echo", "d") is True
        after = statistics.median(rtts_ms(sock))
    assert before < 20
    assert 95 <= during - before <= 130
    assert after < 20


@pytest.mark.parametrize(("direction", "rounds"), [(Direction.FROM, 1), (Direction.BOTH, 2)])
def test_direction_decides_which_bytes_wait(proxy, direction, rounds):
    client = ProxyClient(proxy["control_url"])
    client.set_fault("echo", "d", ProxyFault(direction, 30, delay=Delay(60)))
    with connect(proxy["port"]) as sock:
        during = statistics.median(rtts_ms(sock, 6))
    assert 60 * rounds - 5 <= during <= 60 * rounds + 30


def test_a_fault_expires_after_its_ttl_by_itself(proxy):
    client = ProxyClient(proxy["control_url"])
    client.set_fault("echo", "short", ProxyFault(Direction.TO, 0.5, delay=Delay(100)))
    assert "short" in client.links()["echo"]["faults"]
    time.sleep(0.8)
    assert client.links()["echo"]["faults"] == {}
    with connect(proxy["port"]) as sock:
        assert statistics.median(rtts_ms(sock)) < 20


def test_removing_twice_is_harmless_and_remove_all_clears_every_link(proxy):
    client = ProxyClient(proxy["control_url"])
    assert client.remove_fault("echo", "never-set") is False
    client.set_fault("echo", "a", ProxyFault(Direction.TO, 30, delay=Delay(10)))
    client.set_fault("echo", "b", ProxyFault(Direction.FROM, 30, delay=Delay(10)))
    assert client.remove_all() == 2
    assert client.links()["echo"]["faults"] == {}


def test_the_control_api_names_what_it_accepts(proxy):
    url = proxy["control_url"]
    unknown = requests.put(f"{url}/links/nope/faults/x", json={"delay": {"latency_ms": 1}, "ttl_s": 1}, timeout=5)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "unknown link 'nope'", "accepted": "echo"}
    bad = requests.put(f"{url}/links/echo/faults/x", json={"delay": {"latency_ms": -5}, "ttl_s": 1}, timeout=5)
    assert bad.status_code == 400
    assert "negative" in bad.json()["error"]
    with pytest.raises(TargetError, match="unknown link 'nope'"):
        ProxyClient(url).remove_fault("nope", "x")


def test_an_unreachable_proxy_is_a_target_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TargetError, match="unreachable"):
        ProxyClient(f"http://127.0.0.1:{port}", timeout_s=1).links()


def test_bytes_survive_the_relay_in_order(proxy):
    payload = bytes(range(256)) * 4096  # 1 MiB
    client = ProxyClient(proxy["control_url"])
    client.set_fault("echo", "j", ProxyFault(Direction.BOTH, 30, delay=Delay(5, jitter_ms=4)))
    with connect(proxy["port"]) as sock:
        received = bytearray()
        sock.sendall(payload)
        while len(received) < len(payload):
            received += sock.recv(65536)
    assert bytes(received) == payload


def exchange(sock: socket.socket) -> bytes:
    sock.sendall(b"x")
    return sock.recv(1)


def connect_and_exchange(port: int) -> bytes:
    # a reset can reach a new socket before connect() returns (its thread starved), or after: both count
    with connect(port) as sock:
        time.sleep(0.05)
        return exchange(sock)


def fault(direction=Direction.TO, **effects):
    return ProxyFault(direction, 30, **effects)


def test_a_fault_reaches_a_live_connection_within_50ms(proxy):
    client = ProxyClient(proxy["control_url"])
    with connect(proxy["port"]) as sock:
        rtts_ms(sock, 3)
        start = time.perf_counter()
        client.set_fault("echo", "p", fault(partition=True))
        applied_ms = (time.perf_counter() - start) * 1000
        sock.settimeout(0.3)
        sock.sendall(b"x")
        with pytest.raises(TimeoutError):
            sock.recv(1)  # held by the partition
        client.remove_fault("echo", "p")
        sock.settimeout(5)
        assert sock.recv(1) == b"x"  # delivered when the partition heals, as TCP would
    assert applied_ms < 50


def test_loss_delays_a_share_of_round_trips_by_a_retransmission_timeout(proxy):
    ProxyClient(proxy["control_url"]).set_fault("echo", "l", fault(loss=Loss(20)))
    with connect(proxy["port"]) as sock:
        sock.settimeout(30)  # a retransmission lost again doubles its wait: 7 in a row take 25.4 s
        samples = rtts_ms(sock, 60)
    slow = [r for r in samples if r >= 195]
    assert 0.05 <= len(slow) / len(samples) <= 0.45
    assert statistics.median(samples) < 20


def test_bandwidth_caps_throughput_for_the_whole_link(proxy):
    ProxyClient(proxy["control_url"]).set_fault("echo", "bw", fault(Direction.FROM, bandwidth=Bandwidth(50_000)))
    payload = b"y" * 25_000
    with connect(proxy["port"]) as a, connect(proxy["port"]) as b:
        start = time.perf_counter()
        for s in (a, b):
            s.sendall(payload)
        for s in (a, b):
            got = 0
            while got < len(payload):
                got += len(s.recv(65536))
        elapsed = time.perf_counter() - start
    # 50 kB through a 50 kB/s link shared by both connections: about one second, not half
    assert 0.9 <= elapsed <= 1.5


def test_reset_tears_down_live_connections_and_refuses_new_ones(proxy):
    client = ProxyClient(proxy["control_url"])
    with connect(proxy["port"]) as live:
        rtts_ms(live, 2)
        client.set_fault("echo", "r", fault(reset=True))
        time.sleep(0.05)
        with pytest.raises(ConnectionResetError):
            exchange(live)
    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        connect_and_exchange(proxy["port"])
    client.remove_fault("echo", "r")
    with connect(proxy["port"]) as after:
        assert statistics.median(rtts_ms(after, 3)) < 20


def test_timeout_leaves_requests_unanswered_then_closes(proxy):
    ProxyClient(proxy["control_url"]).set_fault("echo", "t", fault(timeout=Timeout(100, 300)))
    with connect(proxy["port"]) as sock:
        sock.settimeout(0.2)
        sock.sendall(b"x")
        with pytest.raises(TimeoutError):
            sock.recv(1)
        sock.settimeout(2)
        start = time.perf_counter()
        assert sock.recv(1) == b""  # closed by the proxy after close_after
        assert time.perf_counter() - start < 0.5


def test_slow_close_delays_the_close_seen_by_the_other_side(proxy):
    ProxyClient(proxy["control_url"]).set_fault("echo", "s", fault(Direction.BOTH, slow_close=SlowClose(300)))
    with connect(proxy["port"]) as sock:
        sock.sendall(b"bye")
        assert sock.recv(3) == b"bye"
        sock.shutdown(socket.SHUT_WR)  # the echo server sees EOF 300 ms later and closes
        start = time.perf_counter()
        assert sock.recv(1) == b""
        elapsed = time.perf_counter() - start
    assert 0.55 <= elapsed <= 1.0  # 300 ms each way
