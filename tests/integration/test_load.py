"""``chaosllm load``: a real Locust subprocess against real servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

from chaoslib_ext._processes import ProcessRecord, alive
from chaoslib_ext.samples import read_samples
from tests.integration.helpers import CHAOSLLM, chaosllm, process_group


def test_ttft_against_a_server_answering_in_exactly_50ms(calibration_server, tmp_path):
    out = tmp_path / "run"
    result = chaosllm(
        "load",
        "--url",
        calibration_server,
        "--users",
        "50",
        "--duration",
        "10s",
        "--max-tokens",
        "8",
        "--out",
        str(out),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    overall = summary["phases"]["overall"]
    # Correct to within the client's own overhead: a framing bug (Locust's iter_lines) costs +40 ms. The
    # session's sandbox idles on the same 2 cores, so the bound leaves it room (measured 50.9 alone,
    # 56.1 once in a full session); the precise overhead figure is the client_overhead benchmark's.
    assert 47.0 <= overall["ttft_ms"]["p50"] <= 60.0
    assert overall["error_rate"] == 0
    assert overall["requests"] > 1000  # 50 users * ~10 s / ~0.13 s per request
    # every sample is complete: 8 tokens by usage, 8 content events, 7 gaps of ~10 ms
    samples = list(read_samples(out / "samples"))
    assert {(s.tokens, s.events, len(s.itl_ms)) for s in samples} == {(8, 8, 7)}
    assert 9.0 <= overall["itl_ms"]["p50"] <= 11.0
    assert summary["client_overhead_ms"]["count"] == len(samples)
    # the load generator's CPU, once a second, over the measured window
    host = summary["load_host"]["phases"]["overall"]
    assert abs(host["seconds"] - overall["duration_s"]) <= 2.0
    assert 0.0 < host["busy_mean"] <= 1.0
    assert 0.0 <= host["steal_mean"] <= host["steal_max"] <= 1.0
    assert "Metrics per phase" in result.stdout


def test_an_unreachable_target_exits_2_with_the_reason(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "run"
    result = chaosllm(
        "load", "--url", f"http://127.0.0.1:{port}", "--users", "2", "--duration", "5s", "--out", str(out), timeout=120
    )
    assert result.returncode == 2
    assert "target unreachable" in result.stderr or "target unreachable" in result.stdout
    assert "connection failed" in (out / "summary.json").read_text()


def test_bad_options_exit_2_naming_the_field(tmp_path):
    result = chaosllm("load", "--url", "http://127.0.0.1:1", "--shape", "wave", "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "shape: unknown shape 'wave' (accepted: constant, ramp, step, spike)" in result.stderr


def test_load_stops_by_itself_when_its_runner_is_killed(calibration_server, tmp_path):
    out = tmp_path / "run"
    runner = subprocess.Popen(
        [
            *CHAOSLLM,
            "load",
            "--url",
            calibration_server,
            "--users",
            "4",
            "--processes",
            "2",
            "--duration",
            "10m",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(read_samples(out / "samples")) if (out / "samples").exists() else True:
            assert time.monotonic() < deadline, "load never flowed"
            time.sleep(0.2)
        record = ProcessRecord.from_json(json.loads((out / "load" / "process.json").read_text()))
        assert len(process_group(record.pid)) == 3  # the master and two workers
    finally:
        runner.kill()  # SIGKILL: no cleanup code of the runner runs
        runner.wait()
    deadline = time.monotonic() + 30
    while process_group(record.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = list(process_group(record.pid))
    for pid in left:  # should this fail, stop what the test started anyway
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert not alive(record)


def test_a_step_shape_drives_the_number_of_streams(calibration_server, tmp_path):
    out = tmp_path / "run"
    result = chaosllm(
        "load",
        "--url",
        calibration_server,
        "--users",
        "6",
        "--warmup",
        "0s",
        "--duration",
        "9s",
        "--shape",
        '{"type": "step", "step": 2, "every": "3s"}',
        "--out",
        str(out),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    starts = sorted(s.t0 for s in read_samples(out / "samples"))
    t0 = starts[0]
    first = sum(1 for t in starts if t - t0 < 2.5)
    last = sum(1 for t in starts if 6.5 <= t - t0 < 9.0)
    assert last >= 2.2 * first  # 2 streams, then 6: about three times the requests


def test_an_open_loop_sends_on_schedule_and_counts_what_max_concurrency_refuses(calibration_server, tmp_path):
    """100 req/s offered to a server taking ~120 ms a request, at most 4 in flight: about 33 req/s can be
    sent; every other arrival is counted as not sent, by its scheduled time, and none is lost."""
    out = tmp_path / "run"
    result = chaosllm("load", "--url", calibration_server, "--rate", "100", "--arrival", "poisson", "--seed", "3",
                      "--max-concurrency", "4", "--duration", "8s", "--warmup", "2s", "--max-tokens", "8",
                      "--out", str(out), timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Arrivals per phase" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["load"]["rate"] == 100.0
    assert "users" not in summary["load"]
    arrivals = summary["phases"]["overall"]["arrivals"]
    seconds = summary["phases"]["overall"]["duration_s"]
    assert abs(arrivals["scheduled"] - 100 * seconds) < 6 * (100 * seconds) ** 0.5  # Poisson: 6 sigma
    assert arrivals["scheduled"] == arrivals["sent"] + arrivals["not_sent"] + arrivals["unfinished"]
    assert arrivals["unfinished"] <= 4  # in flight when the load stopped, at most the cap
    assert arrivals["not_sent"] > arrivals["sent"]  # the cap holds: 4 in flight of ~120 ms each
    assert arrivals["achieved_rate_rps"] < 4 / 0.110  # never more in flight than the cap
    samples = list(read_samples(out / "samples"))
    assert all(s.sched_t0 is not None and s.t0 >= s.sched_t0 for s in samples)


def test_rate_and_users_exclude_each_other_with_a_clear_error(tmp_path):
    result = chaosllm("load", "--url", "http://127.0.0.1:1", "--rate", "5", "--users", "3", timeout=60)
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr
    result = chaosllm("load", "--url", "http://127.0.0.1:1", "--burstiness", "0.5", timeout=60)
    assert result.returncode == 2
    assert "burstiness: applies to an open-loop load only: set rate" in result.stderr
