"""NetworkChaos objects from portable fault specs: the link bindings, the dead-man switch, the
namespace allowlist, and validity against Chaos Mesh's real CRD schemas."""

from pathlib import Path

import pytest
import yaml

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.driver import ChaosMeshDriver
from chaoslib_ext.faults.chaosmesh.network import network_chaos_objects
from chaoslib_ext.faults.chaosmesh.objects import (
    check_blast_radius,
    check_namespaces,
    describe_status,
    injected,
    object_name,
)
from chaoslib_ext.faults.chaosmesh.schemas import schema_errors
from chaoslib_ext.faults.network.spec import NetworkFaultSpec
from chaoslib_ext.target import BlastRadius, Target

EXAMPLE = Path(__file__).parents[3] / "experiments" / "k8s" / "target.example.yaml"


def target():
    return Target.from_json(yaml.safe_load(EXAMPLE.read_text()), str(EXAMPLE))


def build(raw, fault_id="f"):
    t = target()
    return network_chaos_objects(NetworkFaultSpec.parse(raw), t, t.chaos_mesh, "20261122T000000Z-x-abcd", fault_id)


def test_a_link_with_a_client_becomes_client_pods_towards_server_pods():
    [obj] = build({"link": "redis", "action": "delay", "delay": {"latency": "200ms"}, "duration": "20s"})
    spec = obj["spec"]
    assert spec["selector"] == {"namespaces": ["llm"], "labelSelectors": {"app.kubernetes.io/name": "gateway"}}
    assert spec["target"] == {
        "mode": "all",
        "selector": {"namespaces": ["llm"], "labelSelectors": {"app.kubernetes.io/name": "redis"}},
    }
    assert spec["direction"] == "to"
    assert spec["delay"] == {"latency": "200ms", "jitter": "0ms", "correlation": "0"}
    assert spec["duration"] == "50s"  # 20 s + 30 s grace: Chaos Mesh removes it even if we die
    assert obj["metadata"]["labels"]["chaosllm.io/run"] == "20261122T000000Z-x-abcd"
    assert schema_errors(obj) == []


def test_a_link_with_two_clients_makes_one_object_per_client():
    objs = build({"link": "kafka", "action": "delay", "delay": {"latency": "50ms"}})
    assert [o["metadata"]["name"].rsplit("-", 1)[1] for o in objs] == ["gateway", "worker"]
    assert all(o["spec"]["target"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "kafka"} for o in objs)
    assert all(schema_errors(o) == [] for o in objs)


def test_bandwidth_is_one_limit_shared_by_the_link_as_on_the_proxy():
    # what the broker sends its two client services, together: one object on the broker's egress
    [obj] = build({"link": "kafka", "action": "bandwidth", "bandwidth": {"rate": "50kbps"}, "direction": "from"})
    assert obj["spec"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "kafka"}
    assert (obj["spec"]["direction"], "target" in obj["spec"]) == ("to", False)
    assert obj["spec"]["bandwidth"] == {"rate": "50kbps", "limit": 20971520, "buffer": 10000}
    assert obj["spec"]["duration"] == "15m"  # no duration of its own: bounded anyway
    assert schema_errors(obj) == []
    # what two client services send cannot share one limit: Chaos Mesh shapes each pod's egress
    with pytest.raises(TargetError, match="2 client services cannot share one limit"):
        build({"link": "kafka", "action": "bandwidth", "bandwidth": {"rate": "50kbps"}, "direction": "to"})
    [one] = build({"link": "redis", "action": "bandwidth", "bandwidth": {"rate": "50kbps"}, "direction": "to"})
    assert one["spec"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "gateway"}


def test_a_link_with_external_clients_faults_only_what_the_server_sends_them():
    [obj] = build({"link": "gateway", "action": "delay", "delay": {"latency": "1s"}, "direction": "from"})
    assert obj["spec"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "gateway"}
    assert obj["spec"]["direction"] == "to"
    assert obj["spec"]["externalTargets"] == ["10.244.7.0/24"]  # not the gateway's Redis and Kafka calls
    assert "target" not in obj["spec"]
    assert schema_errors(obj) == []
    with pytest.raises(TargetError, match=r"clients outside the cluster.*\(accepted: from\)"):
        build({"link": "gateway", "action": "delay", "delay": {"latency": "1s"}, "direction": "to"})


def test_a_link_with_no_clients_at_all_is_refused_rather_than_fault_everything():
    t = Target.from_json({**yaml.safe_load(EXAMPLE.read_text()), "links": {"gateway": {"server": "gateway"}}}, "x")
    spec = NetworkFaultSpec.parse(
        {"link": "gateway", "action": "delay", "delay": {"latency": "1s"}, "direction": "from"}
    )
    with pytest.raises(TargetError, match=r"names no clients.*external_clients"):
        network_chaos_objects(spec, t, t.chaos_mesh, "run", "f")


def test_redis_call_failures_on_a_cluster_say_what_to_run_there():
    from chaoslib_ext.exceptions import SpecError
    from chaoslib_ext.faults.redis.actions import _network_spec

    with pytest.raises(SpecError) as err:
        _network_spec({"percent": 15, "kind": "timeout"}, "call-failures", cluster=True)
    assert err.value.field == "on_cluster"
    assert "cannot make 15 % of calls go unanswered" in err.value.message
    assert "packet-loss" in (err.value.accepted or "")
    spec = _network_spec({"percent": 15, "on_cluster": "packet-loss"}, "call-failures", cluster=True)
    assert (spec.action, spec.loss.percent if spec.loss else None) == ("loss", 15.0)
    local = _network_spec({"percent": 15, "on_cluster": "packet-loss"}, "call-failures", cluster=False)
    assert local.action == "timeout"  # locally a call that goes unanswered, as written


@pytest.mark.parametrize(
    "raw",
    [
        {
            "link": "redis",
            "action": "netem",
            "delay": {"latency": "10ms"},
            "loss": {"loss": "5"},
            "rate": {"rate": "1mbps"},
        },
        {"link": "redis", "action": "partition", "direction": "both"},
        {"link": "redis", "action": "corrupt", "corrupt": {"corrupt": "3", "correlation": "25"}},
        {"link": "redis", "action": "duplicate", "duplicate": {"duplicate": "3"}, "mode": "fixed-percent", "value": 50},
        {
            "selector": {"namespaces": ["llm"], "labelSelectors": {"app": "x"}},
            "action": "loss",
            "loss": {"loss": "15"},
            "externalTargets": ["10.0.0.1"],
            "mode": "fixed",
            "value": "1",
        },
    ],
)
def test_every_action_validates_against_the_crd(raw):
    for obj in build(raw):
        assert schema_errors(obj) == []


def test_the_crd_check_itself_catches_broken_manifests():
    [obj] = build({"link": "redis", "action": "delay", "delay": {"latency": "200ms"}})
    del obj["spec"]["mode"]
    obj["spec"]["delay"]["latency"] = "1m30s"  # the CRD allows one number and one unit
    errors = schema_errors(obj)
    assert any("'mode' is a required property" in e for e in errors)
    assert any("does not match" in e for e in errors)


def test_local_only_actions_are_refused_on_a_cluster():
    with pytest.raises(TargetError, match="exists only on the local fault proxy"):
        build({"link": "redis", "action": "reset"})


def test_an_unknown_link_names_the_accepted_ones():
    with pytest.raises(TargetError, match=r"no link 'dns' \(accepted: gateway, kafka, redis\)"):
        build({"link": "dns", "action": "delay", "delay": {"latency": "1s"}})


def test_namespaces_outside_the_allowlist_are_refused_before_anything_is_created():
    [obj] = build(
        {
            "selector": {"namespaces": ["kube-system"], "labelSelectors": {"k8s-app": "kube-dns"}},
            "action": "delay",
            "delay": {"latency": "1s"},
        }
    )
    with pytest.raises(TargetError, match=r"namespace 'kube-system' outside chaos_mesh.allowed_namespaces"):
        check_namespaces(obj, ["llm"])
    with pytest.raises(TargetError, match="kube-system"):
        ChaosMeshDriver(target().chaos_mesh, [obj], "x")


def test_a_selector_without_namespaces_means_the_objects_own():
    [obj] = build({"selector": {"labelSelectors": {"app": "x"}}, "action": "delay", "delay": {"latency": "1s"}})
    check_namespaces(obj, ["llm"])  # the object lives in llm: allowed
    with pytest.raises(TargetError):
        check_namespaces(obj, ["other"])


def test_names_are_dns_labels_unique_per_run():
    a = object_name("Slow_Redis!", "run-1")
    assert a == object_name("Slow_Redis!", "run-1")
    assert a != object_name("Slow_Redis!", "run-2")
    assert len(object_name("x" * 100, "run", "worker")) <= 63
    assert a.startswith("slow-redis-")


def test_injected_reads_conditions_or_records():
    assert injected({"status": {"conditions": [{"type": "AllInjected", "status": "True"}]}})
    records = {
        "experiment": {"containerRecords": [{"id": "a", "phase": "Injected"}, {"id": "b", "phase": "Not Injected"}]}
    }
    assert not injected({"status": records})
    assert "b: Not Injected" in describe_status({"status": records})
    assert not injected(None)


@pytest.mark.parametrize(
    ("mode", "value", "limits", "refused"),
    [
        ("all", None, BlastRadius(allow_mode_all=False), "mode all selects every matching pod"),
        ("all", None, BlastRadius(allow_mode_all=True), None),
        ("one", None, BlastRadius(), None),
        ("fixed-percent", "60", BlastRadius(max_percent=50), r"value 60% is above .*max_percent \(accepted: up to 50%"),
        ("random-max-percent", "50", BlastRadius(max_percent=50), None),
        ("fixed", "4", BlastRadius(max_pods=3), r"value 4 pods is above .*max_pods \(accepted: up to 3\)"),
        ("fixed", "4", BlastRadius(), None),
    ],
)
def test_the_blast_radius_refuses_too_wide_a_selection(mode, value, limits, refused):
    raw = {"link": "gateway", "action": "loss", "loss": {"loss": "10"}, "mode": mode, "direction": "from"}  # no peer
    if value is not None:
        raw["value"] = value
    [obj] = build(raw)
    if refused is None:
        check_blast_radius(obj, limits)
    else:
        with pytest.raises(TargetError, match=refused):
            check_blast_radius(obj, limits)


def test_the_blast_radius_applies_to_the_network_target_too():
    [obj] = build({"link": "redis", "action": "loss", "loss": {"loss": "10"}, "mode": "one", "direction": "both"})
    assert obj["spec"]["target"]["mode"] == "all"
    with pytest.raises(TargetError, match=r"spec.target.mode all"):
        check_blast_radius(obj, BlastRadius(allow_mode_all=False))
