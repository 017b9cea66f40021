"""validate and --dry-run plan every fault on the target and check Chaos Mesh objects against the CRDs."""

import re
from pathlib import Path

import yaml

from chaoslib_ext.experiment.faultplan import crd_problems
from chaoslib_ext.experiment.loader import load_source
from chaoslib_ext.experiment.validate import validate

K8S = Path(__file__).parents[3] / "experiments" / "k8s"


def test_an_object_the_crd_refuses_is_named_with_its_field():
    bad = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "NetworkChaos",
        "metadata": {"name": "x", "namespace": "llm"},
        "spec": {"action": "delay", "mode": "all", "selector": {}, "delay": {"latency": 100}},
    }
    [problem] = crd_problems([bad])
    assert problem.startswith("NetworkChaos x: spec.delay.latency: 100 is not of type 'string'")


def test_an_unknown_kind_is_a_problem_and_other_objects_are_not_checked():
    assert crd_problems([{"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "DNSChaos", "metadata": {"name": "d"}}]) == [
        "DNSChaos d: no Chaos Mesh CRD for kind 'DNSChaos' (accepted: HTTPChaos, IOChaos, NetworkChaos, PodChaos, "
        "StatusCheck, StressChaos)"
    ]
    assert crd_problems([{"kind": "ProxyFault", "link": "redis"}]) == []


def test_validate_plans_faults_on_the_target_and_locates_what_it_cannot_apply(tmp_path):
    target = yaml.safe_load((K8S / "target.example.yaml").read_text())
    target["links"]["redis"] = {"server": "redis"}  # no client pods: "to" cannot be expressed on the server
    (tmp_path / "target.yaml").write_text(yaml.safe_dump(target))
    text = (K8S / "seed-scenario.yaml").read_text().replace("target.example.yaml", "target.yaml")
    path = tmp_path / "seed.yaml"
    text = re.sub(
        r"        percent: 15\n        kind: timeout\n        on_cluster: .*\n", "        latency: 100ms\n", text
    )
    path.write_text(text.replace("func: call_failures", "func: latency"))
    problems = [str(p) for p in validate(load_source(path))]
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "latency: 100ms" in t)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line}:9: ")  # the arguments mapping of that activity
    assert "method[2].provider.arguments: on target 'llm-staging': link 'redis' names no clients" in problems[0]
