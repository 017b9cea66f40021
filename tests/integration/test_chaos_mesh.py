"""The Chaos Mesh driver through the official Kubernetes client, against the fake API server that
checks every object with Chaos Mesh's real CRDs and plays its controller."""

from __future__ import annotations

import pytest

from chaoslib_ext.exceptions import ChaosLLMError, FaultInjectionError
from chaoslib_ext.faults.actions import remove_all_faults
from chaoslib_ext.faults.chaosmesh.schemas import schema_errors
from chaoslib_ext.faults.network.actions import network_fault, remove_network_fault
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext


def configuration(run_dir, target):
    run_dir.mkdir(exist_ok=True)
    return {RUN_DIR_KEY: str(run_dir), TARGET_KEY: str(target)}


def test_a_delay_is_created_waited_for_and_deleted(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    result = network_fault(
        action="delay", link="redis", delay={"latency": "200ms"}, name="slow-redis", configuration=config
    )
    [obj] = kube_api.live("NetworkChaos")
    assert schema_errors({k: v for k, v in obj.items() if k != "status"}) == []
    assert obj["metadata"]["labels"]["chaosllm.io/fault"] == "slow-redis"
    assert obj["spec"]["duration"] == "15m"
    assert 0.15 <= result["time_to_inject_s"] <= 2.0  # the fake controller injects after 0.2 s
    entry = RunContext.from_configuration(config).ledger.get("slow-redis")
    assert entry.state == "injected"
    assert entry.details["time_to_inject_s"] == result["time_to_inject_s"]
    remove_network_fault("slow-redis", configuration=config)
    assert kube_api.live() == []  # deleted, and waited for until gone
    assert RunContext.from_configuration(config).ledger.get("slow-redis").state == "removed"


def test_a_fault_never_injected_is_undone_and_its_status_quoted(kube_api, k8s_target, tmp_path):
    kube_api.select_nothing = True
    config = configuration(tmp_path / "run", k8s_target)
    with pytest.raises(FaultInjectionError) as err:
        network_fault(action="loss", link="kafka", loss={"loss": "10"}, configuration=config)
    message = str(err.value)
    assert "not injected after 3s" in message
    assert "Selected=False (NoPodSelected)" in message
    assert len(kube_api.created) == 2  # one per client service of the kafka link
    assert kube_api.live() == []  # both undone
    assert RunContext.from_configuration(config).ledger.entries()[0].state == "failed"


def test_a_namespace_outside_the_allowlist_creates_nothing(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    with pytest.raises(ChaosLLMError, match=r"outside chaos_mesh\.allowed_namespaces"):
        network_fault(
            action="delay",
            delay={"latency": "1s"},
            configuration=config,
            selector={"namespaces": ["kube-system"], "labelSelectors": {"k8s-app": "kube-dns"}},
        )
    assert kube_api.created == []


def test_the_rollback_sweeps_what_the_ledger_lists(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    network_fault(action="partition", link="redis", direction="both", configuration=config)
    network_fault(
        action="bandwidth", link="kafka", bandwidth={"rate": "10kbps"}, direction="from", configuration=config
    )
    assert len(kube_api.live()) == 2  # a partition of the redis link (one client) and one shared bandwidth limit
    assert sorted(remove_all_faults(configuration=config)["removed"]) == ["bandwidth-kafka", "partition-redis"]
    assert kube_api.live() == []


def test_an_unreachable_api_server_is_a_clear_error(k8s_target, kube_api, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    kube_api.stop()
    with pytest.raises(FaultInjectionError, match="Kubernetes API unreachable"):
        network_fault(action="delay", link="redis", delay={"latency": "1s"}, configuration=config)
    kube_api.start()  # the fixture stops it again
