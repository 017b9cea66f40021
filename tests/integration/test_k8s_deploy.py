"""``chaosllm k8s``: an experiment's in-cluster objects, valid for a current Kubernetes release offline,
created on the fake API server (each checked there against the same real schemas); the workers start
suspended and are released together once the master listens; the results are fetched out of their volume
through a pod's log."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import utils as k8s_utils

from chaoslib_ext.cli.main import main
from chaoslib_ext.deploy.manifests import K8S_VERSION, schema_problems

ROOT = Path(__file__).parents[2]
SEED = ROOT / "experiments" / "k8s" / "seed-scenario.yaml"
NAME = "seed-scenario"


@pytest.fixture
def objects(tmp_path) -> list[dict]:
    out = tmp_path / "manifests.yaml"
    assert main(["k8s", "manifests", str(SEED), "--workers", "3", "--namespace", "chaosllm", "--out", str(out)]) == 0
    return list(yaml.safe_load_all(out.read_text()))


def test_the_manifests_are_valid_kubernetes_and_grant_only_what_the_run_does(objects):
    assert schema_problems(objects) == []  # strict: an unknown field anywhere is refused
    by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    chaos_role = by[("Role", f"chaosllm-{NAME}")]
    assert chaos_role["metadata"]["namespace"] == "llm"  # the target's chaos namespace
    assert chaos_role["rules"] == [{"apiGroups": ["chaos-mesh.org"], "resources": ["networkchaos"],
                                    "verbs": ["create", "get", "list", "delete"]},
                                   {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],  # the abort lock
                                    "resourceNames": ["chaosllm-abort-lock"], "verbs": ["get"]},
                                   {"apiGroups": [""], "resources": ["pods", "events"],  # the cluster's timeline
                                    "verbs": ["get", "list"]}]  # fmt: skip
    release = by[("Role", f"chaosllm-{NAME}-release")]
    assert release["rules"][0]["resourceNames"] == [f"chaosllm-{NAME}-workers"]
    workers = by[("Job", f"chaosllm-{NAME}-workers")]
    assert workers["spec"]["suspend"] is True
    assert workers["spec"]["parallelism"] == workers["spec"]["completions"] == 3
    experiment = yaml.safe_load(by[("ConfigMap", f"chaosllm-{NAME}")]["data"]["experiment.yaml"])
    load = next(e for e in experiment["extensions"] if e["name"] == "chaosllm")["load"]
    assert (load["workers"], load["master"]) == (3, "0.0.0.0:5557")
    target = yaml.safe_load(by[("ConfigMap", f"chaosllm-{NAME}")]["data"]["target.example.yaml"])
    assert "kubeconfig" not in target["chaos_mesh"]  # in the cluster: the ServiceAccount's credentials


def test_a_field_kubernetes_does_not_know_is_refused_offline(objects):
    job = next(o for o in objects if o["kind"] == "Job")
    job["spec"]["suspended"] = True  # a typo of suspend
    [problem] = schema_problems([job])
    assert "suspended" in problem
    assert K8S_VERSION.startswith("1.")


def test_created_on_the_api_server_the_workers_wait_until_released_then_the_results_come_out(
    objects, kube_api, tmp_path
):
    kubeconfig = kube_api.kubeconfig(tmp_path / "kubeconfig")
    api = k8s_config.new_client_from_config(config_file=kubeconfig)
    for obj in objects:
        k8s_utils.create_from_dict(api, obj)
    assert kube_api.builtins.rejected == []
    key = ("jobs", "chaosllm", f"chaosllm-{NAME}-workers")
    assert kube_api.builtins.objects[key]["spec"]["suspend"] is True
    # the release container waits for the master's join port, then un-suspends the workers' Job
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    args = ["k8s", "release", "--job", key[2], "--namespace", "chaosllm", "--when-listening", f"127.0.0.1:{port}",
            "--kubeconfig", kubeconfig, "--timeout", "30"]  # fmt: skip
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(args)))
    thread.start()
    time.sleep(1.5)
    assert kube_api.builtins.objects[key]["spec"]["suspend"] is True  # nothing listens yet: still paused
    listener.listen()
    thread.join(30)
    listener.close()
    assert codes == [0]
    assert kube_api.builtins.objects[key]["spec"]["suspend"] is False
    # the controller wrote its run directory on the results volume; fetch copies it out
    volume = tmp_path / "volume"
    (volume / "run" / "samples").mkdir(parents=True)
    (volume / "run" / "summary.json").write_text(json.dumps({"outcome": {"exit_code": 0}}))
    (volume / "run" / "samples" / "samples-1.req").write_bytes(bytes(range(256)) * 4)
    kube_api.builtins.volumes[f"chaosllm-{NAME}-results"] = volume
    out = tmp_path / "fetched"
    assert main(["k8s", "fetch", "--name", NAME, "--namespace", "chaosllm", "--out", str(out),
                 "--kubeconfig", kubeconfig, "--timeout", "20"]) == 0  # fmt: skip
    assert json.loads((out / "run" / "summary.json").read_text()) == {"outcome": {"exit_code": 0}}
    assert (out / "run" / "samples" / "samples-1.req").read_bytes() == bytes(range(256)) * 4
    assert ("pods", "chaosllm", f"chaosllm-{NAME}-fetch") not in kube_api.builtins.objects  # cleaned up
    assert isinstance(k8s.CoreV1Api(api), k8s.CoreV1Api)


def test_a_credential_in_clear_is_refused_and_nothing_is_written(tmp_path, capsys):
    experiment = yaml.safe_load(SEED.read_text())
    block = next(e for e in experiment["extensions"] if e["name"] == "chaosllm")
    block["load"]["headers"] = {"Authorization": "Bearer sk-live-not-for-a-configmap"}
    (tmp_path / "target.example.yaml").write_text((SEED.parent / "target.example.yaml").read_text())
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment))
    out = tmp_path / "m.yaml"
    assert main(["k8s", "manifests", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "load.headers.Authorization" in err
    assert "{env: NAME}" in err
    assert "sk-live" not in err
    assert not out.exists()
