"""Load health on the sandbox: a Locust worker killed mid-run stops the run with exit 2 naming it, and its
dead seconds are not measured; a partition that silences every stream is a measurement, not an error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import yaml

from chaoslib_ext.load.health import read_beats
from tests.integration.helpers import (
    CHAOSLLM,
    ROOT,
    activity,
    experiment,
    observe,
    process_group,
    proxy_faults,
    run_dirs,
)


def start(tmp_path: Path, exp: dict) -> tuple[subprocess.Popen, Path]:
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CHAOSLLM, "run", str(path), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, out


def wait_for(condition, proc: subprocess.Popen, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(0.1)
    raise TimeoutError("condition never met")


def events(run: Path) -> list[dict]:
    return json.loads((run / "timeline.json").read_text())["events"]


def test_a_sigkilled_locust_worker_stops_the_run_with_2_naming_it(sandbox, tmp_path):
    load = {"users": 4, "max_tokens": 8, "warmup": "2s", "processes": 2}
    hypotheses = [{"name": "no error", "phase": "overall", "metric": "error_rate", "expect": "<= 0.01"}]
    proc, out = start(tmp_path, experiment("load health", [observe("hold", "60s")], "sandbox", load, hypotheses))
    try:
        run = wait_for(lambda: next(iter(run_dirs(out)), None), proc)
        wait_for(
            lambda: any(e["kind"] == "window" for e in events(run)) if (run / "timeline.json").exists() else None, proc
        )
        workers = wait_for(lambda: [b for b in read_beats(run / "load" / "heartbeats") if b.role == "worker"], proc)
        assert len(read_beats(run / "load" / "heartbeats")) == 3  # the master and two workers beat
        victim = workers[0]
        time.sleep(3.0)  # some measured seconds before the death
        killed_at = time.time()
        os.kill(victim.pid, signal.SIGKILL)
        output = proc.communicate(timeout=60)[0]
        ended = time.time() - killed_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, output[-3000:]
    print(f"\nload health: the run exited 2 {ended:.1f}s after a Locust worker was SIGKILLed")
    assert ended <= 10.0, f"the run took {ended:.1f}s to end after the kill"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outcome"]["cause"] == "load_died"
    assert summary["outcome"]["reasons"][0].startswith(f"load process locust worker (pid {victim.pid}) died: ")
    assert f"locust worker (pid {victim.pid})" in output
    died = next(e for e in events(run) if e["kind"] == "load_died")
    assert died["last_beat_at"] <= killed_at + 0.1
    assert summary["window"]["end_at"] == died["last_beat_at"]  # nothing after the death is measured
    assert process_group(json.loads((run / "load" / "process.json").read_text())["pid"]) == {}


def test_a_partition_that_silences_every_stream_is_measured_not_called_a_harness_error(sandbox, tmp_path):
    cut = {"link": "gateway", "action": "partition", "direction": "both", "duration": "10s"}
    partition = activity("cut the gateway off", "faults.network.actions", "network_fault", **cut)
    hypotheses = [
        {"name": "streams flow before", "phase": "baseline", "metric": "output_throughput_tps", "expect": "> 50"},
        {
            "name": "the partition silences them",
            "phase": "fault",
            "metric": "output_throughput_tps",
            "expect": "<= 5% of baseline",
        },  # a request already in flight at the cut may land a token or two
    ]
    load = {"users": 4, "max_tokens": 8, "warmup": "2s"}
    method = [observe("baseline", "5s"), partition, observe("recovery", "8s")]
    proc, out = start(tmp_path, experiment("load health", method, "sandbox", load, hypotheses))
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, output[-3000:]
    [run] = run_dirs(out)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outcome"]["cause"] == "passed"
    assert summary["phases"]["fault"]["duration_s"] >= 9.5
    assert (
        summary["phases"]["fault"]["output_throughput_tps"]
        < 0.05 * summary["phases"]["baseline"]["output_throughput_tps"]
    )
    assert not any(e["kind"] == "load_died" for e in events(run))
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
