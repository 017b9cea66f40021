"""Stream faults on a cluster target whose gateway the run's own fault proxy fronts (``proxy.links``): every
action and any percent through the proxy, with its counters and marks, while the target's other faults
stay Chaos Mesh objects (checked by the fake API server against the CRDs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chaoslib_ext._processes import ProcessRecord, alive
from chaoslib_ext.deploy.manifests import Cluster, manifests
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.samples import read_samples
from tests.integration.helpers import activity, experiment, observe, proxy_faults, run_experiment


def hybrid_target(k8s_target: Path, sandbox: dict) -> Path:
    """The example cluster target, its services reachable (the sandbox's stand in), and the run's own
    fault proxy in front of its gateway."""
    raw = yaml.safe_load(k8s_target.read_text())
    for name in ("gateway", "redis", "kafka"):
        raw["services"][name]["address"] = sandbox["services"][name]["real"]
    raw["services"]["gateway"]["link"] = "gateway"
    raw["proxy"] = {"links": {"gateway": {"upstream": sandbox["services"]["gateway"]["real"]}}}
    path = k8s_target.with_name("hybrid.yaml")
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_stall_at_50_percent_goes_through_the_runs_proxy_and_a_redis_delay_is_networkchaos(
    kube_api, k8s_target, sandbox_state, tmp_path
):
    state_dir, state = sandbox_state
    stall = activity("stall", "faults.stream.actions", "stream_fault", link="gateway", action="stall", after_events=1,
                     hold="200ms", percent=50, seed=3, duration="4s")  # fmt: skip
    stall["background"] = True
    slow_redis = activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                          delay={"latency": "100ms"}, duration="4s")  # fmt: skip
    method = [observe("baseline", "3s"), stall, slow_redis, observe("recovery", "3s")]
    exp = experiment("stream faults on a cluster target", method, target=str(hybrid_target(k8s_target, state)),
                     load={"users": 8, "max_tokens": 8, "warmup": "1s"},
                     hypotheses=[{"name": "baseline answered", "phase": "baseline", "metric": "error_rate",
                                  "expect": "<= 0.01"}])  # fmt: skip
    result, run = run_experiment(exp, tmp_path, state_dir, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert run is not None
    entries = {e.family: e for e in Ledger(run / "ledger.json").entries()}
    # the stall: the run's fault proxy, per SSE event, at 50 %, counted and marked
    stream = entries["stream"]
    assert stream.driver == "proxy"
    assert stream.state == "removed"
    counters = stream.details["evidence"]
    assert counters["touched"] / counters["requests"] == pytest.approx(0.5, abs=0.2)
    marked = [s for s in read_samples(run / "samples") if s.faults >> stream.details["mark"] & 1]
    assert counters["touched"] - 8 <= len(marked) <= counters["touched"]
    # a stream opened while it was in force holds its first gap (one already open counts from its next event)
    opened = [s for s in marked if s.ok and s.t0 > stream.injected_at and s.t0 + s.done_ms / 1000 < stream.removed_at]
    assert len(opened) >= 10
    assert min(s.itl_ms[0] for s in opened) >= 198.0
    # the delay of Redis: a NetworkChaos object, as on any cluster target, deleted at its removal
    [network] = [o for o in kube_api.created if o["kind"] == "NetworkChaos"]
    assert network["spec"]["action"] == "delay"
    assert entries["network"].state == "removed"
    assert kube_api.live() == []
    summary = json.loads((run / "summary.json").read_text())
    by_family = {f["family"]: f["evidence"] for f in summary["faults"]}
    assert by_family["stream"]["counted"]
    assert not by_family["network"]["counted"]  # Chaos Mesh keeps no counters: coverage unknown
    # the run's proxy was the run's own: stopped with it, and the sandbox's proxy never saw a fault
    assert not alive(ProcessRecord.from_json(json.loads((run / "proxy" / "process.json").read_text())))
    assert proxy_faults(state["proxy"]["control_url"]) == {}


def test_k8s_manifests_refuse_workers_that_would_bypass_the_runs_proxy(k8s_target, tmp_path, sandbox):
    target = hybrid_target(k8s_target, sandbox)
    exp = experiment("in cluster", [observe("baseline", "1s")], target=target.name,
                     load={"users": 2, "max_tokens": 8})  # fmt: skip
    path = target.with_name("in-cluster.yaml")
    path.write_text(yaml.safe_dump(exp))
    with pytest.raises(SpecError) as err:
        manifests(path, Cluster("in-cluster", "chaosllm", "chaoslib-ext:0.1.0", workers=2))
    assert err.value.field == "--workers"
    assert "0 (the controller pod loads" in str(err.value)
    kinds = [o["kind"] for o in manifests(path, Cluster("in-cluster", "chaosllm", "chaoslib-ext:0.1.0", workers=0))]
    assert "Job" in kinds
