"""The one abort path, reached four ways on the sandbox (POST /abort, SIGUSR1, ``chaosllm abort`` from
another terminal, the abort lock taken while the run runs): every fault gone from the real server within
2 s, each verified by its backend, the load kept for the recovery window, exit 3. While the lock is
held a new run is refused with exit 3 and the reason; on a cluster target the lock is a Lease too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.run.timeline import Timeline
from tests.integration.helpers import (
    CHAOSLLM,
    ROOT,
    activity,
    chaosllm,
    experiment,
    observe,
    proxy_faults,
    run_dirs,
    wait_injected,
)

RECOVERY_S = 3.0
ANSWERED = [{"name": "answered", "phase": "overall", "metric": "error_rate", "expect": "<= 0.5"}]


def held_delay(name: str = "abort me") -> dict:
    """A Redis delay held for 60 s (its hold is what the abort cuts short), then a recovery window."""
    method = [observe("baseline", "3s"),
              activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                       delay={"latency": "100ms"}, duration="60s"),
              observe("recovery", "60s")]  # fmt: skip
    exp = experiment(name, method, target="sandbox", load={"users": 4, "max_tokens": 8, "warmup": "1s"},
                     hypotheses=ANSWERED)  # fmt: skip
    # a condition that never trips, for its recovery window: the load runs this long after the abort
    exp["extensions"][0]["safeguards"] = {
        "recovery": f"{RECOVERY_S:g}s",
        "stop_when": [{"name": "never", "metric": "error_rate", "window": "5s", "above": 1.0}],
    }
    return exp


class Running:
    """``chaosllm run`` of an experiment in the background, until its fault is in."""

    def __init__(self, exp: dict, work: Path, *options: str) -> None:
        path = work / "experiment.yaml"
        path.write_text(yaml.safe_dump(exp, sort_keys=False))
        self.out = work / "out"
        argv = [*CHAOSLLM, "run", str(path), "--out", str(self.out), *options]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.run = wait_injected(self.out, self.proc)

    @property
    def control(self) -> str:
        return json.loads((self.run / "control.json").read_text())["url"]

    def finish(self) -> tuple[int, str]:
        output = self.proc.communicate(timeout=120)[0]
        return self.proc.returncode, output

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def gone_within(control_url: str, seconds: float) -> float:
    """Seconds until the sandbox's proxy (the real server) has no fault left; fails past ``seconds``."""
    start = time.monotonic()
    while proxy_faults(control_url):
        assert time.monotonic() - start < seconds, f"a fault is still on the proxy: {proxy_faults(control_url)}"
        time.sleep(0.02)
    return time.monotonic() - start


def check_aborted(r: Running, code: int, output: str, via: str) -> dict:
    """Exit 3 for the abort, every fault verified gone, the load measured for the recovery window."""
    assert code == 3, output[-3000:]
    summary = json.loads((r.run / "summary.json").read_text())
    assert summary["outcome"]["cause"] == "operator_abort"
    [aborted] = [e for e in Timeline(r.run / "timeline.json").events() if e["kind"] == "aborted"]
    assert aborted["via"] == via
    faults = [e.id for e in Ledger(r.run / "ledger.json").entries()]
    assert aborted["removed"] == faults
    assert aborted["verified"] == faults
    assert aborted["unverified"] == {}
    recovery = summary["phases"]["recovery"]
    assert recovery["duration_s"] >= RECOVERY_S - 0.5  # the load went on after the abort
    assert recovery["requests"] > 0
    assert summary["phases"]["fault"]["duration_s"] < 30  # and the 60 s hold was cut short
    return aborted


@pytest.fixture
def running(sandbox, tmp_path):
    started: list[Running] = []

    def start(exp: dict, *options: str) -> Running:
        started.append(Running(exp, tmp_path, *options))
        return started[-1]

    yield start
    for r in started:
        r.kill()


def test_post_abort_removes_the_fault_within_2s_verifies_it_and_exits_3(sandbox, running):
    r = running(held_delay())
    status = requests.get(r.control + "/status", timeout=5).json()
    assert [f["id"] for f in status["faults"]] == ["delay-redis"]
    sent = time.monotonic()
    answer = requests.post(r.control + "/abort", json={"reason": "game day over", "who": "tester"}, timeout=30)
    answered = time.monotonic() - sent
    took = gone_within(sandbox["proxy"]["control_url"], 2.0) + answered
    assert took < 2.0
    assert answer.status_code == 200
    assert answer.json()["verified"] == ["delay-redis"]
    again = requests.post(r.control + "/abort", json={"reason": "twice"}, timeout=30).json()
    assert again["earlier"] is True  # one abort: the second answers with the first's record
    assert again["reason"] == "game day over"
    aborted = check_aborted(r, *r.finish(), "POST /abort")
    assert aborted["who"] == "tester"


def test_sigusr1_aborts_the_same_way(sandbox, running):
    r = running(held_delay())
    owner = json.loads((r.run / "owner.json").read_text())["pid"]
    os.kill(owner, signal.SIGUSR1)
    gone_within(sandbox["proxy"]["control_url"], 2.0)
    check_aborted(r, *r.finish(), "SIGUSR1")


def test_chaosllm_abort_from_another_terminal_finds_the_running_run(sandbox, running):
    r = running(held_delay())
    result = chaosllm("abort", "--reason", "stop it", "--who", "oncall", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified gone: delay-redis" in result.stdout
    gone_within(sandbox["proxy"]["control_url"], 2.0)
    check_aborted(r, *r.finish(), "POST /abort")


def test_the_abort_lock_aborts_a_running_run_and_refuses_new_ones_until_unlocked(sandbox, running, tmp_path):
    r = running(held_delay())
    try:
        took = chaosllm("lock", "--reason", "incident INC-42: freeze", "--who", "sre lead", "--no-abort")
        assert took.returncode == 0, took.stderr
        gone_within(sandbox["proxy"]["control_url"], 2.0 + 2.0)  # the run watches the lock every 2 s
        aborted = check_aborted(r, *r.finish(), "the abort lock")
        assert (aborted["reason"], aborted["who"]) == ("incident INC-42: freeze", "sre lead")
        path = tmp_path / "second.yaml"
        path.write_text(yaml.safe_dump(held_delay("a second run"), sort_keys=False))
        second = chaosllm("run", str(path), "--out", str(tmp_path / "second"), timeout=60)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "refused: the abort lock is held by sre lead" in second.stderr
        assert "incident INC-42: freeze" in second.stderr
        assert run_dirs(tmp_path / "second") == []  # nothing started
        bench = chaosllm("bench", str(path), "--a", "x=1", "--b", "x=2", "--out", str(tmp_path / "bench"), timeout=60)
        assert bench.returncode == 3, bench.stdout + bench.stderr
        assert "chaosllm bench: refused: the abort lock is held by sre lead" in bench.stderr
        gameday = chaosllm("gameday", str(path), "--out", str(tmp_path / "gameday"), timeout=60)
        assert gameday.returncode == 3, gameday.stdout + gameday.stderr
        assert "chaosllm run: refused: the abort lock is held by sre lead" in gameday.stdout
        status = chaosllm("lock", "--status")
        assert "held by sre lead" in status.stdout
    finally:
        released = chaosllm("unlock")
    assert released.returncode == 0
    assert "the abort lock is not held" in chaosllm("lock", "--status").stdout


def test_on_a_cluster_target_the_lock_is_a_lease_every_run_on_it_reads(kube_api, k8s_target, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOSLLM_STATE_DIR", str(tmp_path / "state"))  # another machine: no lock file here
    took = chaosllm("lock", "--reason", "cluster freeze", "--who", "platform", "--target", str(k8s_target),
                    "--no-abort")  # fmt: skip
    assert took.returncode == 0, took.stderr
    [lease] = [o for o in kube_api.builtins.objects.values() if o["kind"] == "Lease"]
    assert lease["spec"]["holderIdentity"] == "platform"
    assert lease["metadata"]["namespace"] == "llm"
    (tmp_path / "state" / "abort-lock.json").unlink()  # only the cluster holds it now
    exp = experiment("on the cluster", [observe("baseline", "1s")], target=str(k8s_target),
                     load={"users": 1, "max_tokens": 8}, hypotheses=ANSWERED)  # fmt: skip
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(exp))
    refused = chaosllm("run", str(path), "--out", str(tmp_path / "out"), timeout=60)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "Lease llm/chaosllm-abort-lock" in refused.stderr
    assert "cluster freeze" in refused.stderr
    released = chaosllm("unlock", "--target", str(k8s_target))
    assert released.returncode == 0, released.stderr
    assert "Lease llm/chaosllm-abort-lock" in released.stdout
    assert not [o for o in kube_api.builtins.objects.values() if o["kind"] == "Lease"]
