"""The embedded sandbox: the real stack on loopback, its gateway's API, and Redis and Kafka on the path."""

from __future__ import annotations

import json
import statistics
import time

import pytest
import requests

from chaoslib_ext.proxy import Delay, Direction, ProxyClient, ProxyFault
from tests.integration.helpers import chaosllm, pid_alive


def gateway(state: dict) -> str:
    return state["services"]["gateway"]["address"]


def stream(url: str, body: dict, timeout_s: float = 30) -> tuple[float, list[dict], list[bytes]]:
    """(TTFT in ms, JSON chunks, raw data lines) of one streamed chat completion."""
    start = time.perf_counter()
    ttft = None
    chunks, raw = [], []
    request = {**body, "stream": True}
    with requests.post(f"{url}/v1/chat/completions", json=request, stream=True, timeout=timeout_s) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if not line:
                continue
            raw.append(line)
            if line != b"data: [DONE]":
                chunk = json.loads(line[6:])
                chunks.append(chunk)
                if ttft is None and any(c.get("delta", {}).get("content") for c in chunk["choices"]):
                    ttft = (time.perf_counter() - start) * 1000
    return ttft, chunks, raw


def median_ttft(url: str, n: int = 8) -> float:
    return statistics.median(
        stream(url, {"messages": [{"role": "user", "content": f"q{i} {time.time()}"}], "max_tokens": 2}, 10)[0]
        for i in range(n)
    )


def test_status_lists_every_service_behind_the_proxy(sandbox):
    services = sandbox["services"]
    assert set(services) == {"gateway", "redis", "redis-replica", "kafka", "kafka-cluster", "worker"}
    links = sandbox["proxy"]["links"]
    assert set(links) == {"gateway", "redis", "kafka"}
    for name in links:
        svc = services[name]
        assert svc["link"] == name
        assert svc["address"].split("//")[-1].split("/")[0] == links[name]["listen"]
        assert svc["real"].split("//")[-1].split("/")[0] == links[name]["upstream"]
        assert svc["address"].startswith(("http://127.0.0.1:", "redis://127.0.0.1:", "127.0.0.1:"))
    # faults earlier in the session may have restarted some: what the sandbox lists now must be alive
    now = json.loads(chaosllm("sandbox", "status", "--json").stdout)
    assert {p["name"] for p in now["processes"]} == {p["name"] for p in sandbox["processes"]}
    assert all(pid_alive(p["pid"]) for p in now["processes"])


def test_a_stream_looks_like_openai(sandbox):
    _, chunks, raw = stream(
        gateway(sandbox),
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream_options": {"include_usage": True}},
    )
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content) == 5
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert raw[-1] == b"data: [DONE]"


def test_non_streaming_and_completions(sandbox):
    url = gateway(sandbox)
    chat = requests.post(
        f"{url}/v1/chat/completions",
        timeout=30,
        json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
    ).json()
    assert chat["object"] == "chat.completion"
    assert chat["usage"]["completion_tokens"] == 3
    assert chat["choices"][0]["message"]["content"]
    text = requests.post(f"{url}/v1/completions", json={"prompt": "hi", "max_tokens": 2}, timeout=30).json()
    assert text["object"] == "text_completion"
    models = requests.get(f"{url}/v1/models", timeout=5).json()
    assert [m["id"] for m in models["data"]] == ["sandbox-v1", "sandbox-v2"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}, 404, "accepted: sandbox-v1, sandbox-v2"),
        ({"messages": [], "max_tokens": 3}, 400, "messages must be a non-empty list"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, 400, "max_tokens must be"),
    ],
)
def test_bad_requests_get_openai_errors(sandbox, body, status, fragment):
    resp = requests.post(f"{gateway(sandbox)}/v1/chat/completions", json=body, timeout=10)
    assert resp.status_code == status
    assert fragment in resp.json()["error"]["message"]


@pytest.mark.parametrize("link", ["redis", "kafka"])
def test_redis_and_kafka_are_on_every_request_path(sandbox, link):
    client = ProxyClient(sandbox["proxy"]["control_url"])
    url = gateway(sandbox)
    before = median_ttft(url)
    client.set_fault(link, "probe", ProxyFault(Direction.TO, 60, delay=Delay(100)))
    try:
        during = median_ttft(url)
    finally:
        client.remove_fault(link, "probe")
    # Redis: one lookup per request (+100 ms). Kafka: the request and its first token both cross it (+200 ms).
    assert during - before >= 90


def test_a_second_up_is_refused_while_one_runs(sandbox):
    result = chaosllm("sandbox", "up")
    assert result.returncode == 2
    assert "already runs" in result.stderr


def test_up_and_down_leave_no_process_port_or_file(tmp_path):
    env = {"CHAOSLLM_STATE_DIR": str(tmp_path / "state")}
    assert chaosllm("sandbox", "up", env=env, timeout=120).returncode == 0
    try:
        state = json.loads(chaosllm("sandbox", "status", "--json", env=env).stdout)
        pids = [p["pid"] for p in state["processes"]]
        links = state["proxy"]["links"].values()
        ports = [int(link[end].rsplit(":", 1)[1]) for link in links for end in ("listen", "upstream")]
    except BaseException:  # whatever fails before the down under test, the sandbox goes down (CI once left one up)
        chaosllm("sandbox", "down", env=env, timeout=120)
        raise
    down = chaosllm("sandbox", "down", env=env, timeout=120)
    assert down.returncode == 0
    assert "stopped: supervisor, gateway, worker, proxy, tansu, kafka-cluster, redis-replica, redis" in down.stdout
    assert not any(pid_alive(p) for p in pids)
    assert not (tmp_path / "state").exists()
    import socket

    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still accepts connections"
    assert chaosllm("sandbox", "status", env=env).returncode == 2
