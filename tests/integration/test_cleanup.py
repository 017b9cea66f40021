"""``chaosllm cleanup`` keeps the promise: runs outside ``./reports`` are found (the registry), Chaos Mesh
objects are found by their labels even when no ledger lists them, and a live run is left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from chaoslib_ext.faults.chaosmesh.kube import KubeObjects
from chaoslib_ext.faults.chaosmesh.objects import API_VERSION, labels
from chaoslib_ext.load.runner import LoadProcess
from chaoslib_ext.registry import register_run
from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.run.rundir import RunDir
from tests.integration.helpers import CHAOSLLM, ROOT, chaosllm, proxy_faults, run_dirs

SHORT = ROOT / "tests" / "integration" / "experiments" / "short.yaml"


def test_cleanup_finds_a_killed_run_outside_reports_through_the_registry(sandbox, tmp_path, in_tmp):
    out = tmp_path / "elsewhere"
    proc = subprocess.Popen([*CHAOSLLM, "run", str(SHORT), "--out", str(out), "--var", "window=30s"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    control = sandbox["proxy"]["control_url"]
    deadline = time.monotonic() + 60
    while not proxy_faults(control):
        assert proc.poll() is None, "the run ended before its fault went in"
        assert time.monotonic() < deadline, "the fault never went in"
        time.sleep(0.1)
    [run] = run_dirs(out)
    load = LoadProcess.find(RunDir(run).load, RunDir(run).samples)
    assert load is not None
    assert load.running
    # held stopped, the load's own dead-man switch (it quits within a second or two of its runner's death)
    # cannot race cleanup: cleanup has to stop it, and resume it to do so
    os.killpg(load.record.pid, signal.SIGSTOP)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proxy_faults(control), "a SIGKILL leaves the fault for cleanup"
        assert load.running, "a stopped load outlives its runner"
        result = chaosllm("cleanup", cwd=in_tmp)  # run where there is no ./reports at all
    finally:
        if load.running:  # should cleanup fail, stop what the test started anyway
            os.killpg(load.record.pid, signal.SIGKILL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{run.name}: fault " in result.stdout
    assert f"{run.name}: load stopped" in result.stdout
    assert not load.running
    assert proxy_faults(control) == {}
    assert Ledger(run / "ledger.json").outstanding() == []


def _ghost(kube_api, k8s_target, run_id: str, fault: str) -> dict:
    import yaml

    raw = yaml.safe_load(k8s_target.read_text())["chaos_mesh"]
    manifest = {
        "apiVersion": API_VERSION,
        "kind": "NetworkChaos",
        "metadata": {"name": f"{fault}-x", "namespace": "llm", "labels": labels(run_id, fault)},
        "spec": {"action": "delay", "mode": "all", "selector": {"namespaces": ["llm"]}, "delay": {"latency": "10ms"},
                 "duration": "1m"},
    }  # fmt: skip
    KubeObjects(raw["kubeconfig"], raw["context"]).create(manifest)
    return manifest


def test_objects_no_ledger_lists_are_found_by_their_run_label(kube_api, k8s_target, tmp_path):
    run = tmp_path / "out" / "20261201T000000Z-crashed-between-create-and-record-0001"
    run.mkdir(parents=True)
    (run / "experiment.json").write_text(json.dumps({"configuration": {"chaosllm_target": str(k8s_target)}}))
    (run / "owner.json").write_text(
        json.dumps({"name": "run", "pid": 2**22 + 7, "start_ticks": 1, "argv": [], "log": ""})
    )
    register_run(run)
    _ghost(kube_api, k8s_target, run.name, "ghost")
    other = _ghost(kube_api, k8s_target, "20261201T000000Z-a-run-of-another-machine-0002", "other")
    result = chaosllm("cleanup", "--root", str(tmp_path / "nowhere"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{run.name}: NetworkChaos llm/ghost-x deleted (found by its label)" in result.stdout
    assert [o["metadata"]["name"] for o in kube_api.live()] == [other["metadata"]["name"]]  # not this run's
    swept = chaosllm("cleanup", "--root", str(tmp_path / "nowhere"), "--target", str(k8s_target))
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert "NetworkChaos llm/other-x deleted (found by its label)" in swept.stdout
    assert kube_api.live() == []


def test_a_live_runs_objects_are_spared_by_the_target_sweep(kube_api, k8s_target, tmp_path):
    import os

    from chaoslib_ext._processes import start_ticks

    run = tmp_path / "out" / "20261201T000000Z-alive-0003"
    run.mkdir(parents=True)
    me = {"name": "run", "pid": os.getpid(), "start_ticks": start_ticks(os.getpid()), "argv": [], "log": ""}
    (run / "owner.json").write_text(json.dumps(me))
    register_run(run)
    _ghost(kube_api, k8s_target, run.name, "mine")
    result = chaosllm("cleanup", "--root", str(tmp_path / "nowhere"), "--target", str(k8s_target))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [o["metadata"]["name"] for o in kube_api.live()] == ["mine-x"]
