"""A gateway that requires a bearer key: the sandbox started with ``--api-key-env``, whose target file
names the key's variable, never its value. The probe, the load and a whole run use the key, and the
key is in no file (run root, history, sandbox state) and nowhere in the output."""

from __future__ import annotations

import json
import secrets

import pytest
import yaml

from chaoslib_ext.load.probes import stream_check
from chaoslib_ext.load.spec import LoadSpec
from tests.integration.helpers import ROOT, activity, chaosllm, experiment, observe, run_dirs
from tests.integration.test_canaries import assert_nowhere

KEY_VAR = "CHAOSLLM_TEST_GATEWAY_KEY"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    state = tmp_path_factory.mktemp("keyed-sandbox")
    key = f"canary-{secrets.token_hex(12)}"
    env = {"CHAOSLLM_STATE_DIR": str(state), KEY_VAR: key}
    up = chaosllm("sandbox", "up", "--api-key-env", KEY_VAR, env=env, timeout=120)
    assert up.returncode == 0, up.stderr
    try:
        target = json.loads(chaosllm("sandbox", "status", "--json", env=env).stdout)
        yield {"env": env, "key": key, "target": target, "state": state, "output": up.stdout + up.stderr}
    finally:
        down = chaosllm("sandbox", "down", env=env, timeout=120)
        assert down.returncode == 0, down.stderr


def test_the_target_names_the_key_by_its_variable_and_the_gateway_refuses_a_request_without_it(keyed):
    gateway = keyed["target"]["services"]["gateway"]
    assert gateway["endpoint"]["headers"] == {"Authorization": {"env": KEY_VAR, "prefix": "Bearer "}}
    ok, why = stream_check(LoadSpec(url=gateway["address"]))
    assert not ok
    assert why.startswith("HTTP 401: ")
    assert "invalid_api_key" in why
    assert stream_check(LoadSpec(url=gateway["address"], headers={"Authorization": f"Bearer {keyed['key']}"}))[0]
    assert_nowhere(keyed["key"], keyed["state"], keyed["output"])


def keyed_experiment() -> dict:
    delay = {"link": "redis", "action": "delay", "delay": {"latency": "200ms"}, "duration": "5s"}
    hypotheses = [
        {"name": "no request fails", "phase": "overall", "metric": "error_rate", "expect": "<= 0.01"},
        {"name": "the fault took effect", "phase": "fault", "metric": "ttft_ms.p50", "expect": ">= baseline + 150ms"},
    ]
    return experiment(
        "keyed gateway",
        [observe("baseline", "5s"), activity("slow redis", "faults.network.actions", "network_fault", **delay),
         observe("after", "5s")],
        target="sandbox",
        load={"users": 4, "max_tokens": 8, "warmup": "2s"},
        hypotheses=hypotheses,
        steady_probes=[activity("a streamed completion", "load.probes", "stream_completes", "probe", timeout=10)],
    )  # fmt: skip


def test_a_run_against_the_keyed_target_passes_and_leaves_the_key_nowhere(keyed, tmp_path):
    path = tmp_path / "keyed.yaml"
    path.write_text(yaml.safe_dump(keyed_experiment(), sort_keys=False))
    out = tmp_path / "out"
    result = chaosllm("run", str(path), "--out", str(out), env=keyed["env"], cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [run] = run_dirs(out)
    journal = json.loads((run / "journal.json").read_text())
    assert journal["steady_states"]["before"]["steady_state_met"] is True  # the probe sent the key
    assert json.loads((run / "summary.json").read_text())["phases"]["overall"]["completed"] > 20
    assert_nowhere(keyed["key"], out, result.stdout, result.stderr)


def test_load_against_the_keyed_target_file(keyed, tmp_path):
    target = keyed["state"] / "sandbox" / "sandbox.json"
    result = chaosllm(
        "load", "--target", str(target), "--users", "2", "--duration", "3s", "--max-tokens", "4",
        "--out", str(tmp_path / "run"), env=keyed["env"], timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["phases"]["overall"]["error_rate"] == 0
    assert summary["load"]["headers"] == {}  # the key came from the target, by reference
    assert_nowhere(keyed["key"], tmp_path, result.stdout, result.stderr)
