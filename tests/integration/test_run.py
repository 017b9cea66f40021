"""``chaosllm run`` on the real sandbox: the run directory, verdicts, exit codes, and nothing left broken."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import jsonschema
import yaml

from chaoslib_ext._processes import ProcessRecord, alive
from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.verdict.summary import SCHEMA_PATH
from tests.integration.helpers import CHAOSLLM, chaosllm, proxy_faults, run_dirs

SHORT = Path(__file__).with_name("experiments") / "short.yaml"
RUN_FILES = ("experiment.json", "journal.json", "timeline.json", "ledger.json", "summary.json", "report.md",
             "report.html", "junit.xml", "environment.json")  # fmt: skip


def the_run(out: Path) -> Path:
    dirs = run_dirs(out)
    assert len(dirs) == 1, dirs
    return dirs[0]


def assert_nothing_left(run: Path, sandbox: dict) -> None:
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
    assert all(e.state in ("removed", "failed") for e in Ledger(run / "ledger.json").entries())
    load = run / "load" / "process.json"
    if load.exists():
        assert not alive(ProcessRecord.from_json(json.loads(load.read_text())))


def test_a_passing_run_writes_every_file_and_exits_0(sandbox, tmp_path):
    result = chaosllm("run", str(SHORT), "--out", str(tmp_path))
    run = the_run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in RUN_FILES:
        assert (run / name).exists(), name
    assert list((run / "samples").glob("*.req"))
    summary = json.loads((run / "summary.json").read_text())
    jsonschema.validate(summary, json.loads(SCHEMA_PATH.read_text()))
    assert summary["outcome"] == {"exit_code": 0, "verdict": "passed", "cause": "passed", "reasons": []}
    assert [h["status"] for h in summary["hypotheses"]] == ["pass"] * 4
    for verdict in summary["hypotheses"]:
        assert verdict["observed"] is not None
        assert verdict["bound"] is not None
    phases = summary["phases"]
    assert phases["fault"]["ttft_ms"]["p50"] - phases["baseline"]["ttft_ms"]["p50"] >= 150
    assert 7.5 <= phases["fault"]["duration_s"] <= 9.0
    events = json.loads((run / "timeline.json").read_text())["events"]
    kinds = [e["kind"] for e in events if e["kind"] != "preflight"]
    assert kinds == ["load_started", "window", "fault_injected", "fault_removed", "window", "load_stopped"]
    checks = [e["check"] for e in events if e["kind"] == "preflight"]  # executed before anything, recorded
    assert checks[-3:] == ["faults planned", "abort lock", "stop conditions"]
    assert all(e["ok"] for e in events if e["kind"] == "preflight" and e["check"] != "stop conditions")
    assert "Outcome: PASSED, passed (exit code 0)" in result.stdout
    assert "**Outcome: PASSED**" in (run / "report.md").read_text()
    assert_nothing_left(run, sandbox)


def test_sigint_during_the_fault_removes_it_and_exits_3(sandbox, tmp_path):
    proc = subprocess.Popen(
        [*CHAOSLLM, "run", str(SHORT), "--out", str(tmp_path), "--var", "window=20s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not proxy_faults(sandbox["proxy"]["control_url"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proxy_faults(sandbox["proxy"]["control_url"]), "the fault never went in"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, out + err
    run = the_run(tmp_path)
    assert_nothing_left(run, sandbox)
    assert json.loads((run / "summary.json").read_text())["outcome"]["verdict"] == "aborted"


def test_a_fault_the_target_cannot_apply_is_refused_before_anything_runs(sandbox, tmp_path):
    result = chaosllm("run", str(SHORT), "--out", str(tmp_path), "--var", "fault_link=nosuch", "--var", "window=3s")
    assert result.returncode == 2, result.stdout + result.stderr
    [problem] = result.stderr.strip().splitlines()
    assert problem.startswith(f"{SHORT}:")
    assert "method[1].provider.arguments: on target 'sandbox': " in problem
    assert "no proxy link 'nosuch' (accepted: gateway, kafka, redis)" in problem
    assert "invalid_experiment (exit code 2): nothing ran" in result.stdout
    assert run_dirs(tmp_path) == []  # planned on the target by validation: no run directory, no load
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}


def test_an_unreachable_load_target_exits_2(sandbox, tmp_path):
    raw = yaml.safe_load(SHORT.read_text())
    raw["extensions"][0]["load"]["url"] = "http://127.0.0.1:9"  # discard port: nothing listens
    path = tmp_path / "unreachable.yaml"
    path.write_text(yaml.safe_dump(raw))
    refused = chaosllm("run", str(path), "--out", str(tmp_path / "refused"))  # the preflight finds it
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "FAILED  streamed completion  http://127.0.0.1:9/v1/chat/completions" in refused.stderr
    assert run_dirs(tmp_path / "refused") == []
    result = chaosllm("run", str(path), "--out", str(tmp_path / "out"), "--no-check")  # found by the load, then
    assert result.returncode == 2, result.stdout + result.stderr
    run = the_run(tmp_path / "out")
    reasons = json.loads((run / "summary.json").read_text())["outcome"]["reasons"]
    assert reasons[0].startswith("load could not run: target unreachable")
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}


def test_an_unknown_fault_or_a_malformed_duration_exits_2_before_anything_runs(sandbox, tmp_path):
    text = SHORT.read_text()
    cases = {
        "unknown-fault.yaml": (
            text.replace("func: network_fault", "func: drop_packets"),
            "method[1].provider.func: unknown function 'drop_packets'",
            "network_fault",
        ),
        "bad-duration.yaml": (
            text.replace("window: 8s", "window: 8 secs"),
            "method[0].provider.arguments.duration: malformed duration '8 secs'",
            "250ms",
        ),
    }
    for name, (body, message, accepted) in cases.items():
        path = tmp_path / name
        path.write_text(body)
        result = chaosllm("run", str(path), "--out", str(tmp_path / "out"))
        assert result.returncode == 2
        line = next(i for i, text in enumerate(body.splitlines(), 1) if "drop_packets" in text or "8 secs" in text)
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"{path}:")
        assert message in first
        assert accepted in first
        if name == "unknown-fault.yaml":
            assert first.startswith(f"{path}:{line}:")
    assert run_dirs(tmp_path / "out") == []
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}


def test_dry_run_prints_each_fault_and_touches_nothing(sandbox, tmp_path):
    result = chaosllm("run", str(SHORT), "--dry-run", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("---\n# activity: slow-redis\n")
    docs = list(yaml.safe_load_all(result.stdout))
    assert docs == [
        {
            "kind": "ProxyFault",
            "proxy": sandbox["proxy"]["control_url"],
            "link": "redis",
            "name": "delay-redis",
            "fault": {
                "direction": "to",
                "ttl_s": 38.0,
                "delay": {"latency_ms": 200.0, "jitter_ms": 0.0, "correlation": 0.0},
            },
        }
    ]
    assert run_dirs(tmp_path) == []
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
