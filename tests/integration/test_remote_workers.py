"""``load.workers``: the load on Locust workers that join the run's master (``chaosllm worker``), here on
loopback, each its own process tree as it would be on another host: samples shipped to the controller
and placed on its clock, a clock offset corrected, an inexact clock refused, a dead worker's loss
counted, a missing worker named."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from chaoslib_ext.samples.table import SampleTable
from tests.integration.helpers import CHAOSLLM

USERS = "6"


def start_run(out: Path, url: str, *extra: str) -> subprocess.Popen:
    argv = [*CHAOSLLM, "load", "--url", url, "--users", USERS, "--max-tokens", "12", "--workers", "1",
            "--worker-timeout", "20s", "--out", str(out), *extra]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def master_of(out: Path, run: subprocess.Popen, timeout_s: float = 30.0) -> str:
    path = out / "load" / "master.json"
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the master never said where it listens"
        time.sleep(0.1)
    master = json.loads(path.read_text())
    return f"{master['host']}:{master['port']}"


def start_worker(master: str, work: Path, **env: str) -> subprocess.Popen:
    argv = [*CHAOSLLM, "worker", "--master", master, "--timeout", "20", "--keep", str(work)]
    return subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout_s: float = 120.0) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout_s)
    return proc.returncode, out, err


def workers(out: Path) -> list[dict]:
    return json.loads((out / "load" / "workers.json").read_text())["workers"]


def test_a_skewed_worker_is_corrected_onto_the_controllers_clock(calibration_server, tmp_path):
    out = tmp_path / "run"
    run = start_run(out, calibration_server, "--duration", "6s")
    worker = start_worker(master_of(out, run), tmp_path / "w", CHAOSLLM_TEST_CLOCK_SKEW_S="0.5")
    code, stdout, stderr = finish(run)
    assert code == 0, stderr
    assert finish(worker)[0] == 0
    [w] = workers(out)
    assert w["state"] == "quit"
    assert abs(w["clock_offset_ms"] - 500.0) <= w["clock_bound_ms"] + 1.0
    assert w["clock_bound_ms"] < 5.0
    assert w["received"] == w["started"] > 50  # users finished their request: nothing lost, nothing unfinished
    summary = json.loads((out / "summary.json").read_text())
    table = SampleTable.from_directory(out / "samples")
    window = summary["window"]
    # every request on the controller's clock: none started before the load did, none half a second late
    timeline = json.loads((out / "timeline.json").read_text())["events"]
    started_at = next(e["at"] for e in timeline if e["kind"] == "load_started")
    stopped_at = next(e["at"] for e in timeline if e["kind"] == "load_stopped")
    assert table.start_at.min() >= started_at - 30.0  # the worker's own start, before warmup (not skewed)
    assert np.all(table.start_at <= stopped_at + 0.05)
    assert summary["phases"]["overall"]["requests"] == int(
        ((table.start_at >= window["start_at"]) & (table.start_at < window["end_at"])).sum()
    )
    assert summary["load"]["workers_seen"][0]["clock_offset_ms"] == w["clock_offset_ms"]
    assert "largest clock offset bound" in stdout
    # the worker's own copy is the same records, half a second later on its clock
    own = SampleTable.from_directory(tmp_path / "w" / "samples")
    assert len(own.records) == len(table.records)
    assert np.allclose(np.sort(own.start_at) - np.sort(table.start_at), w["clock_offset_ms"] / 1000.0, atol=1e-6)


def test_a_worker_killed_mid_run_is_reported_with_what_it_lost_and_the_run_exits_2(calibration_server, tmp_path):
    out = tmp_path / "run"
    run = start_run(out, calibration_server, "--duration", "20s")
    worker = start_worker(master_of(out, run), tmp_path / "w")
    deadline = time.monotonic() + 40
    while not (out / "load" / "workers.json").exists() or not workers(out)[0]["received"]:
        assert time.monotonic() < deadline, "no shipment arrived"
        time.sleep(0.2)
    time.sleep(2.0)
    locust = int(next(p.name.split("-")[1].split(".")[0] for p in (tmp_path / "w" / "samples").glob("*.req")))
    os.kill(locust, signal.SIGKILL)  # the worker's Locust process, by its PID: it started it
    code, _, stderr = finish(run)
    finish(worker)
    assert code == 2, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcome"]["cause"] == "load_died"
    assert "remote worker w0" in " ".join(summary["outcome"]["reasons"])
    [w] = summary["load"]["workers_seen"]
    assert w["received"] > 0  # what it shipped is kept
    assert w["lost"] == w["started"] - w["received"] >= 0
    assert w["received"] == len(SampleTable.from_directory(out / "samples").records)


def test_a_worker_whose_clock_cannot_be_known_within_the_limit_is_refused(calibration_server, tmp_path):
    out = tmp_path / "run"
    run = start_run(out, calibration_server, "--duration", "6s")
    worker = start_worker(master_of(out, run), tmp_path / "w", CHAOSLLM_TEST_SYNC_DELAY_S="0.02")
    code, _, stderr = finish(run)
    finish(worker)
    assert code == 2
    # a 20 ms late answer: the round trip is >= 20 ms, so the offset is known within >= 10 ms
    assert re.search(
        r"remote worker w0 refused: its clock offset is known only within 1\d\.\d ms \(limit 5 ms\)", stderr
    )
    [w] = workers(out)
    assert w["refused"]
    assert w["received"] == 0  # nothing of it mixed into the run
    assert not list((out / "samples").glob("w0-*.req"))


def test_a_worker_that_never_comes_is_named_and_the_run_exits_2(calibration_server, tmp_path):
    out = tmp_path / "run"
    run = start_run(out, calibration_server, "--duration", "5s", "--worker-timeout", "3s")
    code, _, stderr = finish(run)
    assert code == 2
    assert "0 of 1 remote workers joined within 3s: start `chaosllm worker --master 127.0.0.1:" in stderr
