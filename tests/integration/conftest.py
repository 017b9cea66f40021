"""Real servers on free loopback ports, started for the tests and stopped afterwards."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from pathlib import Path

import pytest

from tests.integration.helpers import (
    LLAMA_MODEL_ALIAS,
    chaosllm,
    pid_alive,
    running,
    start_calibration_server,
    start_llama,
    stop,
)


@pytest.fixture(scope="session")
def sandbox_state(tmp_path_factory):
    """``chaosllm sandbox up`` for the whole session, through the real CLI; down (and checked) at the end."""
    state_dir = tmp_path_factory.mktemp("sandbox-state")
    env = {"CHAOSLLM_STATE_DIR": str(state_dir)}
    up = chaosllm("sandbox", "up", "--seed", "7", env=env, timeout=120)
    assert up.returncode == 0, up.stderr
    status = chaosllm("sandbox", "status", "--json", env=env)
    state = json.loads(status.stdout)
    yield state_dir, state
    # faults may have restarted processes: check what the state lists now, as well as the first ones
    now = json.loads(chaosllm("sandbox", "status", "--json", env=env).stdout or "null") or {"processes": []}
    down = chaosllm("sandbox", "down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    left = [p["name"] for p in state["processes"] + now["processes"] if pid_alive(p["pid"])]
    assert left == [], f"sandbox down left processes running: {left}"
    assert not (state_dir / "sandbox").exists()


@pytest.fixture
def sandbox(sandbox_state, monkeypatch):
    """The session's sandbox state; the test's own CLI calls see it through CHAOSLLM_STATE_DIR."""
    state_dir, state = sandbox_state
    monkeypatch.setenv("CHAOSLLM_STATE_DIR", str(state_dir))
    return state


@pytest.fixture
def calibration_server(tmp_path):
    """A streaming server whose first token comes exactly 50 ms after each request."""
    with (tmp_path / "calibration.log").open("w") as log:
        proc, url = start_calibration_server(tmp_path, log)
        try:
            yield url
        finally:
            stop(proc)


@pytest.fixture
def echo_server():
    """A threaded TCP echo server on a free loopback port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stopping = threading.Event()

    def serve_one(conn):
        with conn, contextlib.suppress(OSError):  # a reset from the proxy ends the conversation
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept_loop():
        while not stopping.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stopping.set()
    thread.join()
    server.close()


@pytest.fixture
def proxy(echo_server, tmp_path):
    """The fault proxy with one link, ``echo``, in front of the echo server."""
    with running(["chaoslib_ext.proxy", "--link", f"echo=127.0.0.1:{echo_server}"], tmp_path, "proxy") as (proc, info):
        port = info["links"]["echo"]["listen"].rsplit(":", 1)[1]
        yield {"control_url": info["control_url"], "port": int(port), "pid": proc.pid}


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty directory: whatever a command writes to the cwd stays in the test's temp dir."""
    monkeypatch.chdir(tmp_path)
    return Path(tmp_path)


@pytest.fixture
def kube_api():
    """The fake Kubernetes API server (see tests/fakes), checked against Chaos Mesh's real CRDs."""
    from tests.fakes.kube_apiserver import FakeKubeAPI

    api = FakeKubeAPI()
    api.start()
    yield api
    api.stop()


@pytest.fixture
def k8s_target(kube_api, tmp_path):
    """The example cluster target, with its kubeconfig pointing at the fake API server."""
    import yaml

    raw = yaml.safe_load((Path(__file__).parents[2] / "experiments" / "k8s" / "target.example.yaml").read_text())
    raw["chaos_mesh"]["kubeconfig"] = kube_api.kubeconfig(tmp_path / "kubeconfig")
    raw["chaos_mesh"]["context"] = "fake"
    raw["chaos_mesh"]["inject_timeout"] = "3s"
    path = tmp_path / "k8s-target.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def redis_pair(tmp_path_factory):
    """A real Redis primary and its replica, and a fault proxy link ``redis`` in front of the primary,
    described by a target file, all on free loopback ports."""
    import yaml

    from chaoslib_ext._processes import spawn_detached
    from chaoslib_ext._processes import stop as stop_process
    from chaoslib_ext._readiness import free_port, wait_for
    from chaoslib_ext.sandbox import binaries

    home = tmp_path_factory.mktemp("redis-pair")
    primary, replica = free_port(), free_port()
    started = []

    def start(name, port, *extra):
        record = spawn_detached(name, binaries.redis_server_argv("127.0.0.1", port, home, *extra), home / f"{name}.log")
        started.append(record)
        return record

    try:
        start("primary", primary)
        rep = start("replica", replica, "--replicaof", "127.0.0.1", str(primary))
        wait_for(rep, "replication link up", lambda: _replication_up(replica), 20)
        with running(["chaoslib_ext.proxy", "--link", f"redis=127.0.0.1:{primary}"], home, "proxy") as (_, info):
            target = {
                "kind": "chaosllm/target",
                "version": 1,
                "name": "redis-pair",
                "services": {
                    "redis": {
                        "address": f"redis://{info['links']['redis']['listen']}/0",
                        "real": f"redis://127.0.0.1:{primary}/0",
                        "link": "redis",
                    },
                    "redis-replica": {
                        "address": f"redis://127.0.0.1:{replica}/0",
                        "real": f"redis://127.0.0.1:{replica}/0",
                    },
                },
                "proxy": {"control_url": info["control_url"], "links": info["links"]},
            }
            path = home / "target.json"
            path.write_text(json.dumps(target))
            yield {
                "target": path,
                "primary": f"redis://127.0.0.1:{primary}/0",
                "replica": f"redis://127.0.0.1:{replica}/0",
                "via_proxy": target["services"]["redis"]["address"],
                "control_url": info["control_url"],
            }
    finally:
        for record in reversed(started):
            stop_process(record, grace_s=5)
        del yaml


def _replication_up(port):
    import redis

    try:
        client = redis.Redis(port=port, socket_timeout=0.5)
        up = client.info("replication").get("master_link_status") == "up"
        client.close()
        return True if up else None
    except redis.RedisError:
        return None


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) with SmolLM2-135M, requiring a
    bearer key; one request at a time on 2 cores, so tests use at most 2 users. A server that is not
    installed or does not start fails the tests that need it: it is never skipped."""
    home = tmp_path_factory.mktemp("llama")
    try:
        proc, url, key = start_llama(home)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield {"url": url, "key": key, "model": LLAMA_MODEL_ALIAS, "log": home / "llama.log", "pid": proc.pid}
    finally:
        stop(proc)
