"""The fault proxy in front of a real echo server: faults take effect, come off, and expire."""

from __future__ import annotations

import socket
import statistics
import time

import pytest
import requests

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.proxy import Delay, Direction, ProxyClient, ProxyFault


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
        client.set_fault("echo", "d", ProxyFault(Direction.TO, Delay(100), ttl_s=30))
        during = statistics.median(rtts_ms(sock))
        assert client.remove_fault("echo", "d") is True
        after = statistics.median(rtts_ms(sock))
    assert before < 20
    assert 95 <= during - before <= 130
    assert after < 20


@pytest.mark.parametrize(("direction", "rounds"), [(Direction.FROM, 1), (Direction.BOTH, 2)])
def test_direction_decides_which_bytes_wait(proxy, direction, rounds):
    client = ProxyClient(proxy["control_url"])
    client.set_fault("echo", "d", ProxyFault(direction, Delay(60), ttl_s=30))
    with connect(proxy["port"]) as sock:
        during = statistics.median(rtts_ms(sock, 6))
    assert 60 * rounds - 5 <= during <= 60 * rounds + 30


def test_a_fault_expires_after_its_ttl_by_itself(proxy):
    client = ProxyClient(proxy["control_url"])
    client.set_fault("echo", "short", ProxyFault(Direction.TO, Delay(100), ttl_s=0.5))
    assert "short" in client.links()["echo"]["faults"]
    time.sleep(0.8)
    assert client.links()["echo"]["faults"] == {}
    with connect(proxy["port"]) as sock:
        assert statistics.median(rtts_ms(sock)) < 20


def test_removing_twice_is_harmless_and_remove_all_clears_every_link(proxy):
    client = ProxyClient(proxy["control_url"])
    assert client.remove_fault("echo", "never-set") is False
    client.set_fault("echo", "a", ProxyFault(Direction.TO, Delay(10), ttl_s=30))
    client.set_fault("echo", "b", ProxyFault(Direction.FROM, Delay(10), ttl_s=30))
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
    client.set_fault("echo", "j", ProxyFault(Direction.BOTH, Delay(5, jitter_ms=4), ttl_s=30))
    with connect(proxy["port"]) as sock:
        received = bytearray()
        sock.sendall(payload)
        while len(received) < len(payload):
            received += sock.recv(65536)
    assert bytes(received) == payload
