"""Pod, Kafka and Redis faults on a cluster target: the PodChaos / NetworkChaos objects they create through
the official client, checked by the fake API server against Chaos Mesh's real CRDs, then deleted."""

from __future__ import annotations

import pytest

from chaoslib_ext.exceptions import FaultError, TargetError
from chaoslib_ext.faults.chaosmesh.schemas import schema_errors
from chaoslib_ext.faults.kafka import actions as kafka
from chaoslib_ext.faults.pod.actions import pod_fault
from chaoslib_ext.faults.redis import actions as redis
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext

KAFKA_PODS = {"namespaces": ["llm"], "labelSelectors": {"app.kubernetes.io/name": "kafka"}}


def configuration(run_dir, target):
    run_dir.mkdir(exist_ok=True)
    return {RUN_DIR_KEY: str(run_dir), TARGET_KEY: str(target)}


def created_specs(kube_api, kind):
    """The spec of every object of ``kind`` created, each checked against its CRD first."""
    objects = [o for o in kube_api.created if o["kind"] == kind]
    for obj in objects:
        assert schema_errors({k: v for k, v in obj.items() if k != "status"}) == []
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "chaoslib-ext"
    return [o["spec"] for o in objects]


def test_a_pod_kill_selects_the_services_pods_and_is_deleted(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    result = pod_fault(action="pod-kill", service="kafka", gracePeriod=5, configuration=config)
    [spec] = created_specs(kube_api, "PodChaos")
    assert spec == {"action": "pod-kill", "mode": "one", "selector": KAFKA_PODS, "duration": "15m", "gracePeriod": 5}
    assert result["time_to_inject_s"] >= 0.15  # the fake controller injects after 0.2 s
    assert kube_api.live() == []
    assert RunContext.from_configuration(config).ledger.get("pod-kill-kafka").state == "removed"


def test_a_broker_pause_is_a_pod_failure_for_its_duration(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    kafka.broker_pause(duration="1s", configuration=config)
    [spec] = created_specs(kube_api, "PodChaos")
    assert spec["action"] == "pod-failure"
    assert spec["selector"] == KAFKA_PODS
    assert spec["duration"] == "31s"  # its own 1 s plus the dead-man grace
    assert kube_api.live() == []


def test_a_container_kill_names_its_containers_and_a_fixed_mode_its_value(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    pod_fault(
        action="container-kill",
        service="worker",
        containerNames=["decoder"],
        mode="fixed-percent",
        value="50",
        configuration=config,
    )
    [spec] = created_specs(kube_api, "PodChaos")
    assert (spec["containerNames"], spec["mode"], spec["value"]) == (["decoder"], "fixed-percent", "50")
    assert kube_api.live() == []


def test_a_consumer_throttle_is_bandwidth_on_the_brokers_egress(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    kafka.throttle(messages_per_s=50, message_bytes=600, duration="1s", configuration=config)
    [spec] = created_specs(kube_api, "NetworkChaos")  # one limit shared by every consumer, as locally
    assert spec["action"] == "bandwidth"
    assert spec["bandwidth"]["rate"] == "30000bps"  # 50 msg/s x 600 B
    assert spec["selector"] == KAFKA_PODS  # the broker's egress
    assert spec["direction"] == "to"
    assert "target" not in spec
    assert kube_api.live() == []


def test_redis_call_failures_are_packet_loss_on_a_cluster_when_the_experiment_says_so(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    with pytest.raises(FaultError, match="on_cluster: Chaos Mesh cannot make 15 % of calls go unanswered"):
        redis.call_failures(percent=15, duration="1s", configuration=config)
    assert kube_api.created == []
    redis.call_failures(percent=15, on_cluster="packet-loss", duration="1s", configuration=config)
    [spec] = created_specs(kube_api, "NetworkChaos")
    assert spec["action"] == "loss"
    assert spec["loss"]["loss"] == "15"
    assert spec["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "gateway"}
    assert kube_api.live() == []


def test_mock_cluster_faults_refuse_a_cluster_target_before_creating_anything(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    with pytest.raises(TargetError, match="use pod_fault pod-failure"):
        kafka.leader_move(topic="orders", partition=0, broker=2, service="kafka", configuration=config)
    assert kube_api.created == []


def test_a_fixed_mode_without_value_creates_nothing(kube_api, k8s_target, tmp_path):
    config = configuration(tmp_path / "run", k8s_target)
    with pytest.raises(FaultError, match="value"):
        pod_fault(action="pod-kill", service="redis", mode="fixed", configuration=config)
    assert kube_api.created == []
    assert kube_api.rejected == []


GATEWAY_PODS = {"namespaces": ["llm"], "labelSelectors": {"app.kubernetes.io/name": "gateway"}}


def test_a_429_burst_is_httpchaos_replacing_the_gateways_answers(kube_api, k8s_target, tmp_path):
    import base64
    import json

    from chaoslib_ext.faults.stream.actions import stream_fault

    config = configuration(tmp_path / "run", k8s_target)
    stream_fault(action="http-error", link="gateway", status=429, retry_after="2s", body="slow down",
                 duration="1s", configuration=config)  # fmt: skip
    [spec] = created_specs(kube_api, "HTTPChaos")
    assert {k: spec[k] for k in ("mode", "selector", "target", "port", "path", "method", "duration")} == {
        "mode": "all", "selector": GATEWAY_PODS, "target": "Response", "port": 8000,
        "path": "/v1/chat/completions", "method": "POST", "duration": "31s",
    }  # fmt: skip
    assert spec["replace"]["code"] == 429
    assert spec["replace"]["headers"]["Retry-After"] == "2"
    assert json.loads(base64.b64decode(spec["replace"]["body"]))["error"]["message"] == "slow down"
    assert kube_api.live() == []
    entry = RunContext.from_configuration(config).ledger.get("http-error-gateway")
    assert entry.state == "removed"
    assert "only connections opened after its injection" in entry.target  # said in the report's fault line


def test_a_slow_prefill_is_httpchaos_delaying_the_requests_on_the_port_given(kube_api, k8s_target, tmp_path):
    from chaoslib_ext.faults.stream.actions import stream_fault

    config = configuration(tmp_path / "run", k8s_target)
    stream_fault(action="slow-first-token", link="gateway", delay="250ms", port=8080, path="/v1/completions",
                 duration="1s", configuration=config)  # fmt: skip
    [spec] = created_specs(kube_api, "HTTPChaos")
    assert (spec["target"], spec["delay"], spec["port"], spec["path"]) == ("Request", "250ms", 8080, "/v1/completions")
    assert "replace" not in spec
    assert kube_api.live() == []


@pytest.mark.parametrize(
    ("arguments", "refused"),
    [
        ({"action": "stall", "after_events": 1, "hold": "300ms"}, "'stall' acts per SSE event"),
        ({"action": "slow-tokens", "delay": "20ms"}, "accepted on a Chaos Mesh target: http-error, slow-first-token"),
        ({"action": "http-error", "status": 503, "percent": 20}, "HTTPChaos has no per-request share"),
    ],
)
def test_stream_faults_httpchaos_cannot_express_are_refused_by_name_before_anything_is_created(
    kube_api, k8s_target, tmp_path, arguments, refused
):
    from chaoslib_ext.exceptions import FaultInjectionError
    from chaoslib_ext.faults.stream.actions import stream_fault

    config = configuration(tmp_path / "run", k8s_target)
    with pytest.raises((TargetError, FaultInjectionError), match=refused):
        stream_fault(link="gateway", duration="1s", configuration=config, **arguments)
    assert kube_api.created == []
