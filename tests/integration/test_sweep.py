"""``chaosllm sweep`` on the sandbox: real steps of an open loop, the knee, its record and reports, and
an experiment's load taken as a share of it."""

from __future__ import annotations

import json

import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.history.store import History
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.sweep.result import SweepResult, resolve_rate
from tests.integration.helpers import chaosllm


@pytest.fixture(scope="module")
def swept(sandbox_state, tmp_path_factory):
    """A short sweep: 8 then 16 then 32 req/s (16 sequences of ~477 ms: the sandbox completes about
    33.5 req/s), 4 s a step, TTFT P99 under 500 ms; at most 3 steps."""
    state_dir, _ = sandbox_state
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    history = out.parent / "history.sqlite"
    env = {"CHAOSLLM_STATE_DIR": str(state_dir), "CHAOSLLM_HISTORY": str(history)}
    result = chaosllm("sweep", "--target", "sandbox", "--model", "sandbox-v1", "--max-tokens", "32",
                      "--slo", "ttft_ms.p99<=500", "--slo", "error_rate<=0.01", "--start", "8", "--step", "4s",
                      "--step-warmup", "2s", "--max-steps", "3", "--out", str(out), env=env, timeout=600)  # fmt: skip
    return out, history, result


def test_a_sweep_steps_the_rate_and_records_every_step(swept):
    out, history, result = swept
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((out / "sweep.json").read_text())
    rates = [s["rate_rps"] for s in record["steps"]]
    assert rates == [8.0, 16.0, 32.0]
    assert record["stopped"] == "max_steps"
    assert record["knee_rps"] is not None
    assert record["knee_rps"] >= 8.0
    for step in record["steps"]:
        summary = json.loads((out / "steps" / step["run_dir"].split("/")[-1] / "summary.json").read_text())
        arrivals = summary["phases"]["baseline"]["arrivals"]
        assert abs(arrivals["offered_rate_rps"] - step["rate_rps"]) < 0.45 * step["rate_rps"]
        assert [c["slo"] for c in step["checks"]] == ["ttft_ms.p99<=500", "error_rate<=0.01"]
        assert step["checks"][0]["bound"] >= step["checks"][0]["estimate"]  # the upper bound of P99
    assert "Knee:" in result.stdout
    html = (out / "sweep.html").read_text()
    assert html.count("<svg") == 2
    assert "rate -&gt; latency" in html or "rate -> latency" in html
    assert "| step |" in (out / "sweep.md").read_text()
    [entry] = History(history).sweeps()
    assert (entry.model, entry.knee_rps) == ("sandbox-v1", record["knee_rps"])


def test_a_load_takes_its_rate_as_a_share_of_the_sweep(swept, sandbox):
    out, history, _ = swept
    endpoint = SweepResult.read(out).endpoint
    base = endpoint.removesuffix("/v1/chat/completions")
    knee = SweepResult.read(out).knee_rps
    for source in ("sweep", str(out)):
        spec = LoadSpec.parse({"url": base, "model": "sandbox-v1", "rate": f"50% of {source}"})
        resolved = resolve_rate(spec, History(history))
        assert resolved.arrivals is not None
        assert resolved.arrivals.rate_rps == pytest.approx(0.5 * knee)
        assert resolved.rate_share is None
    other = LoadSpec.parse({"url": base, "model": "sandbox-v2", "rate": f"70% of {out}"})
    with pytest.raises(SpecError, match=r"swept .*model sandbox-v1.*this load is .*model sandbox-v2"):
        resolve_rate(other, History(history))
    with pytest.raises(SpecError, match="no sweep of"):
        resolve_rate(LoadSpec.parse({"url": base, "model": "sandbox-v2", "rate": "70% of sweep"}), History(history))


def test_bad_sweep_input_exits_2_naming_the_field(tmp_path):
    result = chaosllm("sweep", "--url", "http://127.0.0.1:1", "--slo", "ttft_ms.p99<500", timeout=60)
    assert result.returncode == 2
    assert "METRIC<=BOUND" in result.stderr
    result = chaosllm("sweep", "--url", "http://127.0.0.1:1", "--slo", "error_rate<=0.01", "--resolution", "2",
                      timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "sweep.resolution" in result.stderr


def test_a_sweep_reads_its_load_target_and_plan_from_an_experiment(sandbox, tmp_path):
    from tests.integration.helpers import ROOT

    out = tmp_path / "sweep"
    env = {"CHAOSLLM_HISTORY": str(tmp_path / "history.sqlite")}
    experiment = ROOT / "experiments" / "sandbox" / "capacity-sweep.yaml"
    result = chaosllm("sweep", "--experiment", str(experiment), "--max-steps", "1", "--step", "3s",
                      "--step-warmup", "1s", "--out", str(out), env=env, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((out / "sweep.json").read_text())
    assert record["plan"]["slo"] == ["ttft_ms.p99<=500", "error_rate<=0.01"]  # the file's
    assert (record["plan"]["step"], record["plan"]["max_steps"]) == ("3s", 1)  # the options' on top
    assert record["model"] == "sandbox-v1"
    assert [s["rate_rps"] for s in record["steps"]] == [8.0]
    load = json.loads((out / "steps" / "step-01-8rps" / "load" / "spec.json").read_text())
    assert (load["seed"], load["max_tokens"]) == (3, 32)
