"""A canary secret from the environment is used by the run (load header, a probe's argument and
result, a log line) and appears in no file of the run directory and nowhere in the output."""

from __future__ import annotations

import json
import secrets

import yaml

from tests.integration.helpers import ROOT, chaosllm, run_dirs
from tests.integration.test_canaries import assert_nowhere


def experiment() -> dict:
    observe = {"type": "python", "module": "chaoslib_ext.load.actions", "func": "observe",
               "arguments": {"duration": "2s", "label": "baseline"}}  # fmt: skip
    probe = {"type": "python", "module": "tests.integration.canary_probe", "func": "echo_secret",
             "arguments": {"token": "${gateway_token}"}}  # fmt: skip
    return {
        "version": "1.0.0",
        "title": "canary secret",
        "description": "a secret used everywhere a run can put it",
        "configuration": {"chaosllm_target": "sandbox"},
        "secrets": {"gateway": {"gateway_token": {"type": "env", "key": "CHAOSLLM_CANARY"}}},
        "controls": [{"name": "chaosllm", "provider": {"type": "python", "module": "chaoslib_ext.controls.run"}}],
        "extensions": [
            {
                "name": "chaosllm",
                "load": {
                    "users": 2,
                    "max_tokens": 4,
                    "warmup": "1s",
                    "headers": {"Authorization": "Bearer ${gateway_token}"},
                },
                "hypotheses": [
                    {"name": "requests succeed", "phase": "overall", "metric": "error_rate", "expect": "<= 0.01"}
                ],
            }
        ],
        "method": [
            {"type": "action", "name": "observe", "provider": observe},
            {"type": "probe", "name": "echo the secret", "provider": probe, "secrets": ["gateway"]},
        ],
    }


def test_a_canary_secret_appears_nowhere(sandbox, tmp_path):
    canary = f"canary-{secrets.token_hex(12)}"
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment(), sort_keys=False))
    out = tmp_path / "out"
    result = chaosllm("run", str(path), "--out", str(out), env={"CHAOSLLM_CANARY": canary}, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [run] = run_dirs(out)
    # the secret was really used: the probe ran with it, the load sent it, requests flowed
    journal = json.loads((run / "journal.json").read_text())
    [probe] = [r for r in journal["run"] if r["activity"]["name"] == "echo the secret"]
    assert probe["status"] == "succeeded"
    assert probe["output"] == "token=***"
    assert json.loads((run / "load" / "spec.json").read_text())["headers"] == {"Authorization": "***"}
    assert "the probe got token ***" in result.stderr
    assert json.loads((run / "summary.json").read_text())["phases"]["overall"]["completed"] > 0
    # ... and is nowhere: not in the run directory, the history database beside it, nor the output
    assert len([p for p in run.rglob("*") if p.is_file()]) >= 8
    assert (out / "history.sqlite").exists()
    assert_nowhere(canary, out, result.stdout, result.stderr)
