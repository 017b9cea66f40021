"""``chaosllm check TARGET``: every service the target names is reached, one row per check, exit 2 on
any failure; ``chaosllm run`` runs it first and starts nothing when it fails."""

from __future__ import annotations

import yaml

from tests.integration.helpers import chaosllm, run_dirs
from tests.integration.test_llama_cpp import KEY_ENV, llama_target


def rows(output: str) -> list[tuple[str, str]]:
    """(result, check) of each row the table printed."""
    return [tuple(line.split()[:2]) for line in output.splitlines()[1:] if line.startswith(("ok ", "FAILED "))]


def test_the_sandbox_passes_every_check(sandbox):
    result = chaosllm("check", "sandbox")
    assert result.returncode == 0, result.stdout + result.stderr
    found = rows(result.stdout)
    assert ("ok", "streamed") in found
    assert found.count(("ok", "Redis")) == 2  # the primary and its replica
    assert found.count(("ok", "Kafka")) == 2  # the broker and the mock cluster
    assert ("ok", "fault") in found
    assert all(r == "ok" for r, _ in found)
    assert f"{len(found)} of {len(found)} checks passed" in result.stdout


def cluster_target(sandbox, kube_api, tmp_path):
    """A cluster target whose services are the sandbox's (reachable) and whose API is the fake."""
    services = {
        "gateway": {"address": sandbox["services"]["gateway"]["address"],
                    "pods": {"namespaces": ["llm"], "labelSelectors": {"app": "gateway"}}},
        "redis": {"address": sandbox["services"]["redis"]["real"],
                  "pods": {"namespaces": ["llm"], "labelSelectors": {"app": "redis"}}},
    }  # fmt: skip
    target = {
        "kind": "chaosllm/target",
        "version": 1,
        "name": "fake-cluster",
        "backend": "chaos-mesh",
        "services": services,
        "links": {"redis": {"clients": ["gateway"], "server": "redis"}},
        "chaos_mesh": {"namespace": "llm", "allowed_namespaces": ["llm"], "context": "fake",
                       "blast_radius": {"allow_mode_all": True},
                       "kubeconfig": kube_api.kubeconfig(tmp_path / "kubeconfig"), "inject_timeout": "3s"},
    }  # fmt: skip
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(target))
    return path


def test_a_cluster_target_checks_the_api_the_crds_and_rbac(sandbox, kube_api, tmp_path):
    path = cluster_target(sandbox, kube_api, tmp_path)
    result = chaosllm("check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      kubernetes API" in result.stdout
    assert "networkchaos.chaos-mesh.org" in result.stdout
    assert "podchaos.chaos-mesh.org" in result.stdout
    assert "NetworkChaos in llm" in result.stdout
    verbs = {(r["verb"], r["resource"], r["namespace"]) for r in kube_api.reviews}
    assert ("create", "networkchaos", "llm") in verbs
    assert ("delete", "podchaos", "llm") in verbs
    # the cluster timeline and the per-pod scrape list the selectors' pods and events
    assert {("list", "pods", "llm"), ("list", "events", "llm")} <= verbs
    assert "pods in llm (watched)" in result.stdout

    kube_api.denied.add(("create", "networkchaos", "llm"))
    kube_api.denied.add(("list", "events", "llm"))
    kube_api.missing_crds.add("podchaos")
    refused = chaosllm("check", str(path))
    assert refused.returncode == 2
    assert "FAILED  RBAC" in refused.stdout
    assert "denied: create (RBAC: create networkchaos is not allowed)" in refused.stdout
    assert "not installed: install Chaos Mesh" in refused.stdout
    [events] = [line for line in refused.stdout.splitlines() if "events in llm (watched)" in line]
    assert events.startswith("FAILED")
    assert "denied: list (RBAC: list events is not allowed)" in events


def test_run_checks_first_and_creates_nothing_when_rbac_refuses(sandbox, kube_api, tmp_path):
    path = cluster_target(sandbox, kube_api, tmp_path)
    kube_api.denied.add(("delete", "networkchaos", "llm"))
    delay = {"link": "redis", "action": "delay", "delay": {"latency": "100ms"}, "duration": "2s"}
    fault = {"type": "python", "module": "chaoslib_ext.faults.network.actions", "func": "network_fault",
             "arguments": delay}  # fmt: skip
    experiment = {
        "version": "1.0.0",
        "title": "refused by rbac",
        "description": "the identity may not delete what it would create",
        "configuration": {"chaosllm_target": str(path)},
        "controls": [{"name": "chaosllm", "provider": {"type": "python", "module": "chaoslib_ext.controls.run"}}],
        "method": [{"type": "action", "name": "delay", "provider": fault}],
    }
    exp = tmp_path / "experiment.yaml"
    exp.write_text(yaml.safe_dump(experiment))
    result = chaosllm("run", str(exp), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "preflight_failed (exit code 2): nothing ran" in result.stdout
    assert "denied: delete" in result.stderr
    assert kube_api.created == []
    assert run_dirs(tmp_path / "out") == []
    kinds = {(r["resource"], r["verb"]) for r in kube_api.reviews}
    # what the experiment would create, reading the abort lock every run checks, listing the pods and
    # events the run watches: nothing else is asked
    assert kinds == {("networkchaos", v) for v in ("create", "get", "list", "delete")} | {
        ("leases", "get"), ("pods", "list"), ("events", "list")}  # fmt: skip


def test_a_keyed_llama_cpp_target_passes_with_its_key_and_says_so_without(llama_server, tmp_path):
    path = llama_target(tmp_path, llama_server)
    result = chaosllm("check", str(path), env={KEY_ENV: llama_server["key"]})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      streamed completion" in result.stdout
    assert "(model smollm2)" in result.stdout
    assert "started by each run" in result.stdout  # the fault proxy the target asks for
    assert llama_server["key"] not in result.stdout
    missing = chaosllm("check", str(path), env={KEY_ENV: ""})
    assert missing.returncode == 2
    assert f"the environment variable {KEY_ENV} is not set or empty" in missing.stdout
