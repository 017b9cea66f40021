"""The cluster on the timeline, on the fake API server: a gateway pod OOM-killed and not ready during a
fault, a Warning event about it, ready again after the removal: each change in the timeline and drawn on
the report's charts, and "all replicas ready again" as a recovery time of the summary."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from chaoslib_ext.faults.chaosmesh.kube import api_client
from chaoslib_ext.run.ledger import Ledger
from tests.integration.helpers import CHAOSLLM, ROOT, activity, experiment, observe, wait_injected

GATEWAY = {"app.kubernetes.io/name": "gateway"}


def pod_status(ready: bool, restarts: int = 0, reason: str | None = None) -> dict:
    state = {"terminated": {"exitCode": 137, "reason": reason}} if reason else {}
    container = {"name": "gateway", "image": "gateway:1", "imageID": "sha256:1", "ready": ready,
                 "restartCount": restarts, "lastState": state, "state": {"running": {}}}  # fmt: skip
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [container]}  # fmt: skip


def cluster_target(k8s_target: Path, sandbox: dict) -> Path:
    raw = yaml.safe_load(k8s_target.read_text())
    for name in ("gateway", "redis", "kafka"):
        raw["services"][name]["address"] = sandbox["services"][name]["real"]
    path = k8s_target.with_name("watched.yaml")
    path.write_text(yaml.safe_dump(raw))
    return path


def gateway_pods(target: Path, ips: dict[str, str]) -> k8s.CoreV1Api:
    """The gateway's pods (name -> IP) created on the fake API, ready; the client that made them."""
    raw = yaml.safe_load(target.read_text())
    core = k8s.CoreV1Api(api_client(raw["chaos_mesh"]["kubeconfig"], raw["chaos_mesh"]["context"]))
    for name, ip in ips.items():
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "llm", "labels": GATEWAY},
               "spec": {"containers": [{"name": "gateway", "image": "gateway:1"}]}}  # fmt: skip
        core.create_namespaced_pod("llm", pod)
        core.patch_namespaced_pod(name, "llm", {"status": {**pod_status(True), "podIP": ip}})
    return core


def start_run(target: Path, title: str, fault_s: float, after_s: float, tmp_path: Path) -> subprocess.Popen:
    """``chaosllm run`` in the background: a baseline, a Redis delay (a NetworkChaos on the fake API), after."""
    method = [observe("baseline", "3s"),
              activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                       delay={"latency": "100ms"}, duration=f"{fault_s:g}s"),
              observe("recovery", f"{after_s:g}s")]  # fmt: skip
    load = {"users": 2, "max_tokens": 4, "warmup": "1s"}
    answered = [{"name": "answered", "phase": "overall", "metric": "error_rate", "expect": "<= 0.5"}]
    exp = experiment(title, method, target=str(target), load=load, hypotheses=answered)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    argv = [*CHAOSLLM, "run", str(path), "--out", str(tmp_path / "out")]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_clusters_pods_are_on_the_timeline_and_their_recovery_is_timed(kube_api, k8s_target, sandbox, tmp_path):
    target = cluster_target(k8s_target, sandbox)
    core = gateway_pods(target, {"gateway-0": "10.244.0.10", "gateway-1": "10.244.0.11"})
    proc = start_run(target, "pods on the timeline", 6, 8, tmp_path)
    run = wait_injected(tmp_path / "out", proc)
    time.sleep(2.5)  # the watch has read the pods as they were
    core.patch_namespaced_pod("gateway-0", "llm", {"status": pod_status(False, 1, "OOMKilled")})
    event = {"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "BackOff",
             "message": "Back-off restarting failed container gateway",
             "metadata": {"name": "gateway-0.backoff", "namespace": "llm"},
             "involvedObject": {"kind": "Pod", "name": "gateway-0", "namespace": "llm"}}  # fmt: skip
    core.create_namespaced_event("llm", event)
    deadline = time.monotonic() + 30
    while not any(e.removed_at for e in Ledger(run / "ledger.json").entries()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3.0)  # still not ready 3 s after the removal
    core.patch_namespaced_pod("gateway-0", "llm", {"status": pod_status(True, 1, "OOMKilled")})
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, output[-3000:]
    changes = [(e["pod"], e["change"]) for e in json.loads((run / "timeline.json").read_text())["events"]
               if e["kind"] == "cluster"]  # fmt: skip
    assert changes[0] == ("", "watched")
    for expected in (("gateway-0", "oom_killed"), ("gateway-0", "not_ready"), ("gateway-0", "warning"),
                     ("", "not_all_ready"), ("gateway-0", "ready"), ("", "all_ready")):  # fmt: skip
        assert expected in changes, expected
    assert not any(pod == "gateway-1" for pod, _ in changes)  # the other replica never changed
    cluster = json.loads((run / "summary.json").read_text())["cluster"]
    assert cluster["changes"] == {"oom_killed": 1, "not_ready": 1, "warning": 1, "ready": 1}
    assert cluster["recovered"] is True
    assert 2.5 <= cluster["replicas_ready_s"] <= 3.0 + 2 * 2.0 + 1.0  # 3 s, read every 2 s
    assert "all replicas ready again" in (run / "report.md").read_text()
    charts = (run / "report.html").read_text().split('id="timeline"', 1)[1]
    assert "gateway-0 oom killed restarts 0 -&gt; 1 (OOMKilled)" in charts


def test_each_pod_of_the_selector_is_scraped_on_its_own(kube_api, k8s_target, sandbox, tmp_path):
    """Two gateway pods, each with its own /metrics at its own IP (127.0.0.2 and .3: loopback): the run
    scrapes both, not one of them behind a Service, and sums their histograms."""
    from prometheus_client import CollectorRegistry, Histogram, start_http_server

    from chaoslib_ext._readiness import free_port

    port = free_port()
    servers, observed = [], {"gateway-0": (0.05, 10), "gateway-1": (0.2, 5)}
    for name, ip in (("gateway-0", "127.0.0.2"), ("gateway-1", "127.0.0.3")):
        registry = CollectorRegistry()
        ttft = Histogram("vllm:time_to_first_token_seconds", "ttft", registry=registry)
        servers.append((start_http_server(port, addr=ip, registry=registry), ttft, name))
    target = cluster_target(k8s_target, sandbox)
    raw = yaml.safe_load(target.read_text())
    raw["services"]["gateway"]["metrics"] = {"port": port, "path": "/metrics"}
    target.write_text(yaml.safe_dump(raw))
    gateway_pods(target, {"gateway-0": "127.0.0.2", "gateway-1": "127.0.0.3"})
    proc = start_run(target, "a scrape per pod", 4, 3, tmp_path)
    try:
        run = wait_injected(tmp_path / "out", proc)
        time.sleep(2.0)  # after the scrape at the injection, before the one at the removal
        for _, ttft, name in servers:  # requests each pod answered while the fault was in
            value, count = observed[name]
            for _ in range(count):
                ttft.observe(value)
        output = proc.communicate(timeout=120)[0]
    finally:
        for server, _, _ in servers:
            server[0].shutdown()
            server[0].server_close()
    assert proc.returncode == 0, output[-3000:]
    fault = json.loads((run / "summary.json").read_text())["phases"]["fault"]["server_metrics"]
    assert fault["sources"] == ["gateway.gateway-0", "gateway.gateway-1"]
    assert fault["ttft_ms"]["count"] == 15  # both pods' observations, summed
    assert fault["ttft_ms"]["mean"] == pytest.approx((10 * 50 + 5 * 200) / 15)
    assert sorted(p.name for p in (run / "server_metrics").iterdir()) == [
        "gateway.gateway-0.prom",
        "gateway.gateway-1.prom",
    ]
