"""``chaosllm bench`` on the real sandbox: blocks alternate the sides, each a real run with the side's
values, then the comparison of all A blocks against all B blocks; a block that cannot run stops it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import jsonschema

from chaoslib_ext._processes import ProcessRecord, alive
from chaoslib_ext.compare.report import SCHEMA_PATH
from tests.integration.helpers import CHAOSLLM, chaosllm

RELEASES = Path(__file__).resolve().parents[2] / "experiments" / "compare" / "releases-by-block.yaml"
SHORT = Path(__file__).with_name("experiments") / "short.yaml"


def test_bench_alternates_v1_and_v2_and_compares_them(sandbox, tmp_path):
    out = tmp_path / "bench"
    result = chaosllm("bench", str(RELEASES), "--blocks", "4", "--var", "measure_for=3s", "--out", str(out))
    assert result.returncode in (0, 1), result.stderr
    bench = json.loads((out / "bench.json").read_text())
    assert bench["order"] == ["A", "B", "A", "B"]
    assert [b["side"] for b in bench["blocks"]] == ["A", "B", "A", "B"]
    assert [b["exit_code"] for b in bench["blocks"]] == [0, 0, 0, 0]
    assert bench["stopped_with"] is None
    for block in bench["blocks"]:
        run = Path(block["run_dir"])
        assert run.parent == out / block["side"]
        model = json.loads((run / "experiment.json").read_text())["configuration"]["model"]
        assert model == {"A": "sandbox-v1", "B": "sandbox-v2"}[block["side"]]
    assert bench["blocks"][0]["ended_at"] <= bench["blocks"][1]["started_at"]
    compare = json.loads((out / "compare.json").read_text())
    assert len(compare["a"]["runs"]) == 2
    assert len(compare["b"]["runs"]) == 2
    assert {r["phase"] for r in compare["rows"]} == {"baseline"}
    assert compare["outcome"]["exit_code"] == result.returncode
    assert (out / "compare.html").exists()
    assert re.search(r"\| baseline +\| ttft_ms\.p99 +\|", result.stdout)
    assert (out / "history.sqlite").exists()  # the blocks' history stays in the bench directory


def test_a_block_that_cannot_run_stops_the_bench_with_2(sandbox, tmp_path):
    out = tmp_path / "bench"
    result = chaosllm(
        "bench", str(RELEASES), "--a", "model=gpt-9", "--b", "model=sandbox-v1", "--var", "measure_for=2s",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    bench = json.loads((out / "bench.json").read_text())
    assert [b["exit_code"] for b in bench["blocks"]] == [2]
    assert bench["stopped_with"] == 2
    assert "stopped after block 1 with exit code 2" in result.stderr
    assert not (out / "compare.json").exists()


def test_no_sides_is_bad_input(sandbox, tmp_path):
    result = chaosllm("bench", str(SHORT), "--out", str(tmp_path / "bench"))
    assert result.returncode == 2
    assert "give --a KEY=VALUE and --b KEY=VALUE, or a compare block" in result.stderr


def test_an_alternating_run_splits_into_its_two_sides(sandbox, tmp_path):
    """releases.yaml: one run, each user alternating v1 and v2; compare RUN splits it by side."""
    result = chaosllm(
        "run", str(RELEASES.with_name("releases.yaml")), "--var", "measure_for=8s", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    run = next(p for p in tmp_path.iterdir() if (p / "timeline.json").exists())
    # every second kept: the split itself is checked here (the VM's starved seconds can take most of a short run)
    compared = chaosllm("compare", str(run), "--resamples", "200", "--max-steal", "off", "--out", str(tmp_path / "cmp"))
    assert compared.returncode in (0, 1), compared.stderr
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["settings"]["paired"] is True  # the sides of one run: resampled together
    assert data["a"]["label"] == "A sandbox-v1"
    assert data["b"]["label"] == "B sandbox-v2"
    a, b = data["a"]["phases"]["baseline"]["requests"], data["b"]["phases"]["baseline"]["requests"]
    assert a > 50
    assert abs(a - b) <= 0.2 * a  # every user alternates: the sides get about as many requests
    p50 = next(r for r in data["rows"] if r["metric"] == "ttft_ms.p50")
    assert p50["delta"]["estimate"] > 0  # v2's prefill is 10 ms slower
    # by default the starved seconds' requests leave the sides: kept + left out = all
    default = chaosllm("compare", str(run), "--resamples", "200", "--out", str(tmp_path / "cmp-default"))
    assert default.returncode in (0, 1), default.stderr
    left = json.loads((tmp_path / "cmp-default" / "compare.json").read_text())["a"]["phases"]["baseline"]
    assert left["requests"] + left["excluded_requests"] == a
    alone = chaosllm("compare", str(tmp_path / "cmp"))
    assert alone.returncode == 2


def test_sigterm_to_the_bench_lets_the_running_block_roll_back_and_exits_3(sandbox, tmp_path):
    out = tmp_path / "bench"
    bench = subprocess.Popen(
        [*CHAOSLLM, "bench", str(RELEASES), "--var", "measure_for=60s", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(out.glob("A/*/load/process.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    bench.send_signal(signal.SIGTERM)  # to the bench alone, as a supervisor would
    _, err = bench.communicate(timeout=90)
    assert bench.returncode == 3, err
    data = json.loads((out / "bench.json").read_text())
    assert [b["exit_code"] for b in data["blocks"]] == [3]
    assert data["stopped_with"] == 3
    run = Path(data["blocks"][0]["run_dir"])
    assert (run / "summary.json").exists()  # the block finished its report: it was not killed
    load = json.loads((run / "load" / "process.json").read_text())
    assert not alive(ProcessRecord.from_json(load))


def test_an_open_loop_bench_offers_both_sides_the_same_schedule_and_prompts(sandbox, tmp_path):
    import numpy as np

    from chaoslib_ext.samples import read_samples
    from chaoslib_ext.samples.reader import schedule_times

    out = tmp_path / "bench"
    experiment = RELEASES.with_name("releases-open-loop.yaml")
    result = chaosllm("bench", str(experiment), "--blocks", "2", "--var", "measure_for=3s", "--out", str(out))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    bench = json.loads((out / "bench.json").read_text())
    runs = [Path(b["run_dir"]) for b in bench["blocks"]]
    schedules = [schedule_times(r / "samples") for r in runs]
    assert schedules[0].size == schedules[1].size > 100
    assert np.allclose(schedules[0] - schedules[0][0], schedules[1] - schedules[1][0])  # one schedule, shifted
    asked = [sorted((s.sched_t0 - sched[0], s.want_in, s.want_out) for s in read_samples(r / "samples"))
             for r, sched in zip(runs, schedules, strict=True)]  # fmt: skip
    first = [(round(t, 6), i, o) for t, i, o in asked[0][:20]]
    assert first == [(round(t, 6), i, o) for t, i, o in asked[1][:20]]  # the same arrivals ask the same lengths
    compare = json.loads((out / "compare.json").read_text())
    assert {r["phase"] for r in compare["rows"]} == {"baseline"}
