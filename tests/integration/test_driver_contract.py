"""One contract, every driver (after trio's ``check_one_way_stream``, run against each stream): against
its real server, each fault driver must

1. know its undo before it injects (the record is JSON, and the fault is not in place yet);
2. inject, visibly on the server itself;
3. be removed by ``remove(undo)`` from a fresh process that has nothing but the record;
4. take a second ``remove`` harmlessly, and say so (False).

A new driver gets the suite by adding one case to ``CASES``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from chaoslib_ext._processes import ProcessRecord, alive, spawn_detached, stop, stopped
from chaoslib_ext.faults.driver import PlanContext, PlannedFault, Planner
from chaoslib_ext.faults.kafka.actions import PLANNERS as KAFKA
from chaoslib_ext.faults.kafka.probes import live_brokers
from chaoslib_ext.faults.network.actions import PLANNERS as NETWORK
from chaoslib_ext.faults.pod.actions import PLANNERS as POD
from chaoslib_ext.faults.redis.actions import PLANNERS as REDIS
from chaoslib_ext.faults.removers import DRIVERS
from chaoslib_ext.target import load_target
from tests.integration.helpers import ROOT, proxy_faults, running

#: remove a fault in a new interpreter, from its driver's name and its undo record alone
FRESH_REMOVE = (
    "import json, sys\n"
    "from chaoslib_ext.faults.removers import driver_class\n"
    "print(json.dumps(driver_class(sys.argv[1]).remove(json.loads(sys.argv[2]))))\n"
)


@dataclass
class Case:
    planned: PlannedFault
    in_place: Callable[[], bool]  # read on the real server (or the fake API), never from our records


def check_fault_driver(case: Case) -> None:
    driver, fault_id = case.planned.driver, case.planned.fault_id
    assert isinstance(driver, DRIVERS[driver.name]), "the ledger finds a driver by its name"
    undo = driver.undo(fault_id)
    assert json.loads(json.dumps(undo)) == undo, "the undo must be JSON: it goes to the ledger"
    assert not case.in_place(), "undo() must not change the server"
    driver.inject(fault_id)
    assert case.in_place(), "inject() must put the fault in place"
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH_REMOVE, driver.name, json.dumps(undo)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout) is True, "remove() from a fresh process must say it removed the fault"
    assert not case.in_place(), "remove() must take the fault away"
    assert DRIVERS[driver.name].remove(undo) is False, "a second remove() must change nothing and say so"
    assert not case.in_place()


def plan(planner: Planner, arguments: dict, target: str, state_dir: Path) -> PlannedFault:
    return planner(arguments, load_target(target), PlanContext("contract", state_dir))


# --- the five drivers, each on its real server ---------------------------------------------------------


@pytest.fixture
def proxy_case(echo_server, tmp_path) -> Iterator[Case]:
    link = ["chaoslib_ext.proxy", "--link", f"echo=127.0.0.1:{echo_server}"]
    with running(link, tmp_path, "proxy") as (_, info):
        target = tmp_path / "target.json"
        proxy = {"control_url": info["control_url"], "links": info["links"]}
        target.write_text(json.dumps({"kind": "chaosllm/target", "version": 1, "name": "proxy", "services": {},
                                      "proxy": proxy}))  # fmt: skip
        arguments = {"link": "echo", "action": "delay", "delay": {"latency": "100ms"}}
        planned = plan(NETWORK["network_fault"], arguments, str(target), tmp_path)
        yield Case(planned, lambda: proxy_faults(info["control_url"]) != {})


def _redis_case(redis_pair, tmp_path, action: str, arguments: dict, in_place: Callable[[redis.Redis], bool]) -> Case:
    client = redis.Redis.from_url(redis_pair["primary"], socket_timeout=5)
    return Case(plan(REDIS[action], arguments, str(redis_pair["target"]), tmp_path), lambda: in_place(client))


@pytest.fixture
def redis_memory_case(redis_pair, tmp_path) -> Case:
    return _redis_case(redis_pair, tmp_path, "memory_pressure", {"maxmemory": "1mb"},
                       lambda c: c.config_get("maxmemory") != {"maxmemory": "0"})  # fmt: skip


@pytest.fixture
def redis_pause_case(redis_pair, tmp_path) -> Case:
    return _redis_case(redis_pair, tmp_path, "pause_clients", {"duration": "60s"},
                       lambda c: c.info("clients")["paused_reason"] != "none")  # fmt: skip


@pytest.fixture
def sleeper(tmp_path) -> Iterator[Path]:
    """A target file whose service ``svc`` runs a real process of its own (``sleep``), as the sandbox's do;
    every process it ever listed is stopped afterwards."""
    record = spawn_detached("sleeper", ["/bin/sleep", "300"], tmp_path / "sleeper.log")
    target = tmp_path / "target.json"
    target.write_text(json.dumps({"kind": "chaosllm/target", "version": 1, "name": "processes",
                                  "services": {"svc": {"address": "127.0.0.1:1", "process": "sleeper"}},
                                  "processes": [record.to_json()]}))  # fmt: skip
    seen = [record]
    try:
        yield target
    finally:
        seen += [ProcessRecord.from_json(p) for p in json.loads(target.read_text())["processes"]]
        for r in seen:
            stop(r, grace_s=2)


def _listed(target: Path) -> ProcessRecord:
    return ProcessRecord.from_json(json.loads(target.read_text())["processes"][0])


@pytest.fixture
def process_stop_case(sleeper, tmp_path) -> Case:
    planned = plan(POD["pod_fault"], {"action": "pod-failure", "service": "svc", "duration": "60s"}, str(sleeper),
                   tmp_path)  # fmt: skip
    return Case(planned, lambda: stopped(_listed(sleeper)))


@pytest.fixture
def process_kill_case(sleeper, tmp_path) -> Case:
    planned = plan(POD["pod_fault"], {"action": "pod-kill", "service": "svc"}, str(sleeper), tmp_path)
    return Case(planned, lambda: not alive(_listed(sleeper)))


@pytest.fixture
def mock_cluster_case(sandbox, tmp_path) -> Case:
    planned = plan(KAFKA["broker_down"], {"broker": 2}, "sandbox", tmp_path)
    return Case(planned, lambda: live_brokers("kafka-cluster", {"chaosllm_target": "sandbox"}) != 3)


@pytest.fixture
def chaos_mesh_case(kube_api, k8s_target, tmp_path) -> Case:
    arguments = {"link": "redis", "action": "delay", "delay": {"latency": "100ms"}, "duration": "60s"}
    planned = plan(NETWORK["network_fault"], arguments, str(k8s_target), tmp_path)
    return Case(planned, lambda: kube_api.live() != [])


CASES = {
    "proxy": "proxy_case",
    "redis memory-pressure": "redis_memory_case",
    "redis pause-clients": "redis_pause_case",
    "process pod-failure": "process_stop_case",
    "process pod-kill": "process_kill_case",
    "kafka-cluster broker-down": "mock_cluster_case",
    "chaos-mesh NetworkChaos": "chaos_mesh_case",
}


@pytest.mark.parametrize("name", CASES)
def test_every_driver_keeps_the_contract(name, request):
    check_fault_driver(request.getfixturevalue(CASES[name]))


def test_every_driver_of_the_release_is_checked():
    drivers = {request_name.split()[0] for request_name in CASES}
    assert drivers == set(DRIVERS), "each fault driver needs a case in CASES"
