"""``chaosllm sandbox up|down|status``: a real LLM-serving stack on loopback, on free ports.

    client ──▶ proxy:gateway ──▶ gateway ──▶ proxy:redis ──▶ Redis (valkey) ──▶ its replica
                                    │  ▲
                                    ▼  │ tokens
                               proxy:kafka ──▶ Tansu (Kafka protocol) ◀── proxy:kafka ◀──▶ worker

Every link goes through the fault proxy, so each can be delayed while traffic flows. The state file
(``<state dir>/sandbox/sandbox.json``) is a target file plus the processes, so ``down`` stops exactly
what ``up`` started, by PID and start time, and removes the directory.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import redis
import requests
from confluent_kafka.admin import AdminClient

from chaoslib_ext._filelock import locked
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, spawn_detached, stop
from chaoslib_ext._readiness import (
    ServiceStartError,
    free_port,
    wait_for,
    wait_port,
    wait_ready_file,
)
from chaoslib_ext.access import Endpoint
from chaoslib_ext.exceptions import SandboxRunningError
from chaoslib_ext.load.probes import stream_check
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.sandbox import binaries
from chaoslib_ext.secrets import SecretRef
from chaoslib_ext.target import Service, Target, sandbox_state_file

__all__ = ["SandboxRunningError", "ServiceStartError", "down", "status", "up"]

HOST = "127.0.0.1"
#: Stop order: clients before the servers they hold connections to (Tansu exits slowly while a client is on).
_STOP_ORDER = ("supervisor", "gateway", "worker", "proxy", "tansu", "kafka-cluster", "redis-replica", "redis")


def up(state_file: Path | None = None, seed: int | None = None, api_key_env: str | None = None) -> dict[str, Any]:
    """Start the whole stack and return its state; on any failure stops what it started and raises."""
    state_file = state_file or sandbox_state_file()
    if state_file.exists():
        current = read_json(state_file)
        if any(alive(ProcessRecord.from_json(p)) for p in current.get("processes", [])):
            raise SandboxRunningError(f"a sandbox already runs (state in {state_file}); `chaosllm sandbox down` first")
        _remove(state_file.parent)
    home = state_file.parent
    home.mkdir(parents=True, exist_ok=True)
    started: list[ProcessRecord] = []
    try:
        state = _start_all(home, started, seed, api_key_env)
    except BaseException:
        for record in reversed(started):
            stop(record, grace_s=5)
        _remove(home)
        raise
    write_json_atomic(state_file, state)
    # The app tier is kept running as a Deployment would keep it (see supervisor.py); started last, so
    # that it watches a complete state file.
    supervisor = spawn_detached(
        "supervisor",
        [
            sys.executable,
            "-m",
            "chaoslib_ext.sandbox.supervisor",
            "--state-file",
            str(state_file),
            "--process",
            "gateway",
            "--process",
            "worker",
        ],
        home / "supervisor.log",
    )
    with locked(state_file):
        state = read_json(state_file)
        state["processes"].append(supervisor.to_json())
        write_json_atomic(state_file, state)
    return dict(state)


def _start_all(home: Path, started: list[ProcessRecord], seed: int | None, api_key_env: str | None) -> dict[str, Any]:
    redis_port, replica_port, kafka_port, gateway_port = free_port(), free_port(), free_port(), free_port()
    py = sys.executable

    def redis_argv(port: int, *extra: str) -> list[str]:
        return binaries.redis_server_argv(HOST, port, home, *extra)

    redis_rec = spawn_detached("redis", redis_argv(redis_port), home / "redis.log")
    started.append(redis_rec)
    wait_for(redis_rec, "PING reply", lambda: _redis_ping(redis_port), 20)
    replica_rec = spawn_detached(
        "redis-replica", redis_argv(replica_port, "--replicaof", HOST, str(redis_port)), home / "redis-replica.log"
    )
    started.append(replica_rec)
    wait_for(replica_rec, "replication link up", lambda: _replication_up(replica_port), 20)

    proxy_rec = spawn_detached(
        "proxy",
        [
            py,
            "-m",
            "chaoslib_ext.proxy",
            "--host",
            HOST,
            "--ready-file",
            str(home / "proxy.ready"),
            "--link",
            f"gateway=http://{HOST}:{gateway_port}",  # an HTTP link: stream faults too
            "--link",
            f"redis={HOST}:{redis_port}",
            "--link",
            f"kafka={HOST}:{kafka_port}",
        ],
        home / "proxy.log",
    )
    started.append(proxy_rec)
    proxy = wait_ready_file(proxy_rec, home / "proxy.ready")
    links: dict[str, dict[str, str]] = proxy["links"]

    kafka_via_proxy = links["kafka"]["listen"]
    tansu_rec = spawn_detached(
        "tansu",
        [
            str(binaries.tansu()),
            "broker",
            "--listener-url",
            f"tcp://{HOST}:{kafka_port}",
            "--advertised-listener-url",
            f"tcp://{kafka_via_proxy}",
            "--storage-engine",
            "memory://tansu/",
        ],
        home / "tansu.log",
    )
    started.append(tansu_rec)
    wait_port(tansu_rec, HOST, kafka_port)
    wait_for(tansu_rec, "metadata through the proxy", lambda: _kafka_metadata(kafka_via_proxy), 30)

    worker_rec = spawn_detached(
        "worker",
        [
            py,
            "-m",
            "chaoslib_ext.sandbox.worker",
            "--kafka",
            kafka_via_proxy,
            "--ready-file",
            str(home / "worker.ready"),
            *(["--seed", str(seed)] if seed is not None else []),
        ],
        home / "worker.log",
    )
    started.append(worker_rec)
    wait_ready_file(worker_rec, home / "worker.ready")

    redis_via_proxy = f"redis://{links['redis']['listen']}/0"
    gateway_rec = spawn_detached(
        "gateway",
        [
            py,
            "-m",
            "chaoslib_ext.sandbox.gateway",
            "--host",
            HOST,
            "--port",
            str(gateway_port),
            "--redis-url",
            redis_via_proxy,
            "--kafka",
            kafka_via_proxy,
            "--ready-file",
            str(home / "gateway.ready"),
            *(["--api-key-env", api_key_env] if api_key_env else []),
        ],
        home / "gateway.log",
    )
    started.append(gateway_rec)
    wait_ready_file(gateway_rec, home / "gateway.ready")

    cluster_rec = spawn_detached(
        "kafka-cluster",
        [
            py,
            "-m",
            "chaoslib_ext.sandbox.kafka_cluster",
            "--brokers",
            "3",
            "--host",
            HOST,
            "--ready-file",
            str(home / "kafka-cluster.ready"),
        ],
        home / "kafka-cluster.log",
    )
    started.append(cluster_rec)
    cluster = wait_ready_file(cluster_rec, home / "kafka-cluster.ready")
    requests.post(
        f"{cluster['control_url']}/topics", json={"name": "orders", "partitions": 3, "replication": 3}, timeout=5
    ).raise_for_status()

    gateway_url = f"http://{links['gateway']['listen']}"
    # a keyed gateway is a target whose endpoint names the key by its variable, never by its value
    key = {"Authorization": SecretRef(env=api_key_env, prefix="Bearer ")} if api_key_env else {}
    endpoint = Endpoint(headers=dict(key)) if key else None
    probe = LoadSpec(url=gateway_url, headers=dict(key))
    wait_for(gateway_rec, "a streamed completion end to end", lambda: stream_check(probe, 5.0)[0] or None, 30)

    target = Target(
        name="sandbox",
        services={
            "gateway": Service(
                "gateway",
                gateway_url,
                f"http://{HOST}:{gateway_port}",
                "gateway",
                process="gateway",
                endpoint=endpoint,
                metrics=(f"http://{HOST}:{gateway_port}/metrics",),  # its own view, straight: not through the proxy
            ),
            "redis": Service("redis", redis_via_proxy, f"redis://{HOST}:{redis_port}/0", "redis", process="redis"),
            "redis-replica": Service(
                "redis-replica",
                f"redis://{HOST}:{replica_port}/0",
                f"redis://{HOST}:{replica_port}/0",
                process="redis-replica",
            ),
            "kafka": Service("kafka", kafka_via_proxy, f"{HOST}:{kafka_port}", "kafka", process="tansu"),
            "worker": Service("worker", "", "", process="worker"),
            "kafka-cluster": Service(
                "kafka-cluster",
                cluster["bootstraps"],
                cluster["bootstraps"],
                process="kafka-cluster",
                control=cluster["control_url"],
            ),
        },
        proxy_control_url=proxy["control_url"],
        links=links,
    )
    return {**target.to_json(), "started_at": time.time(), "processes": [r.to_json() for r in started]}


def _redis_ping(port: int) -> bool | None:
    try:
        client = redis.Redis(host=HOST, port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping()) or None
        finally:
            client.close()
    except redis.RedisError:
        return None


def _replication_up(port: int) -> bool | None:
    try:
        client = redis.Redis(host=HOST, port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return client.info("replication").get("master_link_status") == "up" or None
        finally:
            client.close()
    except redis.RedisError:
        return None


def _kafka_metadata(bootstrap: str) -> bool | None:
    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2)
    except Exception:  # librdkafka raises KafkaException, or a plain one on timeout
        return None
    return True


def status(state_file: Path | None = None) -> dict[str, Any] | None:
    """The state with each process's liveness, or None when no sandbox was started."""
    state_file = state_file or sandbox_state_file()
    if not state_file.exists():
        return None
    state: dict[str, Any] = read_json(state_file)
    for proc in state["processes"]:
        proc["alive"] = alive(ProcessRecord.from_json(proc))
    return state


def down(state_file: Path | None = None) -> list[str]:
    """Stop every recorded process and remove the sandbox directory; returns the names stopped."""
    state_file = state_file or sandbox_state_file()
    if not state_file.exists():
        return []
    records = {p["name"]: ProcessRecord.from_json(p) for p in read_json(state_file)["processes"]}
    stopped = []
    for name in sorted(records, key=lambda n: _STOP_ORDER.index(n) if n in _STOP_ORDER else -1):
        if stop(records[name], grace_s=10):
            stopped.append(name)
    _remove(state_file.parent)
    return stopped


def _remove(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
    parent = home.parent
    if parent.exists() and not any(parent.iterdir()):
        parent.rmdir()
