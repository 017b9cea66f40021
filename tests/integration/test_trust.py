"""Verdicts CI can trust: a live-metric safeguard trips (faults out, load kept for the recovery,
exit 3), a failing live check exits 1, and so does a hypothesis failing before the method."""

from __future__ import annotations

import json

import yaml

from tests.integration.helpers import ROOT, chaosllm, proxy_faults, run_dirs

CONTROL = {"name": "chaosllm", "provider": {"type": "python", "module": "chaoslib_ext.controls.run"}}


def action(name: str, module: str, func: str, **arguments) -> dict:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}  # fmt: skip


def observe(seconds: float, label: str) -> dict:
    return action(label, "chaoslib_ext.load.actions", "observe", duration=f"{seconds}s", label=label)


def gateway_fault(**arguments) -> dict:
    return action("gateway fault", "chaoslib_ext.faults.network.actions", "network_fault", link="gateway", **arguments)


def experiment(method: list, extension: dict | None = None, **extra) -> dict:
    return {
        "version": "1.0.0",
        "title": "trust",
        "description": "exit codes CI can trust",
        "configuration": {"chaosllm_target": "sandbox"},
        "controls": [CONTROL],
        "extensions": [{"name": "chaosllm", **(extension or {})}],
        "method": method,
        "rollbacks": [action("remove every fault", "chaoslib_ext.faults.actions", "remove_all_faults")],
        **extra,
    }


def run(tmp_path, exp: dict, *args: str):
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    result = chaosllm("run", str(path), "--out", str(tmp_path / "out"), *args, cwd=ROOT, timeout=300)
    [run_dir] = run_dirs(tmp_path / "out")
    return result, run_dir


def test_a_live_metric_safeguard_removes_the_fault_keeps_the_load_for_the_recovery_and_exits_3(sandbox, tmp_path):
    extension = {
        "load": {"users": 4, "max_tokens": 16, "warmup": "2s"},
        "hypotheses": [{"name": "baseline ok", "phase": "baseline", "metric": "error_rate", "expect": "<= 0.01"}],
        "safeguards": {
            "recovery": "6s",
            "stop_when": [
                {"name": "TTFT p50 above 300 ms", "metric": "ttft_ms.p50", "window": "2s", "above": 300, "for": "1s"}
            ],
        },
    }
    method = [
        observe(4, "baseline"),
        gateway_fault(action="delay", delay={"latency": "600ms"}, direction="from", duration="60s"),
        observe(60, "never reached"),
    ]
    result, run_dir = run(tmp_path, experiment(method, extension))
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    assert "safeguard 'TTFT p50 above 300 ms' tripped: ttft_ms.p50 = " in result.stdout
    events = json.loads((run_dir / "timeline.json").read_text())["events"]
    [trip] = [e for e in events if e["kind"] == "safeguard_tripped"]
    injected = next(e for e in events if e["kind"] == "fault_injected")
    removed = next(e for e in events if e["kind"] == "fault_removed")
    stopped = next(e for e in events if e["kind"] == "load_stopped")
    assert 1.0 <= trip["at"] - injected["at"] <= 10.0  # held 1 s over a 2 s window, checked every second
    assert removed["at"] - trip["at"] < 2.0
    assert stopped["at"] - trip["at"] >= 6.0  # the load measured the recovery
    assert "never reached" not in [e.get("label") for e in events]  # the method ended at the trip
    phases = json.loads((run_dir / "summary.json").read_text())["phases"]
    assert phases["fault"]["ttft_ms"]["p50"] > 500
    assert phases["recovery"]["requests"] > 10
    assert phases["recovery"]["ttft_ms"]["p50"] < 200
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}


def test_a_failing_live_check_exits_1_even_though_chaos_toolkit_says_completed(sandbox, tmp_path):
    probe = {"type": "probe", "name": "a completion streams", "tolerance": True,
             "provider": {"type": "python", "module": "chaoslib_ext.load.probes", "func": "stream_completes",
                          "arguments": {"timeout": 1}}}  # fmt: skip
    method = [gateway_fault(action="partition", direction="both", duration="4s"), observe(2, "after")]
    exp = experiment(method, None, **{"steady-state-hypothesis": {"title": "the gateway answers", "probes": [probe]}})
    result, run_dir = run(tmp_path, exp, "--hypothesis-strategy", "continuously", "--hypothesis-frequency", "1")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "completed"  # Chaos Toolkit alone would have exited 0
    assert any(s["steady_state_met"] is False for s in journal["steady_states"]["during"])
    assert "Chaos Toolkit steady-state hypothesis not met in " in result.stdout
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}


def test_a_hypothesis_failing_before_the_method_exits_1_and_injects_nothing(sandbox, tmp_path):
    probe = {"type": "probe", "name": "four brokers", "tolerance": 4,
             "provider": {"type": "python", "module": "chaoslib_ext.faults.kafka.probes", "func": "live_brokers",
                          "arguments": {"service": "kafka-cluster"}}}  # fmt: skip
    method = [gateway_fault(action="delay", delay={"latency": "100ms"}, duration="2s")]
    exp = experiment(method, None, **{"steady-state-hypothesis": {"title": "four brokers", "probes": [probe]}})
    result, run_dir = run(tmp_path, exp)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "steady-state hypothesis not met before the method" in result.stdout
    events = (
        json.loads((run_dir / "timeline.json").read_text())["events"] if (run_dir / "timeline.json").exists() else []
    )
    assert [e for e in events if e["kind"] == "fault_injected"] == []


def test_a_hung_target_never_holds_a_run_past_its_deadline(sandbox, tmp_path):
    import socket
    import time

    hung = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog) and never answers
    try:
        target = json.loads(json.dumps(sandbox))
        target["services"]["gateway"]["address"] = f"http://127.0.0.1:{hung.getsockname()[1]}"
        (tmp_path / "hung.json").write_text(json.dumps(target))
        probe = {"type": "probe", "name": "a completion streams (120 s timeout)",
                 "provider": {"type": "python", "module": "chaoslib_ext.load.probes", "func": "stream_completes",
                              "arguments": {"timeout": 120}}}  # fmt: skip
        method = [gateway_fault(action="delay", delay={"latency": "100ms"}, direction="from"), probe]
        exp = experiment(method, {"deadline": "4s"})
        exp["configuration"]["chaosllm_target"] = str(tmp_path / "hung.json")
        started = time.monotonic()
        result, run_dir = run(tmp_path, exp, "--no-check")  # the run's own deadline, not the preflight
        elapsed = time.monotonic() - started
    finally:
        hung.close()
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    assert "aborted: deadline of 4s exceeded" in result.stdout
    assert elapsed < 20, f"the run took {elapsed:.1f}s"
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
    kinds = [e["kind"] for e in json.loads((run_dir / "timeline.json").read_text())["events"]]
    assert kinds.count("fault_injected") == kinds.count("fault_removed") == 1
